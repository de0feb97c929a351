"""The command line: `ganvas train|sample|colorize|data ...`, the same as `python -m trainer ...`
(pyproject.toml makes `ganvas` run `main` below).

A thin layer over the library: it turns arguments into a TrainConfig, reports problems in one
clear line, and sets the exit code. TensorFlow is imported only by commands that need it, so
`--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from trainer import choose_native_logs, start_tensorflow
from trainer.config import TrainConfig, check_range, choices
from trainer.data import BUILTIN_DATASETS
from trainer.launch import new_config
from trainer.models import describe_families
from trainer.judges import ARCHITECTURES, ARCHITECTURES_HELP, CLASSIFIER_STEPS, DEFAULT_ARCH, NAMES, parse_sizes
from trainer.rundir import CLASSIFIERS_DIR, RunError, add_judge_options, add_run_options, resolve_run

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
                        f"{command}; use `ganvas colorize --run {config.run_name} IMAGE --out OUT.png`")


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
    from trainer.models import is_conditional
    from trainer.sampling import check_samples_file, generate, latent_noise, load_generator, parse_label, write_samples

    require_at_least(args, 1, "n")
    check_samples_file(args.out)
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
    write_samples(images, args.out)
    which = f" of label {config.label_names[label]!r} (index {label})" if conditional else ""
    print(f"wrote {args.n} samples{which} to {args.out}")
    return 0


def classifier_train(args) -> int:
    start_tensorflow()
    import json

    from trainer.classifier import train_and_keep

    require_at_least(args, 1, "epochs", "batch_size", "limit_per_class", "image_size")
    info, directory = train_and_keep(
        args.dataset, args.arch, args.classifiers_dir, overwrite=args.overwrite, epochs=args.epochs,
        batch_size=args.batch_size, limit_per_class=args.limit_per_class, seed=args.seed, log=say,
        data_dir=args.data_dir, image_size=args.image_size, channels=args.channels)
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
    classifier = Classifier.for_run(config, args.classifiers_dir, args.classifier_arch)
    metrics = Evaluator(config, classifier, args.n, args.seed)(generator)
    epoch = epoch or len(run.history())
    metrics = dict(epoch=epoch, classifier=str(classifier.directory), classifier_arch=args.classifier_arch, **metrics)
    return write_report(run, args, config, metrics, summary(metrics))


def write_report(run, args, config, metrics: dict, table: str) -> int:
    """`eval`'s end: metrics.json (or metrics_epoch_E.json), and the table on the terminal."""
    import json

    from trainer.rundir import atomic_write

    output = run.report_path("metrics", args.epoch)
    atomic_write(output, json.dumps(metrics, indent=2))
    judge = f", judged by the {NAMES[args.classifier_arch]} in {metrics['classifier']}" if metrics["classifier"] else ""
    print(f"{config.model} on {config.dataset}, epoch {metrics['epoch']}{judge}:")
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
    evaluator = evaluator_for(config, args.n, args.seed, args.classifiers_dir, args.classifier_arch)
    epoch = epoch or len(run.history())
    classifier = evaluator.classifier.directory if evaluator.classifier is not None else None
    metrics = dict(epoch=epoch, classifier=classifier and str(classifier),
                   classifier_arch=classifier and args.classifier_arch, **evaluator(generator))
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

    sizes = parse_sizes(args.sizes)
    require_at_least(args, 1, "epochs")
    path = resolve_run(args.run, args.runs_dir)
    generator, config, discriminator, epoch = load_for_drawing(path, args)
    if min(sizes) < len(config.label_names):
        raise UserError(f"--sizes must be at least {len(config.label_names)}: one image of each label")
    table = train_on_synthetic_test_on_real(generator, config, sizes, args.epochs, args.seed, args.noise_scale,
                                            args.hardest_of, discriminator, arch=args.classifier_arch)
    table = dict(epoch=epoch, **table)
    output = RunDirectory(path).report_path("tstr", args.epoch)
    atomic_write(output, json.dumps(table, indent=2))
    print(f"{'training set':32s} {'images':>8s} {'real test accuracy':>19s}  ({NAMES[args.classifier_arch]}s)")
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
        print("fix with: ganvas data fetch", file=sys.stderr)
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
    parser = argparse.ArgumentParser(prog="ganvas", description="Train conditional GANs.")
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
    classifier_train_parser.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHITECTURES, help=ARCHITECTURES_HELP)
    classifier_train_parser.add_argument("--epochs", type=int,
                                         help="the learning rate decays over all of them (default: 20, or as many as "
                                              f"make {CLASSIFIER_STEPS:,} steps on a smaller data set)")
    classifier_train_parser.add_argument("--batch-size", type=int, default=128)
    classifier_train_parser.add_argument("--limit-per-class", type=int)
    classifier_train_parser.add_argument("--image-size", type=int)
    classifier_train_parser.add_argument("--channels", type=int, choices=(1, 3))
    classifier_train_parser.add_argument("--seed", type=int, default=0)
    classifier_train_parser.add_argument("--data-dir")
    classifier_train_parser.add_argument("--classifiers-dir", default=CLASSIFIERS_DIR)
    classifier_train_parser.add_argument("--overwrite", action="store_true", help="replace the classifier kept there")
    classifier_train_parser.set_defaults(handler=classifier_train)

    eval_parser = commands.add_parser("eval", help="score a run's generator with the classifier")
    add_run_options(eval_parser)
    eval_parser.add_argument("--n", type=int, default=10000, help="samples to score (default: 10000)")
    eval_parser.add_argument("--seed", type=int, default=0)
    add_judge_options(eval_parser)
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
    tstr_parser.add_argument("--epochs", type=int, default=5, help="classifier epochs per training set (default: 5)")
    tstr_parser.add_argument("--classifier-arch", choices=ARCHITECTURES, default=DEFAULT_ARCH,
                             help=f"the classifiers trained on each set: {ARCHITECTURES_HELP} (default: {DEFAULT_ARCH})")
    tstr_parser.add_argument("--seed", type=int, default=0)
    add_noise_scale_option(tstr_parser)
    add_hardest_of_option(tstr_parser)
    tstr_parser.set_defaults(handler=tstr)

    launch_parser = commands.add_parser(
        "launch", help="train on several local workers (--strategy multiworker)",
        description="Start N workers of `ganvas train` on this machine, each with its TF_CONFIG (free ports of "
                    "127.0.0.1), and show the chief's progress; Ctrl-C stops them all, saved. Example: ganvas "
                    "launch --workers 2 -- train --model cdcgan --epochs 10. For several machines, see "
                    "docs/tools.md (one TF_CONFIG per host).")
    launch_parser.add_argument("--workers", type=int, default=2, help="how many workers (default: 2)")
    launch_parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="-- train ...",
                               help="the `ganvas train` command every worker runs")
    launch_parser.set_defaults(handler=launch_command)

    data_parser = commands.add_parser("data", help="fetch or check the built-in data sets (mnist, fashion_mnist, "
                                                   "emoji)")
    data_parser.add_argument("action", choices=("fetch", "check"))
    data_parser.add_argument("--dataset", action="append", choices=BUILTIN_DATASETS,
                             help="only this data set (repeatable; default: all)")
    data_parser.add_argument("--data-dir", help="also look in this directory")
    data_parser.set_defaults(handler=data_command)
    add_verbose_option(parser)
    return parser


def add_verbose_option(parser: argparse.ArgumentParser, default=False) -> None:
    """`--verbose` on the command line and on every command under it, so that it may come before
    or after the command's name. Under a command it has no default, which would undo a
    `--verbose` given before the command."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's C++ log lines, which are hidden otherwise")
    for action in parser._actions:  # argparse offers no public way to reach the commands' parsers
        if isinstance(action, argparse._SubParsersAction):
            for command_parser in set(action.choices.values()):
                add_verbose_option(command_parser, default=argparse.SUPPRESS)


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
    choose_native_logs(args.verbose)  # before a command starts TensorFlow, which reads it once
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
