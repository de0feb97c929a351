"""The benchmarks' own arithmetic and output, on tiny real runs (their figures are in docs/benchmarks.md)."""

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

from PIL import Image

from conftest import ROOT


def cgan_config():
    from trainer import data
    from trainer.config import TrainConfig
    from trainer.launch import validate_for
    from trainer.models import get_family

    dataset = data.load("mnist")
    config = TrainConfig(model="cgan").resolve(get_family("cgan").DEFAULTS)
    return validate_for(config, dataset, replicas=1), len(dataset.labels)


def test_the_matmul_floor_counts_the_mlp_epochs_products_and_times_them():
    from bench.train import dense_layers, flops, matmul_floor, mlp_step_products
    from trainer.models import build_discriminator

    config, images = cgan_config()
    iterations = images // (config.batch_size * config.d_steps)
    # The issue-2 closing note counted the SJTU cgan's MNIST epoch by hand: 126 GFLOP in its 21
    # products per iteration (the D step's G pass, two D passes with weight and input gradients,
    # then the G step's passes and gradients); reading the shapes off the models must agree.
    concatenated = mlp_step_products(dataclasses.replace(config, generator_layout=1, discriminator_layout=1))
    assert len(concatenated) == 21
    assert 126.5e9 <= flops(concatenated) * iterations < 126.6e9
    # Layout 2 splits each first layer in two (input, label): 8 more products, and the label's
    # input gradient, which nothing needs, is no longer counted.
    products = mlp_step_products(config)
    assert len(products) == 29
    # What the split saves, worked out from the shapes: in the G step, D's first layer no longer
    # multiplies its gradient (batch x units) back onto the label columns (classes x units).
    one_layer = build_discriminator(dataclasses.replace(config, discriminator_layout=1))
    (inputs, units, _) = dense_layers(one_layer)[0]
    assert inputs == 28 * 28 + 10  # the image and the one-hot label, side by side
    label_input_gradient = 2 * config.batch_size * units * 10 * config.g_steps
    assert flops(concatenated) - flops(products) == label_input_gradient
    seconds = matmul_floor(products[:3], iterations=5, jit_compile=False)
    assert math.isfinite(seconds) and seconds > 0


def judge_apart(classifiers, root):
    """A copy of the mnist LeNet whose features are scaled unevenly, one factor per feature: it
    reads images otherwise than the LeNet the run is scored with, so it scores them otherwise."""
    import keras

    from trainer.rundir import CLASSIFIER_MODEL_FILE, classifier_dir

    shutil.copytree(classifiers, root)
    path = classifier_dir("mnist", "lenet", root) / CLASSIFIER_MODEL_FILE
    model = keras.models.load_model(path, compile=False)
    kernel, bias = model.get_layer("features").get_weights()
    factors = np.random.default_rng(0).uniform(0.2, 5.0, size=bias.shape).astype(np.float32)
    model.get_layer("features").set_weights([kernel * factors, bias * factors])
    model.save(path)
    return root


def test_time_to_quality_writes_a_point_per_epoch_the_final_scores_and_a_picture(classifiers, tmp_path):
    judges = judge_apart(classifiers, tmp_path / "judges")
    command = [sys.executable, "-m", "bench.time_to_quality", "--datasets", "mnist", "--seeds", "0",
               "--samples", "300", "--classifiers-dir", str(classifiers), "--judges", str(judges),
               "--out", str(tmp_path), "--",
               "--model", "cgan", "--epochs", "2", "--limit-per-class", "30"]
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "time_to_quality-mnist.json").read_text())
    assert report["recipe"] == ["--model", "cgan", "--epochs", "2", "--limit-per-class", "30"]
    (run,) = report["runs"]
    assert [point["epoch"] for point in run["points"]] == [1, 2]
    # Training seconds only: the scoring after each epoch is left out, so they stay within the wall time.
    assert 0 < run["points"][0]["seconds"] < run["points"][1]["seconds"] <= run["wall_seconds"] + 0.05
    for point in run["points"]:
        assert math.isclose(point["frechet_ratio"], point["frechet_distance"] / run["frechet_floor"], rel_tol=1e-3)
        assert 0 <= point["label_accuracy"] <= 1
    assert set(run["final"]) >= {"label_accuracy", "frechet_ratio", "diversity", "mode_coverage"}
    # The judge is the LeNet given by --judges, not the one the run was scored with.
    assert set(run["judge"]) == set(run["final"]) and run["judge"]["frechet_ratio"] != run["final"]["frechet_ratio"]
    assert "final:" in result.stdout and "judge:" in result.stdout
    with Image.open(tmp_path / "time_to_quality-mnist.png") as picture:
        assert picture.size == (3 * 360, 290)


def test_time_to_quality_measures_the_recipes_the_main_job_and_the_shipped_models_train():
    from bench.time_to_quality import RECIPES

    def training(script, dataset):
        """The script's one `trainer train` line for this data set's recipe family (a data set may
        also train other families, as emoji trains a colorizer)."""
        model = RECIPES[dataset][RECIPES[dataset].index("--model") + 1]
        text = (ROOT / "scripts" / script).read_text().replace("\\\n", " ")  # join continued lines
        start = f"$ganvas train --dataset {dataset} --model {model} "
        (line,) = [line for line in text.splitlines() if line.startswith(start)]
        return " ".join(line.split())

    assert " ".join(RECIPES["mnist"]) in training("main.sh", "mnist")
    assert " ".join(RECIPES["fashion_mnist"]) in training("models.sh", "fashion_mnist")
    assert " ".join(RECIPES["emoji"]) in training("models.sh", "emoji")


def test_the_web_bench_draws_the_page_s_runs_beside_the_cli_s_curve(tmp_path):
    from bench.report import COLOURS
    from bench.web_train import kind_of, plot

    def run(background, accuracies):
        summary = {"model": "cdcgan-small", "backend": "wasm", "background": background}
        return {"summary": summary, "points": [{"seconds": 30.0 * (index + 1), "accuracy": value} for index, value in enumerate(accuracies)]}

    report = {"dataset": "mnist", "seconds": 300, "cpu": "a CPU", "cores": 2,
              "runs": [run(False, [0.6, 0.9, 0.97]), run(False, [0.7, 0.95]), run(True, [0.5, 0.99])]}
    cli = json.loads((ROOT / "docs" / "images" / "time_to_quality-mnist.json").read_text())
    plot(report, tmp_path / "curve.png", cli)
    assert [kind_of(result["summary"]) for result in report["runs"][1:]] == ["cdcgan-small on wasm", "cdcgan-small on wasm, background tab"]
    with Image.open(tmp_path / "curve.png") as picture:
        colours = {colour for _, colour in picture.convert("RGB").getcolors(1 << 20)}
    # One colour per kind of run (the two foreground runs share one), the CLI's runs grey.
    assert {COLOURS[0], COLOURS[1], (170, 170, 170)} <= colours and COLOURS[2] not in colours
