"""web/train.html's speed and time to quality in headless Chromium, side by side in one run.

Speed (the default): for the SJTU MLP CGAN (`cgan`, batch 150) the plain TF.js loop (layers
models, optimizer.minimize for D then G, TF.js's default WASM threads) and the floor that the
backend's matrix products set for one step; for `cdcgan-small` the floor its convolutions set
(forward passes and gradients timed alone at the step's shapes); then the page's own steps and
images per second while it trains each model (its worker, WASM threads where the page is isolated).

    python -m bench.web_train [--seconds 60] [--backends wasm,webgl] [--models cgan,cdcgan-small]

Time to quality (--accuracy): each model:backend trains on the page for --seconds from pressing
Start, --runs times; prints one JSON line per label accuracy the page reports (seconds since
Start, G steps, accuracy) and one summary line per run, and writes them all to
OUT/web_time_to_quality-<dataset>-<backends>[-background].json with a picture (.png) beside it: the
page's runs against the CLI's curve (--cli-curve, the JSON bench.time_to_quality writes); and each
run's fixed-noise grid at the end (...-grid-<model>-<backend>-<run>.png) and the whole page.

    python -m bench.web_train --accuracy cgan:wasm,cdcgan-small:wasm --seconds 300 --runs 3 [--dataset fashion_mnist]

--background: the tab is put behind another one right after Start, as a user who goes on with
something else does, and is brought back at the end (the page's visibility log says it was hidden).
--average-decay 0,0.99 runs each model:backend once per decay (0: the trained generator, else a
moving average of its weights, the page's "Average G's weights"), one after the other.
"""

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS, browser, serve  # noqa: E402

from bench.report import COLOURS, GREY, cpu_name, draw_panel  # noqa: E402

BATCH = 150


def start_page(page, url, model, backend, dataset="mnist", batch_size=None, learning_rate=None, average_decay=None):
    """Opens train.html on `page`, sets the options and presses Start; returns when it trains."""
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
    page = start_page(chromium.new_page(), url, model, backend)
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


# `views`: the longest wait between two updates of the page's numbers, in ms (the issue: >= 1 a second).
PAGE_STATE = ("JSON.parse(JSON.stringify({accuracy: window.ganvasTrain.accuracy, visibility: window.ganvasTrain.visibility, "
              "saved: window.ganvasTrain.saved, decay: window.ganvasTrain.options.averageDecay, "
              "views: Math.max(...window.ganvasTrain.viewUpdates.slice(1).map((at, index) => at - window.ganvasTrain.viewUpdates[index]))}))")


def printed_points(page, run, seen):
    """The page's label accuracies after the first `seen`, printed as JSON lines as they come."""
    points = []
    for point in page.evaluate(f"JSON.parse(JSON.stringify(window.ganvasTrain.accuracy.slice({seen})))"):
        points.append({**run, "seconds": round(point["seconds"], 1), "step": point["step"], "accuracy": round(point["value"], 4)})
        print(json.dumps(points[-1]), flush=True)
    return points


def summarise(run, points, now, seconds, page_state):
    accuracies = [point["accuracy"] for point in points if point["seconds"] <= seconds]
    summary = {**run, "average_decay": page_state["decay"], "batch": now["batch"], "seconds": seconds, "steps": now["steps"],
               "threads": now.get("threads"), "tensors": now.get("tensors"), "final": accuracies[-1] if accuracies else None,
               "best": max(accuracies, default=None), "last5": round(statistics.mean(accuracies[-5:]), 4) if accuracies else None,
               "load": round(os.getloadavg()[0], 1), "visibility": page_state["visibility"], "saved": page_state.get("saved"),
               "longest_view_wait_ms": round(page_state["views"]) if page_state.get("views") is not None else None}
    for target in (0.8, 0.85, 0.9, 0.95):  # 85 %: the mark for Fashion-MNIST, 95 % for MNIST
        summary[f"seconds_to_{int(target * 100)}"] = next((point["seconds"] for point in points if point["accuracy"] >= target), None)
        # From when on it stayed there: an early verdict can pass by chance and fall back.
        below = [index for index, point in enumerate(points) if point["accuracy"] < target]
        held = below[-1] + 1 if below else 0
        summary[f"held_{int(target * 100)}_from"] = points[held]["seconds"] if held < len(points) else None
    print(json.dumps({"summary": summary}), flush=True)
    return {"summary": summary, "points": points}


