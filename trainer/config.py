"""The one configuration of a training run.

The CLI fills it, `runs/<name>/config.json` stores it, and the app and the exporter read it back:
a run directory is described completely by this dataclass. Fields left as None are filled from
the model family's defaults (see `resolve`), so that config.json always holds the values that
were really used.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from trainer.judges import ARCHITECTURES, ARCHITECTURES_HELP, DEFAULT_ARCH
from trainer.rundir import CLASSIFIERS_DIR, RunDirectory

STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Options added after runs were first written, with the value that means "as before": a run
# from an older version resumes with the recipe it started with, not with today's default.
ADDED_LATER = {"class_loss_weight": 0.0, "lr_decay_epochs": 0, "generator_width": 1, "generator_layout": 1,
               "discriminator_layout": 1, "discriminator_width": 1, "classifier_features": False, "class_batch_norm": False,
               "balance_classes": False, "augment": ""}


# The smallest value each number option makes sense with, and the largest where there is one.
RANGES = {name: (1, None) for name in ("epochs", "batch_size", "latent_dim", "generator_width", "discriminator_width",
                                       "image_size", "limit_per_class", "steps_per_call", "keep_checkpoints",
                                       "eval_samples", "worker_timeout")}
RANGES.update({name: (0, None) for name in ("lr_decay_epochs", "class_loss_weight", "mode_seeking_weight",
                                            "eval_every", "l1_weight", "adversarial_weight")})
# Keras seeds NumPy's global generator with it, which takes 0 to 2**32 - 1. (The offsets synth and
# tstr add to a seed for further draws go to TensorFlow's 64-bit stateless seeds.)
MAX_SEED = 2 ** 32 - 1
RANGES.update(seed=(0, MAX_SEED))
# Each D and G step's noise seed is keyed by a slot below 32 (see trainer/steps.py).
RANGES.update(d_steps=(1, 31), g_steps=(1, 31))


def check_range(name: str, value) -> None:
    """A ValueError if `value` (None passes) lies outside RANGES[name]; for commands that take an
    option of TrainConfig's without building one (the --seed of sample, synth, tstr, eval)."""
    low, high = RANGES[name]
    if value is not None and (value < low or (high is not None and value > high)):
        rule = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"--{name.replace('_', '-')} must be {rule}, not {value}")


def check_at_least(low: int, **options) -> None:
    """A ValueError for the first of `options` (a command's number options by name, `n=args.n`
    for --n) below `low`; None passes. For the bounds RANGES cannot hold: options of commands
    other than train (`sample --n`), or a bound that depends on the run (eval's --n needs two
    samples of each label)."""
    for name, value in options.items():
        if value is not None and value < low:
            raise ValueError(f"--{name.replace('_', '-')} must be at least {low}, not {value}")


LOSSES = ("bce", "hinge")  # trainer/steps.py defines them
AUGMENTATIONS = ("color", "translation", "cutout")  # trainer/augment.py defines them


def option(default, help, label=None, choices=None, basic=False, app=True, unset="the family's"):
    """A TrainConfig field as every reader shows it: the CLI's `--help`, and the app's start form
    (`label`; `basic` ones on top, the rest under "More options"; `app=False` for the paths
    the app chooses itself; `unset`: what an empty input means). A new option thereby appears
    in both, and in config.json, at once."""
    metadata = dict(help=help, label=label, choices=choices, basic=basic, app=app and help is not None, unset=unset)
    return dataclasses.field(default=default, metadata=metadata)


def recorded(default=None):
    """A field filled in from the data set when training starts, not an option."""
    return dataclasses.field(default=default, metadata=dict(help=None, label=None, choices=None, basic=False,
                                                           app=False, unset=None))


def choices(name: str):
    """The values an option takes, where they form a list (the families live in trainer.models)."""
    if name == "model":
        from trainer.models import FAMILIES

        return tuple(FAMILIES)
    return TrainConfig.__dataclass_fields__[name].metadata["choices"]


