"""web/train.html's "Your own images": seconds to list, decode and resize a folder in headless
Chromium, from picking it to the data a training starts on. The folder is generated in a temporary
directory: 1,000 photos-like images of 500 x 500 pixels by default, half JPEG and half PNG, in
10 labels.

    python -m bench.web_folder [--images 1000] [--size 500] [--image-size 32] [--channels 3] [--repeats 3]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve  # noqa: E402

LABELS = 10


def write_folder(root: Path, images: int, size: int) -> Path:
    """Smooth colour gradients with noise: they compress as photos do, neither trivially (a flat
    colour) nor not at all (pure noise)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for index in range(images):
        label = root / f"label-{index % LABELS}"
        label.mkdir(parents=True, exist_ok=True)
        a, b, c = rng.uniform(0, 255, 3)
        pixels = np.stack([a * xs + (255 - a) * ys, b * ys, c * (1 - xs)], -1) + rng.normal(0, 12, (size, size, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        if index % 2:
            image.save(label / f"{index:05d}.png")
        else:
            image.save(label / f"{index:05d}.jpg", quality=90)
    return root


def load_seconds(page, folder: Path, image_size: int, channels: int) -> tuple[float, dict]:
    """Pick the folder, press Start, and time until every image is decoded and resized; also when
    it was listed, and when the training was ready (TF.js started, the networks built)."""
    page.select_option("#image-size", str(image_size))
    page.select_option("#channels", str(channels))
    started = time.perf_counter()
    page.set_input_files("#folder-input", str(folder))
    page.wait_for_function("window.ganvasTrain.folder.listing || window.ganvasTrain.folder.problem", timeout=120000)
    listed = time.perf_counter()
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.folder.decoded || window.ganvasTrain.error", timeout=600000, polling=20)
    decoded = time.perf_counter()
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=600000)
    ready = time.perf_counter()
    error = page.evaluate("window.ganvasTrain.error")
    if error:
        raise RuntimeError(error)
    count = sum(label["count"] for label in page.evaluate("window.ganvasTrain.folder.decoded"))
    return decoded - started, {"listed": listed - started, "ready": ready - started, "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=500, help="each generated image's width and height")
    parser.add_argument("--image-size", type=int, default=32, choices=(28, 32))
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = write_folder(Path(temporary) / "photos", args.images, args.size)
        megabytes = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6
        print(f"{os.cpu_count()} CPUs; {args.images} images of {args.size} x {args.size} ({megabytes:.0f} MB, half JPEG, "
              f"half PNG) to {args.image_size} x {args.image_size} x {args.channels}")
        timings = []
        with serve(ROOT / "web") as url, browser() as chromium:
            for repeat in range(args.repeats):
                page = chromium.new_page()  # a fresh page: nothing decoded is reused
                page.goto(f"{url}/train.html?dataset=folder&model=cgan&backend=wasm")
                page.wait_for_function("window.ganvasTrain.started", timeout=60000)
                seconds, facts = load_seconds(page, folder, args.image_size, args.channels)
                page.close()
                timings.append(seconds)
                print(f"run {repeat + 1}: {seconds:.2f} s from picking the folder to {facts['count']} images decoded and resized "
                      f"(listed after {facts['listed']:.2f} s; training ready after {facts['ready']:.2f} s)")
        print(f"median {statistics.median(timings):.2f} s, best {min(timings):.2f} s")


if __name__ == "__main__":
    main()
