import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def train(runs_dir, *args, run_name="run", expect=0):
    """`python -m trainer train` in this process, with small defaults for speed."""
    from trainer.__main__ import main

    code = main(["train", "--runs-dir", str(runs_dir), "--run-name", run_name, *args])
    assert code == expect, f"trainer exited with {code}, expected {expect}"
    return Path(runs_dir) / run_name


def run_cli(*args, timeout=300, **kwargs):
    """`python -m trainer ...` in a fresh process, as a user would run it."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


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
