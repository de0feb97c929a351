"""The command line: `python -m trainer train|sample|colorize|data ...`.

A thin layer over the library: it turns arguments into a TrainConfig, reports problems in one
clear line, and sets the exit code. TensorFlow is imported only by commands that need it, so
`--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from trainer import start_tensorflow
from trainer.config import TrainConfig, check_range, choices
from trainer.data import BUILTIN_DATASETS
from trainer.launch import new_config
from trainer.models import describe_families
from trainer.rundir import RunError, add_run_options, resolve_run, take_lock

class UserError(Exception):
    """Something the user can fix; printed as one line, exit code 2."""


def require_at_least(args, low: int, *names: str) -> None:
    """A UserError for the first of the command's number options `names` below `low`."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < low:
            raise UserError(f"--{name.replace('_', '-')} must be at least {low}, not {value}")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, so the CLI can never drift from the dataclass.
    Defaults stay None here, to tell what the user set from what the dataclass supplies."""
    for field in TrainConfig.options():
        flag = "--" + field.name.replace("_", "-")
        help_text = field.metadata["help"]
        if field.default not in (None, ""):
            help_text += f" (default: {field.default})"
        if "bool" in str(field.type):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
            continue
        kind = {"int": int, "float": float}.get(str(field.type).split(" ")[0], str)
        parser.add_argument(flag, type=kind, default=None, choices=choices(field.name), help=help_text)


def given_options(args) -> dict:
    """The TrainConfig fields set on the command line."""
    return {field.name: getattr(args, field.name) for field in TrainConfig.options()
            if getattr(args, field.name) is not None}


def config_from_args(args) -> TrainConfig:
    return new_config(given_options(args))


def say(line: str) -> None:
    print(line, flush=True)  # a log file or the app sees each line as it happens


def refuse_image_conditioned(config, command: str) -> None:
    """A UserError for a command that draws from noise or labels, given a colorize run."""
    from trainer.models import is_image_conditioned

    if is_image_conditioned(config.model):
        raise UserError(f"{config.run_name} is a {config.model} run: it colours grey images rather than drawing "
                        f"{command}; use `python -m trainer colorize --run {config.run_name} IMAGE --out OUT.png`")


def train(args) -> int:
    from trainer.launch import prepare, run

    plan = prepare(given_options(args), resume=args.resume, overwrite=args.overwrite)
    from trainer.train import TrainingFailed, TrainingStopped

    try:
        run(plan, log=say)
    except TrainingStopped as stop:
        print(stop, file=sys.stderr)
        return 130
    except TrainingFailed as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    print(f"finished: samples in {plan.run.samples_dir}, generator in {plan.run.generator_path}")
    return 0


def sample(args) -> int:
    start_tensorflow()
    import numpy as np

    from trainer.images import grid, save_png
    from trainer.models import is_conditional
    from trainer.sampling import generate, latent_noise, load_generator, parse_label

    require_at_least(args, 1, "n")
    out_format = Path(args.out).suffix.lower()  # "GRID.PNG" is a PNG too
    if out_format not in (".png", ".npy"):
        raise UserError(f"--out must end in .png (a grid) or .npy (raw images), not {args.out!r}")
    if Path(args.out).is_dir():  # found before drawing, not when the file cannot replace it
        raise UserError(f"--out {args.out} is a folder; name a file, FILE.png or FILE.npy")
    generator, config = load_generator(resolve_run(args.run, args.runs_dir), args.epoch)
    refuse_image_conditioned(config, "samples")
    conditional = is_conditional(config.model)
    if args.label is not None and not conditional:
        raise UserError(f"{config.model} is unconditional: leave out --label")
    if conditional and args.label is None:
        raise UserError(f"--label is required; choose an index or a name: {', '.join(config.label_names)}")
    label = parse_label(args.label, config.label_names) if conditional else 0
    import tensorflow as tf

    latent = latent_noise(args.seed, args.n, config.latent_dim, args.noise_scale)
    images = generate(generator, config, latent, tf.one_hot([label] * args.n, len(config.label_names)))
    if out_format == ".npy":
        from io import BytesIO

        from trainer.rundir import atomic_write

        buffer = BytesIO()
        np.save(buffer, images)
        atomic_write(Path(args.out), buffer.getvalue())
    else:
        save_png(args.out, grid(images, -(-args.n // 10), min(args.n, 10)))
    which = f" of label {config.label_names[label]!r} (index {label})" if conditional else ""
    print(f"wrote {args.n} samples{which} to {args.out}")
    return 0


CLASSIFIER_STEPS = 2000  # the fewest steps `classifier train` takes by default


def classifier_train(args) -> int:
    start_tensorflow()
    import json

    from trainer import data
    from trainer.classifier import classifier_dir, save_classifier, train_classifier

    require_at_least(args, 1, "epochs", "batch_size", "limit_per_class", "image_size")
    if args.arch == "lenet" and args.image_size is not None and args.image_size < 16:
        # Two 5x5 convolutions, each pooled by 2, leave nothing of a smaller image.
        raise UserError(f"--image-size must be at least 16 for lenet, not {args.image_size} (or choose --arch dfn)")
    directory = classifier_dir(args.dataset, args.arch, args.classifiers_dir, args.image_size)

    def refuse_to_replace():
        if (directory / "info.json").exists() and not args.overwrite:
            raise UserError(f"{directory} already holds a classifier, which eval, --eval-every and export use: "
                            f"add --overwrite to replace it")

    refuse_to_replace()
    options = dict(data_dir=args.data_dir, image_size=args.image_size, channels=args.channels)
    train_set = data.load(args.dataset, "train", limit_per_class=args.limit_per_class, seed=args.seed, **options)
    test_set = data.load(args.dataset, "test", **options)
    if args.epochs is None:
        # Twenty MNIST epochs are ~9,400 steps; twenty epochs of emoji's 3,000 images would be 460,
        # which left the LeNet at 83 % on its own training images (test 73 %); 2,000 steps fit it (78 %).
        steps_per_epoch = max(1, len(train_set.labels) // args.batch_size)
        args.epochs = max(20, math.ceil(CLASSIFIER_STEPS / steps_per_epoch))
    lock = take_lock(directory)  # a second `classifier train` into this folder is refused, not overwriting
    if lock is None:
        raise UserError(f"another `classifier train` is writing {directory}; wait for it to finish")
    with lock:
        refuse_to_replace()  # again: one that finished while this one loaded the data
        print(f"training {args.arch} on {args.dataset}: {len(train_set.labels)} training images, "
              f"{len(test_set.labels)} test images, {args.epochs} epochs", flush=True)
        model, history = train_classifier(train_set, args.arch, args.epochs, args.batch_size, args.seed,
                                          test=test_set)
        info = dict(dataset=args.dataset, arch=args.arch, image_shape=list(train_set.image_shape),
                    label_names=list(train_set.label_names), train_images=len(train_set.labels),
                    test_accuracy=history[-1]["test_accuracy"], test_loss=history[-1]["test_loss"],
                    epochs=args.epochs, history=history)
        save_classifier(model, info, directory)
    print(f"test accuracy {info['test_accuracy']:.2%}; saved in {directory}")
    print(json.dumps({key: info[key] for key in ("dataset", "arch", "test_accuracy")}))
    return 0


def evaluate(args) -> int:
    start_tensorflow()
    from trainer.classifier import Classifier
    from trainer.metrics import Evaluator, summary
    from trainer.models import is_image_conditioned
    from trainer.rundir import RunDirectory
    from trainer.sampling import load_generator_and_epoch

    path = resolve_run(args.run, args.runs_dir)
    run = RunDirectory(path)
    generator, config, epoch = load_generator_and_epoch(path, args.epoch)
    if is_image_conditioned(config.model):
        return evaluate_colorizer(args, run, generator, config, epoch)
    if args.baseline_run:
        raise UserError(f"--baseline-run compares colorize runs; {config.run_name} is a {config.model} run")
    require_at_least(args, 2 * len(config.label_names), "n")  # a spread needs two samples of each label
    classifier = Classifier.for_run(config, args.classifiers_dir)
    metrics = Evaluator(config, classifier, args.n, args.seed)(generator)
    epoch = epoch or len(run.history())
    metrics = dict(epoch=epoch, classifier=str(classifier.directory), **metrics)
    return write_report(run, args, config, metrics, summary(metrics))


def write_report(run, args, config, metrics: dict, table: str) -> int:
    """`eval`'s end: metrics.json (or metrics_epoch_E.json), and the table on the terminal."""
    import json

    from trainer.rundir import atomic_write

    output = run.report_path("metrics", args.epoch)
    atomic_write(output, json.dumps(metrics, indent=2))
    print(f"{config.model} on {config.dataset}, epoch {metrics['epoch']}:")
    print(table)
    print(f"wrote {output}")
    return 0


