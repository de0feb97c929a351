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
"""

from __future__ import annotations

import dataclasses
import importlib

from trainer.config import ADDED_LATER

# Options only some families have. Families without one accept only the value at which it
# changes nothing: for the first three, the one that older runs, written before it existed, are
# read with.
FAMILY_OPTIONS = ("class_loss_weight", "generator_width", "discriminator_width", "twin_class_head",
                  "classifier_features", "class_batch_norm")
NEUTRAL_VALUES = {**ADDED_LATER, "twin_class_head": False}


@dataclasses.dataclass(frozen=True)
class Family:
    """A GAN family as the command line, the app and the exports know it, free of TensorFlow, so
    that `--help`, argument checks and the app's pages answer at once."""

    name: str  # on the command line and in config.json
    module: str  # its layer definitions, trainer/models/<module>.py
    conditional: bool  # whether both networks take the label
    description: str  # one line for --help and the app's start form
    options: tuple[str, ...] = ()  # the FAMILY_OPTIONS it takes


FAMILIES = {family.name: family for family in (
    Family("cdcgan", "cdcgan", True, "default: fast conditional conv GAN for CPU and browser", FAMILY_OPTIONS),
    Family("cgan", "cgan", True, "MLP conditional GAN of the SJTU report (Dense 128, batch 150)"),
    Family("cdcgan-sony", "cdcgan_sony", True, "conditional DCGAN of the Sony thesis (Tables 5.1, 5.2)"),
    Family("dcgan", "dcgan", False, "unconditional RGB DCGAN of the Sony thesis (Tables 5.3, 5.4)"),
    Family("gan", "gan", False, "unconditional MLP GAN (Goodfellow et al. 2014 style)"),
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


def check_family_options(config) -> None:
    """A ValueError naming the first option that `config.model` does not have. No TensorFlow."""
    check_family_name(config.model)
    for name in FAMILY_OPTIONS:
        if getattr(config, name) not in (None, NEUTRAL_VALUES[name]) and name not in FAMILIES[config.model].options:
            having = [family.name for family in FAMILIES.values() if name in family.options]
            raise ValueError(f"--{name.replace('_', '-')} is not an option of {config.model} "
                             f"(it is of: {', '.join(having)})")


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
