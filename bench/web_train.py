"""web/train.html's speed and time to quality in headless Chromium, side by side in one run.

Speed (the default): for the SJTU MLP CGAN (`cgan`, batch 150) the plain TF.js loop (layers
models, optimizer.minimize for D then G, TF.js's default WASM threads) and the floor that the
backend's matrix products set for one step; for `cdcgan-small` the floor its convolutions set
(forward passes and gradients timed alone at the step's shapes); then the page's own steps and
images per second while it trains each model (its worker, WASM threads where the page is isolated).

    python -m bench.web_train [--seconds 60] [--backends wasm,webgl] [--models cgan,cdcgan-small]

Time to quality (--accuracy): each model:backend trains on the page for --seconds from Start;
prints one JSON line per label accuracy the page reports (seconds since Start, G steps, accuracy)
and one summary line per run.

    python -m bench.web_train --accuracy cgan:wasm,cdcgan-small:wasm --seconds 300 [--dataset fashion_mnist]

--average-decay 0,0.99 runs each model:backend once per decay (0: the trained generator, else a
moving average of its weights, the page's "Average G's weights"), one after the other.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve  # noqa: E402

BATCH = 150


def start_page(chromium, url, model, backend, dataset="mnist", batch_size=None, learning_rate=None, average_decay=None):
    page = chromium.new_page()
    page.goto(f"{url}/web/train.html?model={model}&backend={backend}&dataset={dataset}")
    page.wait_for_function("window.ganvasTrain.started", timeout=60000)
    if batch_size:
        page.fill("#batch-size", str(batch_size))
    if learning_rate:
        page.fill("#learning-rate", str(learning_rate))
    if average_decay is not None:
        page.fill("#average-decay", str(average_decay))
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.running || window.ganvasTrain.error", timeout=120000)
    return page


def status(page):
    return page.evaluate("JSON.parse(JSON.stringify({ips: window.ganvasTrain.imagesPerSecond, sps: window.ganvasTrain.stepsPerSecond, "
                         "threads: window.ganvasTrain.threads, error: window.ganvasTrain.error, steps: window.ganvasTrain.counts.g, "
                         "accuracy: window.ganvasTrain.accuracy, tensors: window.ganvasTrain.tensors, batch: window.ganvasTrain.options.batchSize}))")


def page_speed(chromium, url, model, backend, seconds):
    """The page's own speed figures, the medians of its reports after a warm-up of a fifth."""
    page = start_page(chromium, url, model, backend)
    samples, started = [], time.time()
    while time.time() - started < seconds:
        time.sleep(1)
        now = status(page)
        if now["error"]:
            raise RuntimeError(now["error"])
        if time.time() - started > seconds / 5 and now.get("ips"):
            samples.append((now["ips"], now["sps"]))
    page.close()
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples), now.get("threads"), now["batch"]


def time_to_quality(chromium, url, model, backend, seconds, dataset, batch_size, learning_rate, average_decay=None):
    """Label accuracies as the page reports them, with the seconds since Start at which they came."""
    page = start_page(chromium, url, model, backend, dataset, batch_size, learning_rate, average_decay)
    decay = page.evaluate("window.ganvasTrain.options.averageDecay")
    started = time.time()
    seen, points, now = 0, [], None
    while time.time() - started < seconds:
        time.sleep(0.5)
        now = status(page)
        if now["error"]:
            raise RuntimeError(now["error"])
        for point in now["accuracy"][seen:]:
            points.append({"model": model, "backend": backend, "average_decay": decay, "seconds": round(time.time() - started, 1), "step": point["step"],
                           "accuracy": round(point["value"], 4)})
            print(json.dumps(points[-1]), flush=True)
        seen = len(now["accuracy"])
    page.close()
    accuracies = [point["accuracy"] for point in points]
    best = max(accuracies, default=None)
    summary = {"model": model, "backend": backend, "average_decay": decay, "dataset": dataset, "batch": now["batch"], "seconds": seconds, "steps": now["steps"],
               "threads": now.get("threads"), "tensors": now.get("tensors"), "final": accuracies[-1] if accuracies else None, "best": best,
               "last5": round(statistics.mean(accuracies[-5:]), 4) if accuracies else None,
               "load": round(os.getloadavg()[0], 1)}
    for target in (0.8, 0.9, 0.95):
        summary[f"seconds_to_{int(target * 100)}"] = next((point["seconds"] for point in points if point["accuracy"] >= target), None)
    print(json.dumps({"summary": summary}), flush=True)


