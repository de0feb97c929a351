"""Serving web/ on 127.0.0.1 and driving Debian's chromium with Playwright, for the page's tests."""

import contextlib
import functools
import http.server
import sys
import threading
from pathlib import Path

from conftest import require

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying to reach Google's servers.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# WebGPU on SwiftShader, the software Vulkan Debian's chromium ships: an adapter without a GPU
# (without this flag headless Chromium here grants none), for tests/test_webgpu.py.
WEBGPU_ARGS = ["--enable-unsafe-webgpu"]


WEB = Path(__file__).resolve().parents[1] / "web"


def require_pages(*needed: Path) -> None:
    """Chromium, Playwright, web/vendor and the `needed` files (data the pages load) are there."""
    require(Path(CHROMIUM).exists(), f"no {CHROMIUM}: install Debian's chromium package")
    require((WEB / "vendor" / "tf.min.js").exists(), "web/vendor is empty: run the set-up (bash scripts/setup.sh)")
    require((WEB / "vendor" / "tf-backend-webgpu.min.js").exists(),
            "web/vendor has no tf-backend-webgpu.min.js: run the set-up again (bash scripts/setup.sh)")
    for path in needed:
        require(path.exists(), f"{path} is missing: run the set-up (bash scripts/setup.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright is not installed in the venv: run the set-up")


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web" / "tools"))
from serve import IsolatedHandler  # noqa: E402  (web/tools/serve.py: what scripts/main.sh serves with)


class Quiet:
    def log_message(self, *args):
        pass


class QuietHandler(Quiet, IsolatedHandler):
    """The pages as scripts/main.sh serves them, with the headers that let WASM use threads."""


class PlainHandler(Quiet, http.server.SimpleHTTPRequestHandler):
    """A server without the isolation headers, as `python -m http.server` or a static host is."""


@contextlib.contextmanager
def serve(directory: Path, isolated: bool = True):
    handler = functools.partial(QuietHandler if isolated else PlainHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@contextlib.contextmanager
def streamlit_app(environment: dict, timeout: float = 60):
    """`streamlit run streamlit_app/app.py` on a free port of 127.0.0.1; yields its address."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "streamlit", "run", str(root / "streamlit_app" / "app.py"),
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, **environment},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{address}/_stcore/health", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {process.poll()})") from None
                time.sleep(0.3)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def download(page, button, folder: Path) -> Path:
    """Click `button` and keep the file the page downloads in `folder`."""
    with page.expect_download() as started:
        page.click(button)
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path


def open_model_file(chromium, site: str, path: Path):
    """index.html with a generator file from train.html opened through "Open a model file", drawn
    with seed 0; the page's errors are in the returned page's `problems`."""
    sampler = chromium.new_page()
    sampler.problems = []
    sampler.on("pageerror", lambda error: sampler.problems.append(str(error)))
    sampler.goto(f"{site}/?model=mnist&seed=0&samples=10")
    sampler.wait_for_function("window.ganvas && window.ganvas.started", timeout=60000)
    drawn = sampler.evaluate("window.ganvas.drawn")
    sampler.set_input_files("#open-file", str(path))
    sampler.wait_for_function(f"window.ganvas.drawn > {drawn} || window.ganvas.error")
    return sampler


@contextlib.contextmanager
def module_page(chromium, site: str, load: str):
    """A page of `site` (its origin, isolation and vendor/) with TF.js and its WASM backend, and
    `load` evaluated: a script that imports the page's modules under test onto `window`."""
    page = chromium.new_page()
    page.goto(f"{site}/train.html")
    for script in ("tf.min.js", "tf-backend-wasm.min.js"):
        page.add_script_tag(url=f"{site}/vendor/{script}")
    page.evaluate(load)
    try:
        yield page
    finally:
        page.close()
