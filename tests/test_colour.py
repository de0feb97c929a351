"""Colour data end to end: an unbalanced folder and the emoji set train conditionally in colour,
with labels drawn evenly; a judge trains on them; eval scores, export ships and the page draws
the run with its label names."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from browser import browser, serve
from conftest import ROOT, draw_shapes_folder, run_cli, train
from trainer import data
from trainer.steps import balanced_draw, class_index

pytestmark = pytest.mark.slow  # a colour classifier and run trained first

# Unbalanced on purpose: the largest class has four times the smallest's images.
PER_CLASS = {"circle": 48, "square": 24, "triangle": 12}


def unbalanced_shapes(root):
    """root/train/<shape>/ with PER_CLASS images and root/test/<shape>/ with 6 each, in colour."""
    for split, counts in (("train", PER_CLASS), ("test", dict.fromkeys(PER_CLASS, 6))):
        draw_shapes_folder(root / split, per_class=max(counts.values()), size=36)
        for label, count in counts.items():
            for extra in sorted((root / split / label).iterdir())[count:]:
                extra.unlink()
    return root


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("colour")
    dataset = f"folder:{unbalanced_shapes(root / 'shapes')}"
    classifiers = root / "classifiers"
    result = run_cli("classifier", "train", "--dataset", dataset, "--image-size", "32", "--epochs", "3",
                     "--classifiers-dir", classifiers)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_cli("train", "--dataset", dataset, "--model", "cdcgan", "--image-size", "32", "--batch-size", "16",
                     "--epochs", "1", "--classifiers-dir", classifiers, "--runs-dir", root / "runs",
                     "--run-name", "shapes")
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(root=root, dataset=dataset, classifiers=classifiers, run=root / "runs" / "shapes",
                output=result.stdout)


def test_balanced_draw_gives_every_label_an_even_share_of_its_own_images():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10, np.int32)
    members, starts, sizes = class_index(labels, 3)
    drawn = tf.random.stateless_uniform([30000], seed=(0, 1), maxval=3, dtype=tf.int32)
    keys = tf.random.stateless_uniform([30000], seed=(0, 2))
    indices = balanced_draw(drawn, keys, members, starts, sizes).numpy()
    np.testing.assert_array_equal(labels[indices], drawn.numpy())  # each draw is an image of its label
    shares = np.bincount(labels[indices], minlength=3) / len(indices)
    assert np.abs(shares - 1 / 3).max() < 0.02
    assert len(np.unique(indices[labels[indices] == 2])) == 10  # the small class's every image is used


def test_an_unbalanced_colour_folder_trains_balanced_in_colour(colour_run):
    assert "classes balanced (circle 48 ... triangle 12 images)" in colour_run["output"]
    config = json.loads((colour_run["run"] / "config.json").read_text())
    assert config["balance_classes"] is True and config["image_shape"] == [32, 32, 3]
    assert config["label_names"] == list(PER_CLASS)
    with Image.open(colour_run["run"] / "samples" / "epoch_0001.png") as grid:
        pixels = np.asarray(grid.convert("RGB"), np.int16)
    assert grid.mode == "RGB" and np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 1


def test_natural_frequencies_when_asked_and_for_a_balanced_set(tmp_path):
    folder = f"folder:{unbalanced_shapes(tmp_path / 'shapes')}"
    natural = train(tmp_path / "runs", "--dataset", folder, "--image-size", "16", "--batch-size", "16", "--epochs", "1",
                    "--no-balance-classes", run_name="natural")
    assert json.loads((natural / "config.json").read_text())["balance_classes"] is False
    even = train(tmp_path / "runs", "--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50",
                 "--epochs", "1", run_name="even")
    assert json.loads((even / "config.json").read_text())["balance_classes"] is False


@pytest.fixture(scope="module")
def colour_site(colour_run, tmp_path_factory):
    """A copy of web/ with the colour run exported into it (uint8 weights, with its judge): one
    export for the tests that check what it ships and how the page draws it."""
    import shutil

    from export.__main__ import main as export

    site = tmp_path_factory.mktemp("colour-site") / "web"
    shutil.copytree(ROOT / "web", site, ignore=shutil.ignore_patterns("node_modules", "models", "data"))
    assert export(["--run", str(colour_run["run"]), "--name", "shapes", "--quantize", "uint8", "--web-dir", str(site),
                   "--classifiers-dir", str(colour_run["classifiers"])]) == 0
    return site


def test_eval_of_the_colour_run_reports_the_judge_s_own_accuracy_and_export_ships_it(colour_run, colour_site):
    result = run_cli("eval", "--run", colour_run["run"], "--classifiers-dir", colour_run["classifiers"], "--n", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((colour_run["run"] / "metrics.json").read_text())
    assert set(metrics["per_class_accuracy"]) == set(PER_CLASS)
    assert 0 <= metrics["real_balanced_accuracy"] <= 1 and metrics["frechet_distance_floor"] > 0
    assert "the classifier's own accuracy on real test images" in result.stdout
    manifest = json.loads((colour_site / "models" / "shapes" / "manifest.json").read_text())
    assert manifest["label_names"] == list(PER_CLASS) and manifest["image_shape"] == [32, 32, 3]
    assert (colour_site / "models" / "shapes" / "classifier" / "model.json").exists()


def test_the_page_draws_the_colour_run_with_its_label_names(colour_site):
    with browser() as chromium, serve(colour_site) as url:
        page = chromium.new_page()
        page.goto(f"{url}/?model=shapes&label=2")
        page.wait_for_function("window.ganvas && window.ganvas.started && !window.ganvas.busy", timeout=60000)
        assert page.evaluate("window.ganvas.error") is None
        buttons = page.evaluate("Array.from(document.querySelectorAll('#labels button'), (b) => b.textContent)")
        assert [text.strip() for text in buttons] == list(PER_CLASS)
        images = np.array(page.evaluate("Array.from(window.ganvas.lastSamples)"), np.float32).reshape(-1, 32, 32, 3)
        assert np.abs(images[..., 0] - images[..., 2]).mean() > 0.005  # colour, not grey


@pytest.mark.parametrize("model, size", [("cdcgan", 32), ("cdcgan", 64), ("cdcgan-sony", 32)])
def test_one_epoch_on_emoji_in_colour_with_its_group_names(tmp_path, model, size):
    run = train(tmp_path / "runs", "--dataset", "emoji", "--model", model, "--image-size", str(size),
                "--limit-per-class", "8", "--batch-size", "16", "--epochs", "1", run_name="emoji")
    config = json.loads((run / "config.json").read_text())
    assert config["image_shape"] == [size, size, 3] and config["label_names"] == list(data.LABEL_NAMES["emoji"])
    # A subset of 8 per class is balanced already: nothing to even out.
    assert config["balance_classes"] is False
    with Image.open(run / "samples" / "epoch_0001.png") as grid:
        assert grid.mode == "RGB" and grid.height >= 9 * size


def test_a_classifier_per_image_size(tmp_path):
    from trainer.rundir import RunError, classifier_dir, trained_classifier_dir

    assert classifier_dir("emoji", "lenet", tmp_path).name == "emoji-lenet"
    assert classifier_dir("emoji", "lenet", tmp_path, 32).name == "emoji-lenet"
    assert classifier_dir("emoji", "lenet", tmp_path, 64).name == "emoji-64px-lenet"
    assert classifier_dir("mnist", "lenet", tmp_path, 28).name == "mnist-lenet"
    with pytest.raises(RunError, match="classifier train --dataset emoji --image-size 64"):
        trained_classifier_dir("emoji", "lenet", tmp_path, 64)
    # A deep folder's path would make a name longer than a file system takes (255 bytes).
    deep, deeper = ("folder:" + "/a-long-folder-name" * 20 + tail for tail in ("/cats", "/dogs"))
    names = [classifier_dir(dataset, "lenet", tmp_path, 32).name for dataset in (deep, deeper)]
    assert names[0] != names[1] and all(len(name) < 255 and name.endswith("-32px-lenet") for name in names)
    assert names[0].startswith("folder-_a-long-folder-name") and "cats" in names[0]


def test_a_file_name_that_is_not_utf8_is_printed_escaped_and_training_goes_on(tmp_path):
    folder = draw_shapes_folder(tmp_path / "shapes", per_class=8, size=16)
    # Names are bytes on Linux: this one no UTF-8 decoder accepts.
    Path(os.fsdecode(bytes(folder / "circle") + b"/caf\xe9.png")).write_bytes(b"not an image")
    # A process of its own, whose stdout encodes as a user's terminal does (strictly, in UTF-8).
    command = [sys.executable, "-m", "trainer", "train", "--dataset", f"folder:{folder}", "--model", "cgan",
               "--batch-size", "8", "--epochs", "1", "--runs-dir", str(tmp_path / "runs")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped unreadable image" in result.stdout and "caf\\udce9.png" in result.stdout


# ---- differentiable augmentation (--augment) ---------------------------------------------------

def test_augmentations_shift_cut_and_recolour_each_image_its_own_way_and_pass_gradients():
    from trainer.augment import augment, cutout, translation

    ramp = tf.reshape(tf.range(1, 17, dtype=tf.float32), [1, 4, 4, 1])
    seed = tf.constant([3, 4], tf.int64)
    shifted = translation(tf.tile(ramp, [64, 1, 1, 1]), seed).numpy()[..., 0]
    # Each image is the ramp moved by at most one row and one column (an eighth of 4, rounded),
    # with zeros where it moved in from outside; the 64 images do not all move alike.
    for image in shifted:
        rows, columns = np.nonzero(image)
        assert image[rows[0], columns[0]] in (1, 2, 5, 6) and set(np.diff(image[rows[0]][image[rows[0]] > 0])) == {1}
    assert len({image.tobytes() for image in shifted}) > 4
    ones = tf.ones([8, 32, 32, 3])
    holes = 1 - cutout(ones, seed).numpy()[..., 0]
    assert np.all(holes.sum((1, 2)) <= 16 * 16) and holes.sum((1, 2)).max() == 16 * 16  # at most half the side
    images = tf.random.stateless_uniform([8, 32, 32, 3], (1, 2), -1, 1)
    with tf.GradientTape() as tape:
        tape.watch(images)
        changed = augment(images, "color,translation,cutout", seed)
        total = tf.reduce_sum(changed)
    assert np.isfinite(tape.gradient(total, images).numpy()).all()
    np.testing.assert_array_equal(changed, augment(images, "color,translation,cutout", seed))  # stateless
    assert not np.allclose(changed, augment(images, "color,translation,cutout", seed + 1))


def test_augmented_runs_resume_exactly_and_a_wrong_policy_is_refused(tmp_path, capsys):
    options = ("--dataset", "emoji", "--limit-per-class", "12", "--batch-size", "18", "--model", "cdcgan",
               "--augment", "color,translation,cutout")
    whole = train(tmp_path, *options, "--epochs", "2", run_name="whole")
    split = train(tmp_path, *options, "--epochs", "1", run_name="split")
    train(tmp_path, "--resume", "--epochs", "2", run_name="split")
    from trainer.rundir import RunDirectory

    first, second = RunDirectory(whole).history(), RunDirectory(split).history()
    for a, b in zip(first, second):
        assert a["d_loss"] == pytest.approx(b["d_loss"], rel=1e-5) and a["g_loss"] == pytest.approx(b["g_loss"], rel=1e-5)
    plain = train(tmp_path, *options[:-2], "--epochs", "1", run_name="plain")
    assert RunDirectory(plain).history()[0]["d_loss"] != first[0]["d_loss"]  # the option does something
    train(tmp_path, *options[:-1], "colour", "--epochs", "1", run_name="bad", expect=2)
    assert "--augment must be a comma-separated list of color, translation, cutout, not colour" in capsys.readouterr().err


def test_resume_sweeps_what_a_training_killed_mid_write_left_but_not_others_files(tmp_path):
    from trainer.rundir import RunDirectory

    options = ("--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50", "--model", "cgan")
    run = train(tmp_path, *options, "--epochs", "1")
    # What a kill -9 leaves in the middle of atomic_write or save_model, and a file of `trainer
    # eval`'s, which may be writing beside a training and is not the training's to remove.
    left = [run / "samples" / ".epoch_0002.png.x1y2.tmp", run / ".history.jsonl.abc.tmp", run / ".generator.keras"]
    for path in left:
        path.write_bytes(b"half")
    others = run / ".metrics.json.q9.tmp"
    others.write_bytes(b"half")
    train(tmp_path, "--resume", "--epochs", "2")
    assert not any(path.exists() for path in left) and others.exists()
    assert [record["epoch"] for record in RunDirectory(run).history()] == [1, 2]


def test_the_page_calls_a_data_set_unbalanced_by_the_cli_s_rule():
    import re

    source = (ROOT / "web" / "js" / "train" / "training.js").read_text()
    (ratio,) = re.findall(r"const UNBALANCED_RATIO = ([\d.]+);", source)
    assert float(ratio) == data.UNBALANCED_RATIO
