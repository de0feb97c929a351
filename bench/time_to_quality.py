"""How good the generator is after how many seconds: the three-minute recipes, scored every epoch.

    python -m bench.time_to_quality [--datasets mnist,fashion_mnist,emoji] [--seeds 0] [--samples 10000]
                                    [--judges DIR] [--eval-every K] [--out bench/results] [-- TRAIN OPTIONS]

For each data set and seed it trains its three-minute recipe (RECIPES; or the `trainer train`
options after `--`) with the classifier's verdict after every epoch, and writes what it saw
against wall-clock training seconds (the scoring itself not counted) to
OUT/time_to_quality-<dataset>.json, and as a picture, OUT/time_to_quality-<dataset>.png: label
accuracy, Fréchet distance over its floor (real training images against real test images) and
diversity. Needs the classifiers the main job trains (`python -m trainer classifier train`).
The recipes' discriminators read those classifiers (--classifier-features), so `--judges DIR`
scores each final generator again with classifiers trained apart, which none of them read.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import trainer  # noqa: E402  (before TensorFlow: its CPU settings)

trainer.start_tensorflow()  # its start-up lines held back, its C++ log lines hidden (TF_CPP_MIN_LOG_LEVEL=0 shows them)

from PIL import Image, ImageDraw  # noqa: E402

from bench.report import COLOURS, GREY, cpu_name, draw_panel  # noqa: E402
from trainer.__main__ import build_parser, given_options  # noqa: E402
from trainer.classifier import Classifier  # noqa: E402
from trainer.launch import prepare, run  # noqa: E402
from trainer.metrics import Evaluator  # noqa: E402
from trainer.rundir import CLASSIFIERS_DIR, RunDirectory  # noqa: E402
from trainer.sampling import load_generator  # noqa: E402

# The three-minute recipes the targets are set for: the main job's (scripts/main.sh) and the
# shipped Fashion-MNIST model's (scripts/models.sh), where clothes want a lower learning rate that
# falls to zero over the last epoch (ending the run cool lets the generator settle), half-weight
# mode seeking for their variety and batch norms whose scales each class picks; both take 16 noise
# dimensions rather than 64 and no momentum in Adam's first moment, and in both the discriminator
# reads the data set's LeNet (docs/recipes.md, "The three-minute recipes").
MAIN_JOB = ["--model", "cdcgan", "--epochs", "3", "--average-decay", "0.99", "--lr", "0.0016", "--beta1", "0",
            "--latent-dim", "16", "--classifier-features"]
FASHION = ["--model", "cdcgan", "--epochs", "3", "--average-decay", "0.99", "--lr", "0.0011", "--lr-decay-epochs", "1",
           "--beta1", "0", "--latent-dim", "16", "--mode-seeking-weight", "0.5", "--class-batch-norm",
           "--classifier-features"]
# Emoji (scripts/models.sh's shipped colour model): its 3,000 images take about 4 s an epoch, so
# a hundred epochs fit ten minutes; the discriminator sees them augmented (--augment), or it learns
# them by heart and the generator drops modes, and a lighter class loss with some mode seeking keeps
# the smileys from all becoming one yellow face (docs/recipes.md, "Emoji in ten minutes").
EMOJI = ["--model", "cdcgan", "--epochs", "100", "--average-decay", "0.99", "--lr", "0.0016", "--beta1", "0",
         "--latent-dim", "16", "--classifier-features", "--augment", "color,translation,cutout",
         "--class-loss-weight", "0.3", "--mode-seeking-weight", "0.25"]
RECIPES = {"mnist": MAIN_JOB, "fashion_mnist": FASHION, "emoji": EMOJI}
# Emoji's label-accuracy mark is the judge's own accuracy on real test images (REAL_ACCURACY):
# samples as recognisable as real ones. Its epochs last seconds, so it is scored every tenth.
REAL_ACCURACY = "real"
TARGETS = {"mnist": dict(label_accuracy=0.995, frechet_ratio=3.0, diversity=0.9),
           "fashion_mnist": dict(label_accuracy=0.93, frechet_ratio=5.0, diversity=0.9),
           "emoji": dict(label_accuracy=REAL_ACCURACY, frechet_ratio=5.0, diversity=0.9)}
EVAL_EVERY = {"emoji": 10}
SERIES = (("label_accuracy", "label accuracy (target dashed)"), ("frechet_ratio", "Frechet distance / its floor"),
          ("diversity", "diversity"))


def scores_of(metrics: dict, floor: float) -> dict:
    return dict(label_accuracy=metrics.get("label_accuracy"), frechet_ratio=round(metrics["frechet_distance"] / floor, 3),
                diversity=round(metrics["diversity_mean"], 4), lowest_diversity=round(min(metrics["diversity"].values()), 4),
                mode_coverage=metrics["mode_coverage"],
                lowest_class_accuracy=min(metrics.get("per_class_accuracy", {}).values(), default=None))


def one_run(dataset: str, seed: int, train_options: list[str], samples: int, classifiers: str,
            judges: str | None = None, eval_every: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as runs:
        argv = ["train", "--dataset", dataset, "--seed", str(seed), *train_options, "--eval-every", str(eval_every),
                "--eval-samples", str(samples), "--classifiers-dir", classifiers, "--runs-dir", runs,
                "--run-name", "bench"]
        plan = prepare(given_options(build_parser().parse_args(argv)))
        began = time.perf_counter()
        run(plan, log=lambda line: print(f"  {line}", flush=True))
        wall = time.perf_counter() - began
        history = RunDirectory(plan.run.path).history()
        # The finished generator scored as `trainer eval` scores it: the table's figures, with
        # coverage and the weakest class, which the per-epoch records leave out.
        generator = load_generator(plan.run.path)[0]
        scores = plan.evaluator(generator)
        if judges:  # a second LeNet, which no discriminator has read: see --judges
            judge = Evaluator(plan.config, Classifier.for_run(plan.config, judges), samples, seed)
            judged = scores_of(judge(generator), judge.floor)
    floor, seconds, points = plan.evaluator.floor, 0.0, []
    for record in history:
        seconds += record["seconds"]
        if "frechet_distance" not in record:  # an epoch between scores
            continue
        points.append(dict(epoch=record["epoch"], seconds=round(seconds, 2),
                           label_accuracy=record.get("label_accuracy"), frechet_distance=record["frechet_distance"],
                           frechet_ratio=round(record["frechet_distance"] / floor, 3), diversity=record["diversity"]))
    result = dict(seed=seed, frechet_floor=round(floor, 4), wall_seconds=round(wall, 1), points=points,
                  training_seconds=round(seconds, 1), final=scores_of(scores, floor),
                  real_label_accuracy=round(max(plan.evaluator.real_accuracy.values()), 4))
    if judges:
        result["judge"] = judged
    return result


def resolved_targets(targets: dict, result: dict) -> dict:
    """The targets with the judge's own accuracy on real images (the larger of plain and balanced)
    where the label-accuracy mark is REAL_ACCURACY."""
    if targets["label_accuracy"] != REAL_ACCURACY:
        return targets
    return dict(targets, label_accuracy=result["real_label_accuracy"])


def first_time_meeting(points: list[dict], target: dict) -> float | None:
    for point in points:
        if ((point["label_accuracy"] or 0) >= target["label_accuracy"] and point["frechet_ratio"] <= target["frechet_ratio"]
                and point["diversity"] >= target["diversity"]):
            return point["seconds"]
    return None


def plot(report: dict, path: Path) -> None:
    """Three panels side by side, one line per seed, the target dashed; plain Pillow."""
    width, height, margin = 360, 260, 52
    picture = Image.new("RGB", (width * len(SERIES), height + 30), "white")
    draw = ImageDraw.Draw(picture)
    runs = report["runs"]
    longest = max(point["seconds"] for result in runs for point in result["points"]) or 1.0
    # Two header lines, so that a long recipe cannot run into the legend.
    draw.text((10, 4), f"{report['dataset']}: {' '.join(report['recipe'])}", fill="black")
    draw.text((10, 17), f"{report['cpu']}, {report['cores']} cores", fill=GREY)
    for index, result in enumerate(runs):  # the legend, right
        draw.text((width * len(SERIES) - 70 * (len(runs) - index), 17), f"seed {result['seed']}",
                  fill=COLOURS[index % len(COLOURS)])
    for panel, (key, title) in enumerate(SERIES):
        lines = [(COLOURS[index % len(COLOURS)], [(point["seconds"], point[key]) for point in result["points"]])
                 for index, result in enumerate(runs)]
        box = (panel * width + margin, 30 + 16, (panel + 1) * width - 16, height - 8)
        draw_panel(draw, box, title, lines, runs[0]["targets"][key], longest)
    picture.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="mnist,fashion_mnist")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, one run each")
    parser.add_argument("--samples", type=int, default=10000, help="samples scored at each point")
    parser.add_argument("--classifiers-dir", default=CLASSIFIERS_DIR)
    parser.add_argument("--judges", metavar="DIR",
                        help="also score each final generator with the classifiers in DIR, trained apart (e.g. "
                             "`trainer classifier train --seed 1 --classifiers-dir DIR`): a recipe whose "
                             "discriminator reads the LeNet (--classifier-features) is judged by one it never read")
    parser.add_argument("--eval-every", type=int, help="score every K epochs (default: 1; emoji 10)")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("train_options", nargs=argparse.REMAINDER, help="after --: trainer train options")
    args = parser.parse_args()
    given = [option for option in args.train_options if option != "--"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets.split(","):
        recipe = given or RECIPES.get(dataset, MAIN_JOB)
        report = dict(dataset=dataset, recipe=recipe, cpu=cpu_name(), cores=os.cpu_count(),
                      targets=TARGETS.get(dataset, TARGETS["fashion_mnist"]), runs=[])
        for seed in map(int, args.seeds.split(",")):
            print(f"{dataset}, seed {seed}: {' '.join(recipe)}", flush=True)
            result = one_run(dataset, seed, recipe, args.samples, args.classifiers_dir, args.judges,
                             args.eval_every or EVAL_EVERY.get(dataset, 1))
            result["targets"] = resolved_targets(report["targets"], result)
            result["meets_targets_after_seconds"] = first_time_meeting(result["points"], result["targets"])
            report["runs"].append(result)
            for point in result["points"]:
                print(f"  {point['seconds']:7.1f} s  epoch {point['epoch']:3d}  label accuracy "
                      f"{point['label_accuracy']:.4f}  Fréchet {point['frechet_distance']:.3f} "
                      f"({point['frechet_ratio']:.2f}x floor)  diversity {point['diversity']:.3f}", flush=True)
            print(f"  final: {json.dumps(result['final'])}", flush=True)
            if "judge" in result:
                print(f"  judge: {json.dumps(result['judge'])}", flush=True)
        (out / f"time_to_quality-{dataset}.json").write_text(json.dumps(report, indent=2))
        plot(report, out / f"time_to_quality-{dataset}.png")
        print(f"wrote {out / f'time_to_quality-{dataset}.json'} and .png")


if __name__ == "__main__":
    main()