def evaluate_colorizer(args, run, generator, config, epoch) -> int:
    """`eval` of a colorize run: its scores on the test images beside the grey image's and, with
    --baseline-run, another colorize run's on the same images (the L1-only baseline)."""
    from trainer.metrics import colour_summary, evaluator_for
    from trainer.models import is_image_conditioned
    from trainer.sampling import load_generator_and_epoch

    require_at_least(args, 1, "n")
    baseline = None
    if args.baseline_run:
        baseline_path = resolve_run(args.baseline_run, args.runs_dir)
        baseline = load_generator_and_epoch(baseline_path)
        other = baseline[1]
        if not is_image_conditioned(other.model):
            raise UserError(f"--baseline-run {args.baseline_run} is a {other.model} run, not a colorize one")
        if (other.dataset, other.image_shape) != (config.dataset, config.image_shape):
            raise UserError(f"--baseline-run {args.baseline_run} was trained on {other.dataset} at "
                            f"{other.image_shape}, this run on {config.dataset} at {config.image_shape}: "
                            f"a baseline must colour the same images")
    evaluator = evaluator_for(config, args.n, args.seed, args.classifiers_dir)
    epoch = epoch or len(run.history())
    classifier = evaluator.classifier.directory if evaluator.classifier is not None else None
    metrics = dict(epoch=epoch, classifier=classifier and str(classifier), **evaluator(generator))
    metrics["baselines"] = {"grey image": evaluator.grey_baseline()}
    if baseline is not None:
        baseline_generator, other, baseline_epoch = baseline
        alone = " (L1 only)" if other.adversarial_weight == 0 else f" (adversarial weight {other.adversarial_weight:g})"
        metrics["baselines"][f"{other.run_name}{alone}"] = dict(run=other.run_name, epoch=baseline_epoch,
                                                                **evaluator.score_generator(baseline_generator))
    return write_report(run, args, config, metrics, colour_summary(metrics))


