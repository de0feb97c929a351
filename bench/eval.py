"""Scoring speed: how long `trainer eval` takes to score a run's generator.

    python -m bench.eval --run RUN [--n 10000]

Prints the one-time set-up (real test features and the floor) apart from the scoring itself:
generating the samples, classifying them and computing every metric. Target: scoring 10,000
samples in at most 5 s on two CPU cores.
"""

import argparse
import time

import trainer  # before TensorFlow, which the imports below load

trainer.start_tensorflow()  # its start-up lines held back, its C++ log lines hidden (TF_CPP_MIN_LOG_LEVEL=0 shows them)

from trainer.rundir import add_judge_options, resolve_run  # noqa: E402
from trainer.classifier import Classifier  # noqa: E402
from trainer.metrics import Evaluator  # noqa: E402
from trainer.sampling import load_generator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n", type=int, default=10000)
    add_judge_options(parser)
    args = parser.parse_args()
    generator, config = load_generator(resolve_run(args.run, args.runs_dir))
    began = time.perf_counter()
    evaluator = Evaluator(config, Classifier.for_run(config, args.classifiers_dir, args.classifier_arch), args.n)
    set_up = time.perf_counter() - began
    evaluator(generator)  # warm-up: traces the generator and the classifier for these batch sizes
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        evaluator(generator)
        timings.append(time.perf_counter() - began)
    print(f"{config.model} on {config.dataset}: set-up {set_up:.2f} s once; scoring {args.n} samples "
          f"{min(timings):.2f} s (best of 3; all {', '.join(f'{t:.2f}' for t in timings)})")


if __name__ == "__main__":
    main()
