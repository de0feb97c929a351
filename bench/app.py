"""How fast the app's Training page renders a long run (issue 5: 200 epochs in at most 1.5 s).

    python -m bench.app [--epochs 200] [--repeats 5]

Builds a run directory with `--epochs` epochs of history and sample grids, then times
- the page's script on the server (Streamlit's AppTest: reading the files and building every
  chart and image), and
- the page in headless chromium, from typing its address (a fresh browser profile each time,
  so Streamlit's own scripts load too) until the charts and the latest grid show, and
- the same after a click on "Training" in the sidebar of an open app.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from trainer.config import TrainConfig  # noqa: E402
from trainer.images import grid, save_png  # noqa: E402
from trainer.rundir import RunDirectory, atomic_write  # noqa: E402


def make_run(root: Path, epochs: int) -> Path:
    run = RunDirectory(root / "long")
    config = TrainConfig(model="cdcgan", epochs=epochs, run_name="long", image_shape=[28, 28, 1],
                         label_names=list("0123456789"), output_range=[-1.0, 1.0], latent_dim=64)
    atomic_write(run.config_path, config.to_json())
    rng = np.random.default_rng(0)
    history = []
    for epoch in range(1, epochs + 1):
        history.append(dict(epoch=epoch, d_loss=1.8 + rng.normal(0, 0.05), g_loss=0.2 + rng.normal(0, 0.05),
                            d_real=0.5 + rng.normal(0, 0.02), d_fake=0.45 + rng.normal(0, 0.02),
                            seconds=15 + rng.normal(0, 1), images_per_second=4000.0))
        if epoch % 5 == 0:
            history[-1].update(label_accuracy=0.95, frechet_distance=60.0, diversity=0.9)
        save_png(run.sample_path(epoch), grid(rng.random((100, 28, 28, 1), np.float32), 10, 10))
    run.write_history(history)
    atomic_write(run.status_path, json.dumps(dict(state="finished", pid=0, epoch=epochs, epochs=epochs,
                                                  updated=time.time())))
    return run.path


def time_server(repeats: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    seconds = []
    for _ in range(repeats):
        app = AppTest.from_file(str(ROOT / "streamlit_app" / "app.py"), default_timeout=60)
        app.session_state["run"] = "long"
        app.run()
        app.switch_page("training_page.py")
        began = time.perf_counter()
        app.run()
        seconds.append(time.perf_counter() - began)
        assert not app.exception, app.exception
    return seconds


def wait_until_drawn(page):
    page.wait_for_function("n => document.querySelectorAll("
                           "'[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg').length >= n",
                           arg=4, timeout=60000)
    image = page.wait_for_selector('[data-testid="stImage"] img', timeout=60000)
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image)


def time_browser(root: Path, repeats: int) -> tuple[list[float], list[float]]:
    from browser import browser, streamlit_app

    fresh, clicked = [], []
    with streamlit_app({"GANVAS_RUNS_DIR": str(root)}) as address, browser() as chromium:
        for _ in range(repeats + 1):  # the first visit warms the server's imports
            page = chromium.new_page()
            began = time.perf_counter()
            page.goto(f"{address}/training?run=long")
            wait_until_drawn(page)
            fresh.append(time.perf_counter() - began)
            page.close()
        page = chromium.new_page()
        page.goto(f"{address}/?run=long")
        for _ in range(repeats + 1):
            page.click('[data-testid="stSidebarNav"] a:has-text("Runs")')
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60000)
            began = time.perf_counter()
            page.click('[data-testid="stSidebarNav"] a:has-text("Training")')
            wait_until_drawn(page)
            clicked.append(time.perf_counter() - began)
    return fresh[1:], clicked[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        make_run(root, args.epochs)
        os.environ["GANVAS_RUNS_DIR"] = str(root)
        server = time_server(args.repeats)
        page, clicked = time_browser(root, args.repeats)
    print(f"Training page, {args.epochs} epochs of history and grids:")
    print(f"  server script  median {statistics.median(server):.3f} s  (runs: {', '.join(f'{s:.3f}' for s in server)})")
    print(f"  new tab        median {statistics.median(page):.3f} s  (runs: {', '.join(f'{s:.3f}' for s in page)})")
    print(f"  sidebar click  median {statistics.median(clicked):.3f} s  (runs: {', '.join(f'{s:.3f}' for s in clicked)})")
    print("  target: at most 1.5 s")


if __name__ == "__main__":
    main()
