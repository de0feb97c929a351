import contextlib
import inspect
import io
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a page or the app in headless Chromium (tests/browser.py)")
    config.addinivalue_line("markers", "slow: takes more than about 20 s on the 2-core CI machine; "
                                       "`pytest -m 'not slow and not browser'` runs the rest in a few minutes")


# Fixtures that train before their tests run (tens of seconds each): their tests are slow.
SLOW_FIXTURES = {"runs_root", "colour_root", "colorize_root", "colour_run"}


def pytest_collection_modifyitems(items):
    """Every test that opens Chromium is marked `browser`: those that take the `chromium` fixture
    and those that start a browser themselves (browser(), streamlit_app()); those that take a
    fixture of SLOW_FIXTURES are marked `slow`."""
    for item in items:
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        if "chromium" in item.fixturenames or "browser()" in source or "streamlit_app(" in source:
            item.add_marker(pytest.mark.browser)
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def require(ready: bool, what: str) -> None:
    """A missing prerequisite skips on a developer's machine and fails where CI is set (.ci/run
    sets it), so that the browser tests cannot silently stop running there."""
    if ready:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so this is a failure, not a skip)")
    pytest.skip(what)


def train(runs_dir, *args, run_name="run", expect=0):
    """`python -m trainer train` in this process, with small defaults for speed."""
    from trainer.__main__ import main

    code = main(["train", "--runs-dir", str(runs_dir), "--run-name", run_name, *args])
    assert code == expect, f"trainer exited with {code}, expected {expect}"
    return Path(runs_dir) / run_name


def run_cli(*args) -> subprocess.CompletedProcess:
    """`python -m trainer ...` in this process: its exit code and what it printed, as a user
    would see them. A fresh Python would spend most of a small command importing TensorFlow
    (6-14 s on the 2-core CI machine); tests that need a process of their own start one."""
    from trainer.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse's usage errors exit 2, as they do for a user
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    return subprocess.CompletedProcess(["trainer", *map(str, args)], code, out.getvalue(), err.getvalue())


def wait_for(condition, timeout=120, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


@pytest.fixture(scope="session")
def classifiers(tmp_path_factory):
    """A LeNet trained for two epochs on 5,000 MNIST images, kept where the CLI looks for it."""
    from trainer import data
    from trainer.classifier import classifier_dir, save_classifier, train_classifier

    root = tmp_path_factory.mktemp("classifiers")
    train_set = data.load("mnist", limit_per_class=500)
    test_set = data.load("mnist", "test", limit_per_class=100)
    model, history = train_classifier(train_set, "lenet", epochs=2, test=test_set, log=lambda *_: None)
    info = dict(dataset="mnist", arch="lenet", image_shape=[28, 28, 1], label_names=list("0123456789"),
                test_accuracy=history[-1]["test_accuracy"], history=history)
    save_classifier(model, info, classifier_dir("mnist", "lenet", root))
    return root


def draw_shapes_folder(root: Path, per_class: int = 16, size: int = 40) -> Path:
    """A tiny image-folder data set: circles, squares and triangles in random colours."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for label in ("circle", "square", "triangle"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 80, 3)))
            draw = ImageDraw.Draw(image)
            colour = tuple(int(v) for v in rng.integers(120, 256, 3))
            low, high = sorted(rng.integers(4, size - 4, 2))
            high = max(high, low + 8)
            if label == "circle":
                draw.ellipse((low, low, high, high), fill=colour)
            elif label == "square":
                draw.rectangle((low, low, high, high), fill=colour)
            else:
                draw.polygon([(low, high), (high, high), ((low + high) // 2, low)], fill=colour)
            image.save(root / label / f"{index}.png")
    return root


# Runs compared: a straight run and one resumed, a run and its checkpoint.
SMALL = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50")  # 300 images


def losses(history):
    return [{key: record[key] for key in ("epoch", "d_loss", "g_loss", "d_real", "d_fake")} for record in history]


def assert_same_history(first, second):
    assert [record["epoch"] for record in first] == [record["epoch"] for record in second]
    for a, b in zip(losses(first), losses(second)):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (key, a, b)


def assert_same_generator(first, second):
    """The final generators (the averaged ones, for runs that average) draw the same images."""
    from trainer.sampling import generate, grid_inputs, load_generator

    (a, config), (b, _) = load_generator(first), load_generator(second)
    latent, labels, _ = grid_inputs(config)
    np.testing.assert_allclose(generate(a, config, latent, labels), generate(b, config, latent, labels), atol=1e-4)