@dataclasses.dataclass
class TrainConfig:
    dataset: str = option("mnist", "mnist, fashion_mnist, emoji (colour) or folder:PATH (PATH/<label>/<image>)",
                          "Data set", basic=True)
    model: str = option("cdcgan", "GAN family (see the list above)", "Model family", basic=True)
    run_name: str = option("", "name of the run directory (default: DATASET-MODEL)", app=False)
    runs_dir: str = option("runs", "where run directories live", app=False)
    epochs: int = option(10, "epochs to train in total (raise it with --resume to train longer)", "Epochs",
                         basic=True)
    batch_size: int | None = option(None, "global batch size", "Batch size", basic=True)
    lr: float | None = option(None, "Adam learning rate", "Learning rate", basic=True)
    beta1: float | None = option(None, "Adam beta1", "Adam beta1")
    latent_dim: int | None = option(None, "size of the noise vector z", "Noise size")
    d_steps: int | None = option(None, "discriminator steps per iteration (Metropolia thesis: 5)",
                                 "Discriminator steps", basic=True)
    g_steps: int | None = option(None, "generator steps per iteration (Sony thesis: 2)", "Generator steps",
                                 basic=True)
    loss: str | None = option(None, "bce (non-saturating) or hinge", "Loss", LOSSES)
    lr_decay_epochs: int = option(0, "let the learning rate fall linearly to 0 over the last N of --epochs (0: constant)",
                                  "Learning-rate decay epochs")
    generator_width: int | None = option(None, "multiply the channels of cdcgan's generator (2: twice as wide; slower "
                                               "on a CPU and in the browser)", "Generator width")
    discriminator_width: int | None = option(None, "multiply the channels of cdcgan's discriminator (2: twice as "
                                                   "wide; slower to train, the generator is unchanged)",
                                             "Discriminator width")
    class_loss_weight: float | None = option(None, "weight of an auxiliary classification loss (AC-GAN): D learns to "
                                                   "name the label of real images, G to make fakes D names as asked "
                                                   "(0: off)", "Class loss weight")
    twin_class_head: bool = option(False, "with --class-loss-weight: a second class head learns to name the label of "
                                          "fakes, and G is rewarded when it cannot (TAC-GAN); corrects the class "
                                          "loss's pull towards easy, typical samples", "Twin class head")
    class_batch_norm: bool = option(False, "the label picks the scale and offset of each batch norm in cdcgan's "
                                           "generator (conditional batch norm): features of its own for each class; "
                                           "clothes gain, digits do not", "Class batch norm")
    classifier_features: bool = option(False, "the discriminator reads the data set's LeNet classifier (its convolution "
                                              "layers, frozen) instead of learning features of its own, as Projected "
                                              "GANs do: one epoch draws better digits than four without it; train "
                                              "the classifier first (`ganvas classifier train`)",
                                       "Discriminator reads the classifier")
    mode_seeking_weight: float = option(0.0, "weight of a mode-seeking loss (MSGAN): G is rewarded when two noise "
                                             "vectors with the same label give different images; more varied "
                                             "samples, a better data set to train a classifier on (0: off)",
                                        "Mode-seeking weight")
    l1_weight: float | None = option(None, "colorize: weight of the L1 distance to the true colours in the "
                                           "generator's loss (pix2pix's lambda; default 100; 0: the adversarial "
                                           "loss alone)", "L1 weight")
    adversarial_weight: float | None = option(None, "colorize: weight of the adversarial loss in the generator's "
                                                    "loss (default 1; 0: L1 alone, the baseline that `trainer "
                                                    "eval --baseline-run` compares with)", "Adversarial weight")
    augment: str = option("", "differentiable augmentation (DiffAugment) of every image the discriminator sees, "
                              "real and fake: a comma-separated list of color, translation, cutout; for small "
                              "data sets, where D otherwise learns the real images by heart (emoji)", "Augment")
    average_decay: float | None = option(None, "keep an exponential moving average of the generator's weights "
                                               "with this decay and sample from it (0: off; docs/recipes.md's "
                                               "longer recipes use 0.999)", "Average G's weights, decay", basic=True,
                                        unset="off")
    image_size: int | None = option(None, "resize images to SIZE x SIZE (default: 28 for mnist and fashion_mnist, "
                                           "32 for emoji, 64 for folders and for dcgan)", "Image size",
                                    unset="as the data")
    channels: int | None = option(None, "1 (grayscale) or 3 (RGB); default: as the data", "Channels", (1, 3),
                                    unset="as the data")
    limit_per_class: int | None = option(None, "class-balanced subset: N images per class", "Images per class",
                                         basic=True, unset="all")
    balance_classes: bool | None = option(None, "draw the labels of each real batch evenly, each class as often as the "
                                                "others however many images it has (--no-balance-classes: as often "
                                                "as the data set has them); default: on for a conditional model on an "
                                                "unbalanced data set, its largest class over 1.5 times its smallest",
                                          "Balance classes", unset="on when unbalanced")
    seed: int = option(0, "seed for data selection, data order, noise and initialisation", "Seed", basic=True)
    strategy: str = option("default", "tf.distribute strategy: default (one device), mirrored (every GPU of this "
                                      "machine, or its logical CPUs) or multiworker (the cluster in TF_CONFIG; see "
                                      "`ganvas launch`)", "Strategy", STRATEGIES)
    worker_timeout: int = option(120, "with --strategy multiworker: seconds a worker waits for the others at an "
                                      "exchange before it stops the run (a worker that died or hangs)",
                                 "Worker timeout (s)")
    precision: str = option("float32", "float32, mixed_bfloat16 or mixed_float16", "Precision", PRECISIONS)
    jit_compile: bool | None = option(None, "compile the step with XLA (default: the family's choice)",
                                      "Compile with XLA")
    steps_per_call: int = option(50, "iterations per graph call between progress updates", "Steps per call")
    keep_checkpoints: int = option(3, "how many epoch checkpoints to keep", "Checkpoints kept")
    data_dir: str | None = option(None, "directory holding the data set files", "Data directory",
                                   unset="where ganvas data fetch put them")
    eval_every: int = option(0, "score the generator with the classifier every K epochs (0: never)",
                             "Score every K epochs")
    eval_samples: int = option(2000, "samples scored by --eval-every", "Samples scored")
    classifier_arch: str = option(DEFAULT_ARCH, f"the classifier --eval-every scores with: {ARCHITECTURES_HELP}, "
                                                f"as `ganvas classifier train --arch` trained it",
                                  "Scoring classifier", ARCHITECTURES)
    classifiers_dir: str = option(CLASSIFIERS_DIR, "where `ganvas classifier train` keeps classifiers", app=False)
    # Filled in from the data set when training starts; readers need them without the data.
    image_shape: list[int] | None = recorded()
    label_names: list[str] | None = recorded()
    output_range: list[float] | None = recorded()
    # Which arrangement of layers the family's networks were built with (see cdcgan.py, cgan.py),
    # kept so that a run's checkpoints, which name weights by layer position, load into the
    # arrangement that wrote them. Not options: new runs take the family's current ones from its
    # DEFAULTS.
    generator_layout: int | None = recorded()
    discriminator_layout: int | None = recorded()

    def check(self) -> None:
        """A ValueError naming the first option whose value cannot work, of the rules that need
        neither the data set nor TensorFlow (trainer/launch.py asks the others). Fields still None
        (left to the family) pass, so the check runs before and after `resolve`."""
        def refuse(name, rule):
            raise ValueError(f"--{name.replace('_', '-')} must be {rule}, not {getattr(self, name)}")

        for name in RANGES:
            check_range(name, getattr(self, name))
        if self.lr is not None and not self.lr > 0:
            refuse("lr", "above 0")
        for name in ("beta1", "average_decay"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                refuse(name, "at least 0 and below 1")
        if self.lr_decay_epochs > self.epochs:
            refuse("lr_decay_epochs", f"between 0 and --epochs ({self.epochs})")
        for name in ("loss", "strategy", "precision", "channels", "classifier_arch"):
            if getattr(self, name) is not None and getattr(self, name) not in choices(name):
                refuse(name, f"one of {', '.join(map(str, choices(name)))}")
        unknown = [name for name in self.augment.split(",") if name and name not in AUGMENTATIONS]
        if unknown:
            refuse("augment", f"a comma-separated list of {', '.join(AUGMENTATIONS)}")
        if self.twin_class_head and self.class_loss_weight is not None and not self.class_loss_weight:
            raise ValueError("--twin-class-head needs a class loss: a --class-loss-weight above 0")
        if self.mode_seeking_weight and self.batch_size is not None and self.batch_size < 2:
            raise ValueError("--mode-seeking-weight needs pairs of samples: a --batch-size of at least 2")
        from trainer.models import check_family_options  # the families' own options (no TensorFlow)

        check_family_options(self)

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        """The fields a user sets (the CLI's options, the app's form); the rest are recorded."""
        return [field for field in dataclasses.fields(cls) if field.metadata["help"] is not None]

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_name

    def resolve(self, family_defaults: dict) -> "TrainConfig":
        """A copy with every None field that the family has a default for filled in."""
        filled = {
            name: family_defaults[name]
            for name, value in dataclasses.asdict(self).items()
            if value is None and name in family_defaults
        }
        return dataclasses.replace(self, **filled)

    def to_argv(self) -> list[str]:
        """The `trainer train` options that make this config, for a program that starts the
        trainer (the app): every option whose value is set and differs from the dataclass's."""
        argv = []
        for field in self.options():
            value = getattr(self, field.name)
            if value is None or value == field.default:
                continue  # left to the family, or the default
            flag = "--" + field.name.replace("_", "-")
            if isinstance(value, bool):  # switches: --twin-class-head or --no-twin-class-head
                argv.append(flag if value else "--no-" + flag[2:])
            else:
                argv += [flag, str(value)]
        return argv

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        data = {**ADDED_LATER, **json.loads(text)}
        for name in ("generator_layout", "discriminator_layout"):
            if data[name] is None:  # written before the family had layouts: built with its first
                data[name] = ADDED_LATER[name]
        known = {field.name for field in dataclasses.fields(cls)}
        # Runs written by an older or newer version may carry fields we no longer know.
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def load(cls, run_dir: str | Path) -> "TrainConfig":
        path = RunDirectory(run_dir).config_path
        try:
            return cls.from_json(path.read_text())
        except json.JSONDecodeError as error:  # a hand edit: the trainer writes it atomically
            raise ValueError(f"{path} is not valid JSON ({error}); fix it or train the run again with --overwrite") from None
