"""web/train.html's speed in headless Chromium, side by side in one run: the plain TF.js loop of
the SJTU MLP CGAN at batch 150 (layers models, optimizer.minimize for D then G, TF.js's default
WASM threads), the floor that the backend's matrix products set for one step, and the page's own
images per second while it trains (its worker, WASM threads where the page is isolated).

    python -m bench.web_train [--seconds 60] [--backends wasm,webgl]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve  # noqa: E402

BATCH = 150


def page_images_per_second(chromium, url, backend, seconds):
    """The page's own speed figure, the median of its reports after a warm-up of a fifth."""
    page = chromium.new_page()
    page.goto(f"{url}/web/train.html?model=cgan&backend={backend}&dataset=mnist")
    page.wait_for_function("window.ganvasTrain.started", timeout=60000)
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.running || window.ganvasTrain.error", timeout=120000)
    samples, started = [], time.time()
    while time.time() - started < seconds:
        time.sleep(1)
        status = page.evaluate("({ips: window.ganvasTrain.imagesPerSecond, threads: window.ganvasTrain.threads, error: window.ganvasTrain.error})")
        if status["error"]:
            raise RuntimeError(status["error"])
        if time.time() - started > seconds / 5 and status["ips"]:
            samples.append(status["ips"])
    page.close()
    return statistics.median(samples), status["threads"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="how long the page trains on each backend")
    parser.add_argument("--backends", default="wasm,webgl")
    parser.add_argument("--plain-steps", type=int, default=30)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; MLP CGAN (SJTU), batch {BATCH}")
    with serve(ROOT) as url, browser() as chromium:
        for backend in args.backends.split(","):
            yardsticks = chromium.new_page()
            yardsticks.goto(f"{url}/bench/web_train.html")
            plain = yardsticks.evaluate(f"measure({{backend: '{backend}', steps: {args.plain_steps}}})")
            cores = yardsticks.evaluate("Math.min(4, navigator.hardwareConcurrency)") if backend == "wasm" else 0
            floor = yardsticks.evaluate(f"measure({{backend: '{backend}', threadsPerCore: {cores}}})")
            yardsticks.close()
            if "error" in plain or "error" in floor:
                print(f"{backend:6s} unavailable: {plain.get('error') or floor.get('error')}")
                continue
            plain_ips = BATCH / plain["plainMilliseconds"] * 1000
            floor_ms = floor["floor"]["milliseconds"]
            ganvas_ips, threads = page_images_per_second(chromium, url, backend, args.seconds)
            threads_note = f", {threads} thread(s)" if threads else ""
            print(f"{backend:6s} plain loop {plain['plainMilliseconds']:6.1f} ms/step = {plain_ips:6.0f} images/s "
                  f"({plain['threads'] or '-'} thread(s)); matmul floor {floor_ms:5.1f} ms/step "
                  f"({floor['floor']['megaflops']:.0f} MFLOP at {floor['floor']['gigaflopsPerSecond']:.1f} GFLOP/s) = "
                  f"{BATCH / floor_ms * 1000:6.0f} images/s")
            print(f"{'':6s} web/train.html {ganvas_ips:6.0f} images/s{threads_note}: {ganvas_ips / plain_ips:.2f}x the plain loop, "
                  f"{BATCH / floor_ms * 1000 / ganvas_ips:.2f}x from the floor")


if __name__ == "__main__":
    main()
