"""The pages' speed in headless Chromium. index.html: per backend, milliseconds for 100 samples
after warm-up, the time from navigation to the first grid, and each model's download size.
colorize.html: per backend, milliseconds to colour one grey photo of --photo-size pixels (the
whole colorization: grey, squeeze, generator, chroma scaled back, join; not the file's decoding)
and the generator's share, after warm-up.

    python -m bench.web [--model mnist] [--colorizer NAME] [--repeats 20] [--web web]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve  # noqa: E402

WARM_UP = 3  # the first calls compile kernels (WebGL shaders, WASM's first allocations)


def median(values):
    return sorted(values)[len(values) // 2]


def bench_sampler(url, chromium, web, model, repeats):
    manifest_path = web / "models" / model / "manifest.json"
    if not manifest_path.exists():
        print(f"sampler: no {manifest_path}; skipped")
        return
    manifest = json.loads(manifest_path.read_text())
    generator_bytes = sum(file["bytes"] for file in manifest["generator"]["weights"].values())
    generator_bytes += (web / "models" / model / "generator" / "model.json").stat().st_size
    print(f"{model}: generator download {generator_bytes / 1000:.0f} KB ({manifest['quantization']}), "
          f"with classifier {manifest['bytes'] / 1000:.0f} KB; export check: {manifest['check']}")
    for backend in ("wasm", "webgl", "cpu"):
        page = chromium.new_page()
        page.goto(f"{url}/?model={model}&backend={backend}")
        page.wait_for_function("window.ganvas && (window.ganvas.started || window.ganvas.error)", timeout=60000)
        if page.evaluate("window.ganvas.error"):
            print(f"{backend:6s} unavailable: {page.evaluate('window.ganvas.error')}")
            continue
        first_grid = page.evaluate("window.ganvas.firstGridMilliseconds")
        page.fill("#count", "100")
        timings = []
        for _ in range(repeats + WARM_UP):
            drawn = page.evaluate("window.ganvas.drawn")
            page.click("#generate")
            page.wait_for_function(f"window.ganvas.drawn > {drawn}")
            timings.append(page.evaluate("window.ganvas.milliseconds"))
        steady = sorted(timings[WARM_UP:])
        print(f"{backend:6s} first grid {first_grid:6.0f} ms after navigation; 100 samples: "
              f"median {steady[len(steady) // 2]:.1f} ms, best {steady[0]:.1f} ms")
        page.close()


def bench_colorizer(url, chromium, web, name, repeats, size):
    index = json.loads((web / "models" / "index.json").read_text()) if (web / "models" / "index.json").exists() else {}
    colorizers = [entry["name"] for entry in index.get("models", []) if entry.get("model") == "colorize"]
    name = name or (colorizers[0] if colorizers else None)
    if name not in colorizers:
        print(f"colorize: no colorizer {'named ' + name if name else ''} in {web / 'models' / 'index.json'}; skipped "
              f"(export one: python -m export --run RUN --name NAME)")
        return
    manifest = json.loads((web / "models" / name / "manifest.json").read_text())
    side = manifest["image_shape"][0]
    print(f"{name}: colorizer at {side} x {side}, download {manifest['bytes'] / 1000:.0f} KB ({manifest['quantization']})")
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        photo = Path(scratch) / f"grey-{size}.png"
        smooth = np.random.default_rng(0).integers(0, 256, (size // 8 + 1, size // 8 + 1), dtype=np.uint8)
        Image.fromarray(smooth).resize((size, size), Image.Resampling.BICUBIC).save(photo)
        for backend in ("wasm", "webgl"):
            page = chromium.new_page()
            page.goto(f"{url}/colorize.html?model={name}&backend={backend}")
            page.wait_for_function("window.ganvasColorize && (window.ganvasColorize.started || "
                                   "window.ganvasColorize.error)", timeout=60000)
            if page.evaluate("window.ganvasColorize.error") or page.evaluate("tf.getBackend()") != backend:
                print(f"{backend:6s} unavailable: {page.evaluate('window.ganvasColorize.error')}")
                continue
            totals, generator = [], []
            for _ in range(repeats + WARM_UP):
                before = page.evaluate("window.ganvasColorize.actions")
                page.set_input_files("#photo", str(photo))
                page.wait_for_function(f"window.ganvasColorize.actions > {before}", timeout=60000)
                if page.evaluate("window.ganvasColorize.error"):
                    raise SystemExit(f"colorize.html failed: {page.evaluate('window.ganvasColorize.error')}")
                totals.append(page.evaluate("window.ganvasColorize.milliseconds"))
                generator.append(page.evaluate("window.ganvasColorize.modelMilliseconds"))
            print(f"{backend:6s} one {size} x {size} photo: median {median(totals[WARM_UP:]):.1f} ms, best "
                  f"{min(totals[WARM_UP:]):.1f} ms (the generator: median {median(generator[WARM_UP:]):.1f} ms)")
            page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist", help="the sampler to time (index.html)")
    parser.add_argument("--colorizer", help="the colorizer to time (colorize.html; default: the first listed)")
    parser.add_argument("--photo-size", type=int, default=64, help="side of the square grey photo coloured")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--web", type=Path, default=ROOT / "web", help="the folder served (default: web/)")
    args = parser.parse_args()
    with serve(args.web) as url, browser() as chromium:
        bench_sampler(url, chromium, args.web, args.model, args.repeats)
        bench_colorizer(url, chromium, args.web, args.colorizer, args.repeats, args.photo_size)


if __name__ == "__main__":
    main()
