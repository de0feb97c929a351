"""`ganvas eval`: a run's generator scored by trainer/metrics.py, and the report written beside it
as metrics.json (metrics_epoch_E.json for a kept checkpoint's epoch).

A run that draws from noise is judged by a kept classifier (`Evaluator`); a colorize run on the
test images (`ColourEvaluator`), beside the grey image's scores and, if asked, another colorize
run's on the same images (the L1-only baseline).
"""

from __future__ import annotations

import json
from pathlib import Path

from trainer.classifier import Classifier
from trainer.config import check_at_least
from trainer.judges import DEFAULT_ARCH, NAMES
from trainer.metrics import Evaluator, colour_summary, evaluator_for, summary
from trainer.models import is_image_conditioned
from trainer.rundir import CLASSIFIERS_DIR, RunDirectory, RunError, atomic_write, resolve_run
from trainer.sampling import load_generator_and_epoch


def evaluate_run(run_dir: str | Path, epoch: int | None = None, count: int = 10000, seed: int = 0, *,
                 classifiers_dir: str | Path = CLASSIFIERS_DIR, arch: str = DEFAULT_ARCH,
                 baseline_run: str | None = None, runs_dir: str = "runs") -> tuple[str, Path]:
    """Score the run's generator (of its kept checkpoint for `epoch`) on `count` samples or test
    images and write the report; what the terminal shows (a heading, then the table) and the
    report's path. `baseline_run`: a colorize run's name or path (in `runs_dir`), for colorize runs."""
    run = RunDirectory(run_dir)
    generator, config, loaded = load_generator_and_epoch(run_dir, epoch)
    if is_image_conditioned(config.model):
        metrics, table = score_colorizer(run, generator, config, loaded, count, seed, classifiers_dir, arch,
                                         baseline_run, runs_dir)
    else:
        if baseline_run:
            raise RunError(f"--baseline-run compares colorize runs; {config.run_name} is a {config.model} run")
        check_at_least(2 * len(config.label_names), n=count)  # a spread needs two samples of each label
        classifier = Classifier.for_run(config, classifiers_dir, arch)
        metrics = Evaluator(config, classifier, count, seed)(generator)
        metrics = dict(epoch=loaded or len(run.history()), classifier=str(classifier.directory), classifier_arch=arch, **metrics)
        table = summary(metrics)
    output = run.report_path("metrics", epoch)
    atomic_write(output, json.dumps(metrics, indent=2))
    judge = f", judged by the {NAMES[arch]} in {metrics['classifier']}" if metrics["classifier"] else ""
    return f"{config.model} on {config.dataset}, epoch {metrics['epoch']}{judge}:\n{table}", output


def score_colorizer(run: RunDirectory, generator, config, epoch: int | None, count: int, seed: int, classifiers_dir, arch: str,
                    baseline_run: str | None, runs_dir: str) -> tuple[dict, str]:
    """A colorize run's metrics (its scores on the test images beside the grey image's and, with
    `baseline_run`, that run's on the same images) and their table."""
    check_at_least(1, n=count)
    baseline = None
    if baseline_run:
        baseline = load_generator_and_epoch(resolve_run(baseline_run, runs_dir))
        other = baseline[1]
        if not is_image_conditioned(other.model):
            raise RunError(f"--baseline-run {baseline_run} is a {other.model} run, not a colorize one")
        if (other.dataset, other.image_shape) != (config.dataset, config.image_shape):
            raise RunError(f"--baseline-run {baseline_run} was trained on {other.dataset} at "
                           f"{other.image_shape}, this run on {config.dataset} at {config.image_shape}: "
                           f"a baseline must colour the same images")
    evaluator = evaluator_for(config, count, seed, classifiers_dir, arch)
    classifier = evaluator.classifier.directory if evaluator.classifier is not None else None
    metrics = dict(epoch=epoch or len(run.history()), classifier=classifier and str(classifier),
                   classifier_arch=classifier and arch, **evaluator(generator))
    metrics["baselines"] = {"grey image": evaluator.grey_baseline()}
    if baseline is not None:
        baseline_generator, other, baseline_epoch = baseline
        alone = " (L1 only)" if other.adversarial_weight == 0 else f" (adversarial weight {other.adversarial_weight:g})"
        metrics["baselines"][f"{other.run_name}{alone}"] = dict(run=other.run_name, epoch=baseline_epoch,
                                                                **evaluator.score_generator(baseline_generator))
    return metrics, colour_summary(metrics)
