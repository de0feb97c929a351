"""`python -m export --run R [--epoch E] [--name NAME] [--quantize none|float16|uint8] [--classifier-arch
lenet|dfn]`: write the run's generator, and its data set's classifier, to web/models/NAME/ as TF.js
graph models."""

import argparse
import os
import sys

from trainer import start_tensorflow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # SavedModel's export warns of what the converter handles


def main(argv=None) -> int:
    from trainer.rundir import add_judge_options, add_run_options, resolve_run

    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    add_run_options(parser)
    parser.add_argument("--name", help="model name on the page (default: the run's name)")
    parser.add_argument("--quantize", choices=("none", "float16", "uint8"), default="uint8",
                        help="weight quantization (default: uint8, a quarter of the download)")
    parser.add_argument("--web-dir", default="web")
    add_judge_options(parser)  # the judge that ships with the generator, to give the page its verdicts
    args = parser.parse_args(argv)

    start_tensorflow()
    from export.tfjs import ExportError, export_run
    from trainer.rundir import RUN_NAME_PATTERN, RunError

    try:
        run_dir = resolve_run(args.run, args.runs_dir)
        name = args.name or run_dir.name
        # The name becomes a folder of web/models/, beside index.json and hidden staging folders, and a URL parameter.
        if not RUN_NAME_PATTERN.fullmatch(name) or name.startswith(".") or name.endswith(".json"):
            raise ExportError(f"model name {name!r} may use only letters, digits, '.', '_' and '-', "
                              f"and may not start with '.' or end with '.json'")
        target = export_run(run_dir, name, args.web_dir, args.epoch, args.quantize, args.classifiers_dir,
                            classifier_arch=args.classifier_arch)
    # As `python -m trainer` does: a run file that cannot be read (ValueError), a --web-dir that cannot be written.
    except (ExportError, RunError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"exported to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
