"""The command line: `ganvas train|sample|colorize|data ...`, the same as `python -m trainer ...`
(pyproject.toml makes `ganvas` run `main` below).

A thin layer over the library: each command has its options and a handler that parses them, calls
the module the command's work lives in (trainer/launch.py for train, sampling.py for sample,
classifier.py, evaluate.py for eval, photos.py for colorize, synthetic.py for synth and tstr,
workers.py for launch, data.py), and prints what it returns. Problems are reported in one clear
line (`main`), with the exit code. TensorFlow is imported only by commands that need it, so
`--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import math
import sys

from trainer import choose_native_logs, start_tensorflow
from trainer.config import TrainConfig, check_at_least, check_range, choices
from trainer.data import BUILTIN_DATASETS
from trainer.judges import ARCHITECTURES, ARCHITECTURES_HELP, CLASSIFIER_STEPS, DEFAULT_ARCH, parse_sizes
from trainer.launch import new_config
from trainer.models import describe_families
from trainer.rundir import CLASSIFIERS_DIR, RunError, add_judge_options, add_run_options, resolve_run


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


# ---- the commands: each one's options, then its handler (arguments in, the module's work, a report out)

def add_train_command(commands) -> None:
    parser = commands.add_parser(
        "train", help="train a GAN into runs/<name>/",
        description="Train a GAN. Model families:\n" + describe_families(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_options(parser)
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    start.add_argument("--overwrite", action="store_true", help="delete the run and start again")
    parser.set_defaults(handler=train)


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


def add_sample_command(commands) -> None:
    parser = commands.add_parser("sample", help="draw samples from a trained run")
    add_run_options(parser)
    parser.add_argument("--label", help="label index or name (conditional models)")
    parser.add_argument("--n", type=int, default=100, help="number of samples (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument("--out", required=True, help="FILE.png for a grid, FILE.npy for (N, H, W, C) in [0, 1]")
    add_noise_scale_option(parser)
    parser.set_defaults(handler=sample)


def sample(args) -> int:
    start_tensorflow()
    from trainer.sampling import check_samples_file, draw_samples, write_samples

    check_at_least(1, n=args.n)
    check_samples_file(args.out)
    images, config, label = draw_samples(resolve_run(args.run, args.runs_dir), args.epoch, args.label, args.n,
                                         args.seed, args.noise_scale)
    write_samples(images, args.out)
    which = f" of label {config.label_names[label]!r} (index {label})" if label is not None else ""
    print(f"wrote {args.n} samples{which} to {args.out}")
    return 0


def add_classifier_command(commands) -> None:
    parser = commands.add_parser("classifier", help="train the classifier that scores generators")
    actions = parser.add_subparsers(dest="action", required=True)
    train_parser = actions.add_parser("train", help="train and keep a classifier")
    train_parser.add_argument("--dataset", default="mnist", help="mnist, fashion_mnist, emoji or folder:PATH")
    train_parser.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHITECTURES, help=ARCHITECTURES_HELP)
    train_parser.add_argument("--epochs", type=int,
                              help="the learning rate decays over all of them (default: 20, or as many as "
                                   f"make {CLASSIFIER_STEPS:,} steps on a smaller data set)")
    train_parser.add_argument("--batch-size", type=int, default=128)
    train_parser.add_argument("--limit-per-class", type=int)
    train_parser.add_argument("--image-size", type=int)
    train_parser.add_argument("--channels", type=int, choices=(1, 3))
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--data-dir")
    train_parser.add_argument("--classifiers-dir", default=CLASSIFIERS_DIR)
    train_parser.add_argument("--overwrite", action="store_true", help="replace the classifier kept there")
    train_parser.set_defaults(handler=classifier_train)


def classifier_train(args) -> int:
    start_tensorflow()
    import json

    from trainer.classifier import train_and_keep

    check_at_least(1, epochs=args.epochs, batch_size=args.batch_size, limit_per_class=args.limit_per_class,
                   image_size=args.image_size)
    info, directory = train_and_keep(
        args.dataset, args.arch, args.classifiers_dir, overwrite=args.overwrite, epochs=args.epochs,
        batch_size=args.batch_size, limit_per_class=args.limit_per_class, seed=args.seed, log=say,
        data_dir=args.data_dir, image_size=args.image_size, channels=args.channels)
    print(f"test accuracy {info['test_accuracy']:.2%}; saved in {directory}")
    print(json.dumps({key: info[key] for key in ("dataset", "arch", "test_accuracy")}))
    return 0


def add_eval_command(commands) -> None:
    parser = commands.add_parser("eval", help="score a run's generator with the classifier")
    add_run_options(parser)
    parser.add_argument("--n", type=int, default=10000, help="samples to score (default: 10000)")
    parser.add_argument("--seed", type=int, default=0)
    add_judge_options(parser)
    parser.add_argument("--baseline-run", help="colorize: another colorize run (the L1-only baseline, trained "
                                               "with --adversarial-weight 0) scored on the same test images")
    parser.set_defaults(handler=evaluate)


def evaluate(args) -> int:
    start_tensorflow()
    from trainer.evaluate import evaluate_run

    report, output = evaluate_run(
        resolve_run(args.run, args.runs_dir), args.epoch, args.n, args.seed, classifiers_dir=args.classifiers_dir,
        arch=args.classifier_arch, baseline_run=args.baseline_run, runs_dir=args.runs_dir)
    print(report)
    print(f"wrote {output}")
    return 0


def add_colorize_command(commands) -> None:
    parser = commands.add_parser(
        "colorize", help="colour grey photos with a colorize run",
        description="Colour a photo, or every image in a folder, with a run of --model colorize, writing PNGs of "
                    "the same size. The photo's luminance is kept at full size; the colours are predicted at the "
                    "model's size and scaled up (see trainer/photos.py).")
    add_run_options(parser)
    parser.add_argument("input", metavar="IN", help="an image, or a folder of images")
    parser.add_argument("--out", required=True,
                        help="OUT.png for one image (or a folder to write IN's name into); a folder for a folder")
    parser.set_defaults(handler=colorize_command)


def colorize_command(args) -> int:
    start_tensorflow()
    from trainer.photos import colorize_with_run

    written, planned = colorize_with_run(args.run, args.runs_dir, args.epoch, args.input, args.out, log=say)
    if written < planned:
        print(f"colorized {written} of {planned} files into {args.out}")
    return 0


def add_synth_command(commands) -> None:
    parser = commands.add_parser("synth", help="write a labelled synthetic data set")
    add_run_options(parser)
    parser.add_argument("--n", type=int, required=True, help="number of images, in equal shares per label")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="DIR for class folders of PNGs, or FILE.npz")
    add_noise_scale_option(parser)
    add_hardest_of_option(parser)
    parser.set_defaults(handler=synth)


def synth(args) -> int:
    start_tensorflow()
    from trainer.synthetic import check_destination, write_synthetic

    check_at_least(1, n=args.n)
    check_destination(args.out)  # before drawing, which can take minutes
    write_synthetic(resolve_run(args.run, args.runs_dir), args.out, args.n, args.epoch, args.seed, args.noise_scale,
                    args.hardest_of, log=say)
    print(f"wrote {args.n} labelled samples to {args.out}")
    return 0


def add_tstr_command(commands) -> None:
    parser = commands.add_parser("tstr", help="train on synthetic, test on real (Sony thesis, Table 5.7)")
    add_run_options(parser)
    parser.add_argument("--sizes", default="30000,60000",
                        help="training set sizes; the real images come in equal shares per class, except at the "
                             "training set's own size, which takes all of it (default: 30000,60000)")
    parser.add_argument("--epochs", type=int, default=5, help="classifier epochs per training set (default: 5)")
    parser.add_argument("--classifier-arch", choices=ARCHITECTURES, default=DEFAULT_ARCH,
                        help=f"the classifiers trained on each set: {ARCHITECTURES_HELP} (default: {DEFAULT_ARCH})")
    parser.add_argument("--seed", type=int, default=0)
    add_noise_scale_option(parser)
    add_hardest_of_option(parser)
    parser.set_defaults(handler=tstr)


def tstr(args) -> int:
    start_tensorflow()
    from trainer.synthetic import tstr_report, tstr_summary

    sizes = parse_sizes(args.sizes)
    check_at_least(1, epochs=args.epochs)
    table, output = tstr_report(resolve_run(args.run, args.runs_dir), sizes, args.epochs, args.epoch, args.seed,
                                args.noise_scale, args.hardest_of, arch=args.classifier_arch)
    print(tstr_summary(table))
    print(f"wrote {output}")
    return 0


def add_launch_command(commands) -> None:
    parser = commands.add_parser(
        "launch", help="train on several local workers (--strategy multiworker)",
        description="Start N workers of `ganvas train` on this machine, each with its TF_CONFIG (free ports of "
                    "127.0.0.1), and show the chief's progress; Ctrl-C stops them all, saved. Example: ganvas "
                    "launch --workers 2 -- train --model cdcgan --epochs 10. For several machines, see "
                    "docs/tools.md (one TF_CONFIG per host).")
    parser.add_argument("--workers", type=int, default=2, help="how many workers (default: 2)")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="-- train ...",
                        help="the `ganvas train` command every worker runs")
    parser.set_defaults(handler=launch_command)


def launch_command(args) -> int:
    from trainer.workers import launch

    return launch(args.workers, args.arguments)


def add_data_command(commands) -> None:
    parser = commands.add_parser("data", help="fetch or check the built-in data sets (mnist, fashion_mnist, emoji)")
    parser.add_argument("action", choices=("fetch", "check"))
    parser.add_argument("--dataset", action="append", choices=BUILTIN_DATASETS,
                        help="only this data set (repeatable; default: all)")
    parser.add_argument("--data-dir", help="also look in this directory")
    parser.set_defaults(handler=data_command)


def data_command(args) -> int:
    from trainer import data

    datasets = args.dataset or data.BUILTIN_DATASETS
    if args.action == "fetch":
        data.fetch(datasets, data_dir=args.data_dir)
        return 0
    report = data.check(datasets, data_dir=args.data_dir)
    for entry in report:
        print(data.check_line(entry))
    if all(entry["ok"] for entry in report):
        return 0
    print("fix with: ganvas data fetch", file=sys.stderr)
    return 1


# ---- options that several commands share

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


COMMANDS = (add_train_command, add_sample_command, add_classifier_command, add_eval_command, add_colorize_command,
            add_synth_command, add_tstr_command, add_launch_command, add_data_command)  # in `--help`'s order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganvas", description="Train conditional GANs.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(commands)
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
    except (DataError, RunError, ValueError, OSError) as error:  # OSError: a path that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before anything was written (training handles its own)
        print("stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