def foreground_run(chromium, url, run, seconds, options, grid_path):
    """Label accuracies as the page reports them, with the seconds since Start at which they came;
    the page's fixed-noise grid at the end, as a picture, to `grid_path`."""
    page = chromium.new_page()
    clicked = time.time()
    start_page(page, url, run["model"], run["backend"], run["dataset"], **options)
    points = []
    while time.time() - clicked < seconds:
        time.sleep(0.5)
        now = status(page)
        if now["error"]:
            raise RuntimeError(now["error"])
        points += printed_points(page, run, len(points))
    result = summarise(run, points, now, seconds, page.evaluate(PAGE_STATE))
    page.locator("#grid").screenshot(path=str(grid_path))
    page.screenshot(path=str(grid_path.with_name(grid_path.name.replace("-grid-", "-page-"))), full_page=True)
    page.close()
    return result


@contextlib.contextmanager
def devtools_chromium():
    """Chromium as a user runs it, driven through its DevTools port: Playwright's own launch adds
    flags that stop background throttling, and it emulates focus on every page it drives, which
    keeps them visible; so this bench lets go of the page while it is behind another tab."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    devtools = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen([CHROMIUM, *CHROMIUM_ARGS, "--headless", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
                                    "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(120):
                with contextlib.suppress(OSError):
                    devtools_call(devtools, "/json/version")
                    break
                time.sleep(0.25)
            yield devtools
        finally:
            process.terminate()
            process.wait(timeout=30)


def devtools_call(devtools, path, method="GET"):
    """DevTools' HTTP end points: JSON, except /json/activate's line of text."""
    with urllib.request.urlopen(urllib.request.Request(devtools + path, method=method), timeout=10) as answer:
        text = answer.read().decode()
    return json.loads(text) if text.startswith(("{", "[")) else text


@contextlib.contextmanager
def training_tab(devtools):
    """Playwright's hold on the tab that trains (train.html, or the first tab before it is opened),
    for as long as the block runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        pages = playwright.chromium.connect_over_cdp(devtools).contexts[0].pages
        yield next((page for page in pages if "train.html" in page.url), pages[0])


def background_run(url, run, seconds, options, grid_path):
    """As foreground_run, with the tab behind another one from Start to the end."""
    with devtools_chromium() as devtools:
        with training_tab(devtools) as page:
            clicked = time.time()
            start_page(page, url, run["model"], run["backend"], run["dataset"], **options)
        training = next(target for target in devtools_call(devtools, "/json/list") if "train.html" in target["url"])
        other = devtools_call(devtools, "/json/new?about:blank", method="PUT")
        devtools_call(devtools, f"/json/activate/{other['id']}")
        time.sleep(max(0.0, seconds - (time.time() - clicked)))
        devtools_call(devtools, f"/json/activate/{training['id']}")
        with training_tab(devtools) as page:
            now = status(page)
            if now["error"]:
                raise RuntimeError(now["error"])
            page.wait_for_function("window.ganvasTrain.gridDraws > 0")  # drawn again once the tab shows
            page.locator("#grid").screenshot(path=str(grid_path))
            return summarise(run, printed_points(page, run, 0), now, seconds, page.evaluate(PAGE_STATE))