def yardsticks(chromium, url, backend, model):
    page = chromium.new_page()
    page.goto(f"{url}/bench/web_train.html")
    cores = page.evaluate("Math.min(4, navigator.hardwareConcurrency)") if backend == "wasm" else 0
    plain = page.evaluate(f"measure({{backend: '{backend}', steps: 30}})") if model == "cgan" else {}
    floor = page.evaluate(f"measure({{backend: '{backend}', threadsPerCore: {cores}, floor: '{'matmul' if model == 'cgan' else 'conv'}'}})")
    page.close()
    return plain, floor


def speed(chromium, url, backend, model, seconds):
    plain, floor = yardsticks(chromium, url, backend, model)
    if "error" in plain or "error" in floor:
        print(f"{model:12s} {backend:6s} unavailable: {plain.get('error') or floor.get('error')}")
        return
    ips, sps, threads, batch = page_speed(chromium, url, model, backend, seconds)
    floor_ms = floor["floor"]["milliseconds"]
    threads_note = f", {threads} thread(s)" if threads else ""
    if plain:
        plain_ips = BATCH / plain["plainMilliseconds"] * 1000
        print(f"{model:12s} {backend:6s} plain loop {plain['plainMilliseconds']:6.1f} ms/step = {plain_ips:6.0f} images/s "
              f"({plain['threads'] or '-'} thread(s))")
    kernels = floor["floor"].get("kernels")
    parts = f" [{', '.join(f'{name} {value:.1f}' for name, value in kernels.items())}]" if kernels else ""
    print(f"{model:12s} {backend:6s} {'matmul' if model == 'cgan' else 'conv'} floor {floor_ms:6.1f} ms/step "
          f"({floor['floor']['megaflops']:.0f} MFLOP at {floor['floor']['gigaflopsPerSecond']:.1f} GFLOP/s){parts}")
    ratio = f", {ips / plain_ips:.2f}x the plain loop" if plain else ""
    print(f"{model:12s} {backend:6s} web/train.html {sps:6.2f} steps/s = {1000 / sps:6.1f} ms/step, {ips:6.0f} images/s at batch {batch}"
          f"{threads_note}{ratio}, {1000 / sps / floor_ms:.2f}x the floor", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="how long the page trains each model on each backend")
    parser.add_argument("--backends", default="wasm,webgl")
    parser.add_argument("--models", default="cgan")
    parser.add_argument("--accuracy", help="model:backend,... to train for --seconds and report label accuracy against time")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--batch-size", type=int, help="in place of the model's default (--accuracy)")
    parser.add_argument("--learning-rate", type=float, help="in place of the model's default (--accuracy)")
    parser.add_argument("--average-decay", help="comma-separated decays of the generator's moving average, one run each "
                                                "(--accuracy; 0: off; default: the model's)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    with serve(ROOT) as url, browser() as chromium:
        if args.accuracy:
            decays = [float(decay) for decay in args.average_decay.split(",")] if args.average_decay else [None]
            for run in args.accuracy.split(","):
                model, backend = run.split(":")
                for decay in decays:
                    time_to_quality(chromium, url, model, backend, args.seconds, args.dataset, args.batch_size, args.learning_rate, decay)
            return
        for model in args.models.split(","):
            for backend in args.backends.split(","):
                speed(chromium, url, backend, model, args.seconds)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
