"""The page's speed in headless Chromium: per backend, milliseconds for 100 samples after
warm-up, the time from navigation to the first grid, and each model's download size.

    python -m bench.web [--model mnist] [--repeats 20]
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    manifest = json.loads((ROOT / "web" / "models" / args.model / "manifest.json").read_text())
    generator_bytes = sum(file["bytes"] for file in manifest["generator"]["weights"].values())
    generator_bytes += (ROOT / "web" / "models" / args.model / "generator" / "model.json").stat().st_size
    print(f"{args.model}: generator download {generator_bytes / 1000:.0f} KB ({manifest['quantization']}), "
          f"with classifier {manifest['bytes'] / 1000:.0f} KB; export check: {manifest['check']}")
    with serve(ROOT / "web") as url, browser() as chromium:
        for backend in ("wasm", "webgl", "cpu"):
            page = chromium.new_page()
            page.goto(f"{url}/?model={args.model}&backend={backend}")
            page.wait_for_function("window.ganvas && (window.ganvas.started || window.ganvas.error)", timeout=60000)
            if page.evaluate("window.ganvas.error"):
                print(f"{backend:6s} unavailable: {page.evaluate('window.ganvas.error')}")
                continue
            first_grid = page.evaluate("window.ganvas.firstGridMilliseconds")
            page.fill("#count", "100")
            timings = []
            for _ in range(args.repeats + 3):  # the first calls compile kernels for batch 100
                drawn = page.evaluate("window.ganvas.drawn")
                page.click("#generate")
                page.wait_for_function(f"window.ganvas.drawn > {drawn}")
                timings.append(page.evaluate("window.ganvas.milliseconds"))
            steady = sorted(timings[3:])
            print(f"{backend:6s} first grid {first_grid:6.0f} ms after navigation; 100 samples: "
                  f"median {steady[len(steady) // 2]:.1f} ms, best {steady[0]:.1f} ms")
            page.close()


if __name__ == "__main__":
    main()