def plot(report, path, cli_report=None):
    """Label accuracy against seconds since Start: each page run a line, the CLI's runs grey."""
    from PIL import Image, ImageDraw

    width, height, margin = 760, 330, 52
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    draw.text((10, 4), f"{report['dataset']}: web/train.html in headless Chromium, {report['seconds']:.0f} s from Start", fill="black")
    draw.text((10, 17), f"{report['cpu']}, {report['cores']} cores", fill=GREY)
    kinds = list(dict.fromkeys(kind_of(result["summary"]) for result in report["runs"]))
    lines = [(COLOURS[kinds.index(kind_of(result["summary"])) % len(COLOURS)],
              [(point["seconds"], point["accuracy"]) for point in result["points"]]) for result in report["runs"]]
    legend = [(COLOURS[index % len(COLOURS)], kind) for index, kind in enumerate(kinds)]
    if cli_report:
        lines += [((170, 170, 170), [(point["seconds"], point["label_accuracy"]) for point in result["points"]]) for result in cli_report["runs"]]
        legend.append(((150, 150, 150), f"CLI {cli_report['recipe'][1]} (training seconds)"))
    for index, (colour, text) in enumerate(legend):
        draw.text((width - 16, 4 + 13 * index), text, fill=colour, anchor="ra")
    longest = max([report["seconds"]] + [seconds for _, points in lines for seconds, _ in points])
    top = 30 + 13 * max(0, len(legend) - 1)
    draw_panel(draw, (margin, top + 16, width - 16, height - 20), "label accuracy (the page's classifier; target dashed)",
               lines, TARGETS.get(report["dataset"]), longest)
    picture.save(path)


# The goals for the page's default within 300 s.
TARGETS = {"mnist": 0.95, "fashion_mnist": 0.85}


def kind_of(summary):
    return f"{summary['model']} on {summary['backend']}" + (", background tab" if summary["background"] else "")


def time_to_quality(runs, seconds, times, dataset, background, options, out, cli_curve):
    report = {"dataset": dataset, "seconds": seconds, "cpu": cpu_name(), "cores": os.cpu_count(), "options": options, "runs": []}
    out.mkdir(parents=True, exist_ok=True)
    # One file per data set, backends and tab: web_time_to_quality-mnist-wasm-background.json, and
    # each run's last grid beside it.
    name = "-".join([f"web_time_to_quality-{dataset}", *dict.fromkeys(backend for _, backend in runs)]
                    + (["background"] if background else []) + ([f"decay{options['average_decay']}"] if options["average_decay"] is not None else []))
    with serve(ROOT) as url:
        for model, backend in runs:
            for attempt in range(times):
                run = {"model": model, "backend": backend, "dataset": dataset, "background": background, "attempt": attempt}
                grid_path = out / f"{name}-grid-{model}-{backend}-{attempt + 1}.png"
                if background:
                    report["runs"].append(background_run(url, run, seconds, options, grid_path))
                else:
                    with browser() as chromium:
                        report["runs"].append(foreground_run(chromium, url, run, seconds, options, grid_path))
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    json_path.write_text(json.dumps(report, indent=2))
    cli_report = json.loads(cli_curve.read_text()) if cli_curve and cli_curve.exists() else None
    plot(report, png_path, cli_report)
    print(f"wrote {json_path} and {png_path.name}", flush=True)


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
    parser.add_argument("--average-decay", help="comma-separated decays of the generator's moving average, one set of runs each "
                                                "(--accuracy; 0: off; default: the model's)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each model:backend (--accuracy)")
    parser.add_argument("--background", action="store_true", help="the tab behind another one from Start to the end (--accuracy)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where the JSON and the picture go (--accuracy)")
    parser.add_argument("--cli-curve", type=Path, help="the CLI's curve to draw beside the page's "
                                                       "(default: docs/images/time_to_quality-<dataset>.json)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs ({cpu_name()}), load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.accuracy:
        runs = [tuple(run.split(":")) for run in args.accuracy.split(",")]
        cli_curve = args.cli_curve or ROOT / "docs" / "images" / f"time_to_quality-{args.dataset}.json"
        for decay in [float(decay) for decay in args.average_decay.split(",")] if args.average_decay else [None]:
            options = {"batch_size": args.batch_size, "learning_rate": args.learning_rate, "average_decay": decay}
            time_to_quality(runs, args.seconds, args.runs, args.dataset, args.background, options, args.out, cli_curve)
        return
    with serve(ROOT) as url, browser() as chromium:
        for model in args.models.split(","):
            for backend in args.backends.split(","):
                speed(chromium, url, backend, model, args.seconds)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