def colorize_command(args) -> int:
    start_tensorflow()
    from trainer.photos import PhotoError, colorize_files, plan_outputs
    from trainer.models import is_image_conditioned
    from trainer.sampling import load_generator

    try:
        pairs = plan_outputs(Path(args.input), Path(args.out))
    except PhotoError as error:
        raise UserError(str(error)) from None
    generator, config = load_generator(resolve_run(args.run, args.runs_dir), args.epoch)
    if not is_image_conditioned(config.model):
        raise UserError(f"{config.run_name} is a {config.model} run, which draws from noise; colorize needs a run "
                        f"trained with --model colorize")
    try:
        written = colorize_files(generator, config, pairs, log=say)
    except PhotoError as error:
        raise UserError(str(error)) from None
    if not written:
        raise UserError(f"none of the {len(pairs)} files in {args.input} could be colorized")
    if written < len(pairs):
        print(f"colorized {written} of {len(pairs)} files into {args.out}")
    return 0


def synth(args) -> int:
    start_tensorflow()
    from trainer.models import is_conditional
    from trainer.synthetic import check_destination, synthetic_dataset, write_dataset

    require_at_least(args, 1, "n")
    check_destination(args.out)
    generator, config, discriminator, _ = load_for_drawing(resolve_run(args.run, args.runs_dir), args)
    classes = len(config.label_names)
    conditional = is_conditional(config.model)  # if not, synthetic_dataset says why it cannot
    if conditional and args.n < classes:  # a labelled data set with labels missing would reload without them
        raise UserError(f"--n must be at least {classes}: one image of each label")
    if conditional and args.n % classes:
        print(f"note: {args.n} is not a multiple of the {classes} labels: the first {args.n % classes} labels "
              f"get one image more than the others", flush=True)
    dataset = synthetic_dataset(generator, config, args.n, args.seed, args.noise_scale, args.hardest_of, discriminator,
                                log=lambda line: print(line, flush=True))
    write_dataset(dataset, args.out)
    print(f"wrote {args.n} labelled samples to {args.out}")
    return 0


def load_for_drawing(path, args):
    """The generator, config, for --hardest-of above 1 the discriminator, and their epoch, that
    `synth` and `tstr` draw their data sets with."""
    from trainer.sampling import load_discriminator, load_generator_and_epoch

    require_at_least(args, 1, "hardest_of")
    generator, config, epoch = load_generator_and_epoch(path, args.epoch)
    refuse_image_conditioned(config, "labelled samples")
    # The discriminator of that same epoch, even while the run trains on.
    discriminator = load_discriminator(path, epoch) if args.hardest_of > 1 else None
    return generator, config, discriminator, epoch


