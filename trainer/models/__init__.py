"""GAN families: each module is a small file of layer definitions with the same interface.

A family is listed in FAMILIES below (its name, module, whether it is conditional, a line of
description and the options it takes), and its module defines
- optionally `IMAGE_SIZE_RULE`: (multiple, example) for families that need square images whose
  side is a multiple of `multiple`;
- `OUTPUT_ACTIVATION`: "tanh" (images in [-1, 1]) or "sigmoid" (images in [0, 1]);
- `DEFAULTS`: the hyper-parameters its source used, for every TrainConfig field left unset;
- `build_generator(latent_dim, image_shape, num_classes)` and
  `build_discriminator(image_shape, num_classes)`: Keras models. The discriminator returns
  logits; the sigmoid its source ends with lives in the loss, where it is numerically stable.
- optionally `generator_layout` and `discriminator_layout` in DEFAULTS: the current arrangement of
  each network's layers; `build_generator(..., layout=L)` and `build_discriminator(..., layout=L)`
  build an earlier one for runs that were written with it.

With
"class_loss_weight", `build_discriminator(..., class_head=True)` returns [logits, class logits]
for the auxiliary classification loss, and with "twin_class_head" (`twin_head=True`) as well
[logits, class logits, twin class logits] (TAC-GAN); with "generator_width",
`build_generator(..., width=W)` multiplies the generator's channels, and with
"discriminator_width" `build_discriminator(..., width=W)` the discriminator's; with
"classifier_features", `build_discriminator(..., classifier_features=True)` reads the frozen
convolutions of the data set's LeNet (their weights are copied in when a run starts); with
"class_batch_norm", `build_generator(..., class_batch_norm=True)` lets the label pick its batch
norms' scales and offsets.

Every model takes its inputs by name: `latent` and `label` for the generator, `image` and
`label` for the discriminator. `label` is a one-hot float vector rather than an index so that a
user can feed a mixture of two labels and morph between them.

An image-conditioned family (`Family.image_conditioned`, colorize) is conditioned on an image made
from each real one instead: its generator takes only `grey` (no noise, no label), its
discriminator `image` and `grey`, and its module also defines `condition_of(images)` (the grey
image of a batch of real ones), `paired_loss(fake, real)` (the generator's loss against the true
image, weighted by "l1_weight") and `JITTER` (how far its real images are scaled before a random
crop), which the training steps read; and optionally `check_data(dataset)`, a ValueError for a data
set it cannot learn from.
"""

from __future__ import annotations

import dataclasses
import importlib

from trainer.config import ADDED_LATER

# Options only some families have. Families without one accept only the value at which it
# changes nothing: for the first three, the one that older runs, written before it existed, are
# read with.
LABEL_FAMILY_OPTIONS = ("class_loss_weight", "generator_width", "discriminator_width", "twin_class_head",
                        "classifier_features", "class_batch_norm")
PAIRED_OPTIONS = ("l1_weight", "adversarial_weight")  # an image-conditioned family's loss terms
FAMILY_OPTIONS = LABEL_FAMILY_OPTIONS + PAIRED_OPTIONS
NEUTRAL_VALUES = {**ADDED_LATER, "twin_class_head": False, "l1_weight": 0.0, "adversarial_weight": 1.0}
# What an image-conditioned family refuses: each option, the value that means "none", and why.
NO_NOISE = "its generator takes a grey image and no noise"
UNPAIRED_OPTIONS = {"latent_dim": (None, NO_NOISE), "mode_seeking_weight": (0.0, NO_NOISE),
                    "augment": ("", "it jitters each (grey, colour) pair as one, as pix2pix did, where DiffAugment "
                                    "would move the colour image away from its grey one")}
# The built-in data sets without colour, which a family that learns colour refuses by name.
GREY_DATASETS = ("mnist", "fashion_mnist")


@dataclasses.dataclass(frozen=True)
class Family:
    """A GAN family as the command line, the app and the exports know it, free of TensorFlow, so
    that `--help`, argument checks and the app's pages answer at once."""

    name: str  # on the command line and in config.json
    module: str  # its layer definitions, trainer/models/<module>.py
    conditional: bool  # whether both networks take the label
    description: str  # one line for --help and the app's start form
    options: tuple[str, ...] = ()  # the FAMILY_OPTIONS it takes
    image_conditioned: bool = False  # whether the generator colours a grey image rather than drawing from noise


FAMILIES = {family.name: family for family in (
    Family("cdcgan", "cdcgan", True, "default: fast conditional conv GAN for CPU and browser", LABEL_FAMILY_OPTIONS),
    Family("cdcgan-small", "cdcgan_small", True, "the training page's conv GAN: cdcgan at half width, no batch norm",
           ("class_loss_weight",)),
    Family("cgan", "cgan", True, "MLP conditional GAN of the SJTU report (Dense 128, batch 150)"),
    Family("cdcgan-sony", "cdcgan_sony", True, "conditional DCGAN of the Sony thesis (Tables 5.1, 5.2)"),
    Family("dcgan", "dcgan", False, "unconditional RGB DCGAN of the Sony thesis (Tables 5.3, 5.4)"),
    Family("gan", "gan", False, "unconditional MLP GAN (Goodfellow et al. 2014 style)"),
    Family("colorize", "colorize", False, "colorizes grey images: pix2pix U-Net and PatchGAN, adversarial + L1 loss",
           PAIRED_OPTIONS, image_conditioned=True),
)}

OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def check_family_name(name: str) -> None:
    if name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(FAMILIES)}")


def get_family(name: str):
    """The family's module (its layer definitions and defaults); this imports Keras."""
    check_family_name(name)
    return importlib.import_module(f"{__name__}.{FAMILIES[name].module}")


def is_conditional(name: str) -> bool:
    check_family_name(name)
    return FAMILIES[name].conditional


def is_image_conditioned(name: str) -> bool:
    check_family_name(name)
    return FAMILIES[name].image_conditioned


def check_family_options(config) -> None:
    """A ValueError naming the first option that `config.model` does not have, or (for a family
    that learns colour) a built-in data set without colour. No TensorFlow."""
    check_family_name(config.model)
    for name in FAMILY_OPTIONS:
        if getattr(config, name) not in (None, NEUTRAL_VALUES[name]) and name not in FAMILIES[config.model].options:
            having = [family.name for family in FAMILIES.values() if name in family.options]
            raise ValueError(f"--{name.replace('_', '-')} is not an option of {config.model} "
                             f"(it is of: {', '.join(having)})")
    if not FAMILIES[config.model].image_conditioned:
        return
    for name, (none, why) in UNPAIRED_OPTIONS.items():
        if getattr(config, name) not in (None, none):
            raise ValueError(f"--{name.replace('_', '-')} is not an option of {config.model}: {why}")
    if config.dataset in GREY_DATASETS or config.channels == 1:
        what = f"--channels {config.channels}" if config.channels == 1 else config.dataset
        raise ValueError(f"{what} has no colour, and {config.model} learns colour from colour images: choose "
                         f"emoji or folder:PATH of colour images")
    if config.l1_weight == 0 and config.adversarial_weight == 0:
        raise ValueError("--l1-weight 0 and --adversarial-weight 0 leave the generator nothing to learn")


def check_training_data(model: str, dataset) -> None:
    """A ValueError for a loaded data set the family cannot train on: images of a size it cannot
    build networks for, or (for colorize) images without colour."""
    check_data = getattr(get_family(model), "check_data", None)
    if check_data is not None:
        check_data(dataset)
    check_image_shape(model, dataset.image_shape)


def build_generator(config):
    """The generator a run's config describes (its family, sizes and family options)."""
    family = get_family(config.model)
    extra = {"width": config.generator_width} if config.generator_width not in (None, 1) else {}
    if "generator_layout" in family.DEFAULTS:
        extra["layout"] = config.generator_layout
    if config.class_batch_norm:
        extra["class_batch_norm"] = True
    return family.build_generator(config.latent_dim, config.image_shape, len(config.label_names), **extra)


def build_discriminator(config):
    """The run's discriminator; with a class loss it also returns class logits (an AC-GAN head)."""
    family = get_family(config.model)
    extra = {"class_head": True} if config.class_loss_weight else {}
    if "discriminator_layout" in family.DEFAULTS:
        extra["layout"] = config.discriminator_layout
    if config.twin_class_head:
        extra["twin_head"] = True
    if config.discriminator_width not in (None, 1):
        extra["width"] = config.discriminator_width
    if config.classifier_features:
        extra["classifier_features"] = True
    return family.build_discriminator(config.image_shape, len(config.label_names), **extra)


def describe_families() -> str:
    return "\n".join(f"  {family.name:12s} {family.description}" for family in FAMILIES.values())


def generator_inputs(latent_dim: int, num_classes: int, conditional: bool):
    import keras

    latent = keras.Input((latent_dim,), name="latent")
    if not conditional:
        return [latent]
    return [latent, keras.Input((num_classes,), name="label")]


def discriminator_inputs(image_shape, num_classes: int, conditional: bool):
    import keras

    image = keras.Input(tuple(image_shape), name="image")
    if not conditional:
        return [image]
    return [image, keras.Input((num_classes,), name="label")]


def label_maps(label, height: int, width: int):
    """The one-hot label as constant feature maps of the given size, for concatenation with
    convolutional features ("y is concatenated at every layer", Sony thesis). Tiling with an
    upsampling layer, not a Lambda, keeps the model serialisable and exportable."""
    from keras import layers

    as_pixel = layers.Reshape((1, 1, label.shape[-1]))(label)
    return layers.UpSampling2D((height, width))(as_pixel)


def check_layout(family: str, network: str, layout: int, known=(1, 2)) -> None:
    """A ValueError for a layout this version does not know: a run from a newer Ganvas."""
    if layout not in known:
        raise ValueError(f"{family} has {network} layouts {' and '.join(map(str, known))}, not {layout}: "
                         "was the run written by a newer Ganvas?")


def check_image_shape(model: str, image_shape) -> None:
    """A ValueError if the family `model` cannot build networks for images of this shape."""
    rule = getattr(get_family(model), "IMAGE_SIZE_RULE", None)
    if rule:
        check_image_size(model, image_shape, *rule)


def check_image_size(family: str, image_shape, multiple: int, example: int):
    height, width = image_shape[:2]
    if height != width or height % multiple:
        raise ValueError(
            f"{family} needs square images whose size is a multiple of {multiple} "
            f"(got {height}x{width}); pass e.g. --image-size {example}"
        )