def tstr(args) -> int:
    start_tensorflow()
    import json

    from trainer.rundir import RunDirectory, atomic_write
    from trainer.synthetic import train_on_synthetic_test_on_real

    try:
        sizes = list(dict.fromkeys(int(size) for size in args.sizes.split(",")))  # a size twice is one table row
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise UserError(f"--sizes takes whole numbers above 0 separated by commas, not {args.sizes!r}")
    require_at_least(args, 1, "epochs")
    path = resolve_run(args.run, args.runs_dir)
    generator, config, discriminator, epoch = load_for_drawing(path, args)
    if min(sizes) < len(config.label_names):
        raise UserError(f"--sizes must be at least {len(config.label_names)}: one image of each label")
    table = train_on_synthetic_test_on_real(generator, config, sizes, args.epochs, args.seed, args.noise_scale,
                                            args.hardest_of, discriminator)
    table = dict(epoch=epoch, **table)
    output = RunDirectory(path).report_path("tstr", args.epoch)
    atomic_write(output, json.dumps(table, indent=2))
    print(f"{'training set':32s} {'images':>8s} {'real test accuracy':>19s}")
    for result in table["results"]:
        print(f"{result['name']:32s} {result['train_images']:8d} {result['test_accuracy']:19.2%}")
    for size, gap in table["gap_real_minus_synthetic"].items():
        print(f"gap real - synthetic at {size}: {gap * 100:.2f} points")
    print(f"wrote {output}")
    return 0


def launch_command(args) -> int:
    from trainer.workers import launch

    return launch(args.workers, args.arguments)


def data_command(args) -> int:
    from trainer import data

    datasets = args.dataset or data.BUILTIN_DATASETS
    if args.action == "fetch":
        data.fetch(datasets, data_dir=args.data_dir)
        return 0
    problems = 0
    for entry in data.check(datasets, data_dir=args.data_dir):
        mark = "ok " if entry["ok"] else "BAD"
        detail = entry["path"] if entry["ok"] else entry["problem"]
        print(f"{mark} {entry['dataset']}/{entry['file']}: {detail}")
        problems += not entry["ok"]
    if problems:
        print("fix with: python -m trainer data fetch", file=sys.stderr)
    return 1 if problems else 0


def add_noise_scale_option(parser: argparse.ArgumentParser) -> None:
    """For the commands that draw many samples: how far from the typical image they may stray."""
    def non_negative(text: str) -> float:
        value = float(text)
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
        return value

    parser.add_argument("--noise-scale", type=non_negative, default=1.0,
                        help="standard deviation of the noise (default: 1, as in training); below 1 "
                             "cleaner, more typical images, above 1 more varied ones")


def add_hardest_of_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hardest-of", type=int, default=1, metavar="K",
                        help="draw K times the images and keep, per label, those the run's discriminator "
                             "finds hardest to name yet still names right (needs a run with a class head; "
                             "default: 1, plain draws as in the Sony thesis; docs/recipes.md's MNIST recipe uses 5)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description="Train conditional GANs.")
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser(
        "train", help="train a GAN into runs/<name>/",
        description="Train a GAN. Model families:\n" + describe_families(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_options(train_parser)
    start = train_parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    start.add_argument("--overwrite", action="store_true", help="delete the run and start again")
    train_parser.set_defaults(handler=train)

    sample_parser = commands.add_parser("sample", help="draw samples from a trained run")
    add_run_options(sample_parser)
    sample_parser.add_argument("--label", help="label index or name (conditional models)")
    sample_parser.add_argument("--n", type=int, default=100, help="number of samples (default: 100)")
    sample_parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sample_parser.add_argument("--out", required=True, help="FILE.png for a grid, FILE.npy for (N, H, W, C) in [0, 1]")
    add_noise_scale_option(sample_parser)
    sample_parser.set_defaults(handler=sample)

    classifier_parser = commands.add_parser("classifier", help="train the classifier that scores generators")
    classifier_commands = classifier_parser.add_subparsers(dest="action", required=True)
    classifier_train_parser = classifier_commands.add_parser("train", help="train and keep a classifier")
    classifier_train_parser.add_argument("--dataset", default="mnist",
                                         help="mnist, fashion_mnist, emoji or folder:PATH")
    classifier_train_parser.add_argument("--arch", default="lenet", choices=("lenet", "dfn"),
                                         help="lenet (Sony thesis) or dfn (deep feed-forward, IME-USP slides)")
    classifier_train_parser.add_argument("--epochs", type=int,
                                         help="the learning rate decays over all of them (default: 20, or as many as "
                                              f"make {CLASSIFIER_STEPS:,} steps on a smaller data set)")
    classifier_train_parser.add_argument("--batch-size", type=int, default=128)
    classifier_train_parser.add_argument("--limit-per-class", type=int)
    classifier_train_parser.add_argument("--image-size", type=int)
    classifier_train_parser.add_argument("--channels", type=int, choices=(1, 3))
    classifier_train_parser.add_argument("--seed", type=int, default=0)
    classifier_train_parser.add_argument("--data-dir")
    classifier_train_parser.add_argument("--classifiers-dir", default="classifiers")
    classifier_train_parser.add_argument("--overwrite", action="store_true", help="replace the classifier kept there")
    classifier_train_parser.set_defaults(handler=classifier_train)

    eval_parser = commands.add_parser("eval", help="score a run's generator with the classifier")
    add_run_options(eval_parser)
    eval_parser.add_argument("--n", type=int, default=10000, help="samples to score (default: 10000)")
    eval_parser.add_argument("--seed", type=int, default=0)
    eval_parser.add_argument("--classifiers-dir", default="classifiers")
    eval_parser.add_argument("--baseline-run", help="colorize: another colorize run (the L1-only baseline, trained "
                                                    "with --adversarial-weight 0) scored on the same test images")
    eval_parser.set_defaults(handler=evaluate)

    colorize_parser = commands.add_parser(
        "colorize", help="colour grey photos with a colorize run",
        description="Colour a photo, or every image in a folder, with a run of --model colorize, writing PNGs of "
                    "the same size. The photo's luminance is kept at full size; the colours are predicted at the "
                    "model's size and scaled up (see trainer/photos.py).")
    add_run_options(colorize_parser)
    colorize_parser.add_argument("input", metavar="IN", help="an image, or a folder of images")
    colorize_parser.add_argument("--out", required=True,
                                 help="OUT.png for one image (or a folder to write IN's name into); a folder "
                                      "for a folder")
    colorize_parser.set_defaults(handler=colorize_command)

    synth_parser = commands.add_parser("synth", help="write a labelled synthetic data set")
    add_run_options(synth_parser)
    synth_parser.add_argument("--n", type=int, required=True, help="number of images, in equal shares per label")
    synth_parser.add_argument("--seed", type=int, default=0)
    synth_parser.add_argument("--out", required=True, help="DIR for class folders of PNGs, or FILE.npz")
    add_noise_scale_option(synth_parser)
    add_hardest_of_option(synth_parser)
    synth_parser.set_defaults(handler=synth)

    tstr_parser = commands.add_parser("tstr", help="train on synthetic, test on real (Sony thesis, Table 5.7)")
    add_run_options(tstr_parser)
    tstr_parser.add_argument("--sizes", default="30000,60000",
                             help="training set sizes; the real images come in equal shares per class, except at the "
                                  "training set's own size, which takes all of it (default: 30000,60000)")
    tstr_parser.add_argument("--epochs", type=int, default=5, help="LeNet epochs per training set (default: 5)")
    tstr_parser.add_argument("--seed", type=int, default=0)
    add_noise_scale_option(tstr_parser)
    add_hardest_of_option(tstr_parser)
    tstr_parser.set_defaults(handler=tstr)

    launch_parser = commands.add_parser(
        "launch", help="train on several local workers (--strategy multiworker)",
        description="Start N workers of `trainer train` on this machine, each with its TF_CONFIG (free ports of "
                    "127.0.0.1), and show the chief's progress; Ctrl-C stops them all, saved. Example: python -m "
                    "trainer launch --workers 2 -- train --model cdcgan --epochs 10. For several machines, see "
                    "docs/tools.md (one TF_CONFIG per host).")
    launch_parser.add_argument("--workers", type=int, default=2, help="how many workers (default: 2)")
    launch_parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="-- train ...",
                               help="the `trainer train` command every worker runs")
    launch_parser.set_defaults(handler=launch_command)

    data_parser = commands.add_parser("data", help="fetch or check the built-in data sets (mnist, fashion_mnist, "
                                                   "emoji)")
    data_parser.add_argument("action", choices=("fetch", "check"))
    data_parser.add_argument("--dataset", action="append", choices=BUILTIN_DATASETS,
                             help="only this data set (repeatable; default: all)")
    data_parser.add_argument("--data-dir", help="also look in this directory")
    data_parser.set_defaults(handler=data_command)
    return parser


def print_any_name() -> None:
    """File names that are not valid UTF-8 (common on disks written by other systems) reach
    Python as lone surrogates, which a strict UTF-8 terminal cannot encode: printing one would
    stop a training over a message. Such characters are printed escaped (\\udce9) instead."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv=None) -> int:
    print_any_name()
    args = build_parser().parse_args(argv)
    from trainer.data import DataError

    try:
        check_range("seed", getattr(args, "seed", None))  # every command's, as TrainConfig.check does train's
        return args.handler(args)
    except (UserError, DataError, RunError, ValueError, OSError) as error:  # OSError: a path that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before anything was written (training handles its own)
        print("stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
