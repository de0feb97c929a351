"""The WebGPU backend (vendor/tf-backend-webgpu.min.js, web/js/webgpu.js) on the three pages with a
backend menu. In the tests' headless Chromium there is no GPU and no adapter: each menu shows WebGPU
disabled with the reason, and a URL asking for it falls back to WASM with a one-line notice and
the page works as on WASM. With --enable-unsafe-webgpu the same Chromium grants a software adapter
(SwiftShader's Vulkan): there the sampler draws on WebGPU what it draws on WASM, the training page's
default model trains on WebGPU as on the CPU backend, and the page trains on WebGPU."""

import json
import time

import numpy as np
import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, WEBGPU_ARGS, download, require_pages, serve
from conftest import ROOT, require

WEB = ROOT / "web"
pytestmark = pytest.mark.browser

# Each page's state on `window` (its `started` says the page is ready).
PAGES = {"index.html": "window.ganvas", "colorize.html": "window.ganvasColorize", "train.html": "window.ganvasTrain"}


@pytest.fixture(scope="module", autouse=True)
def pages_ready():
    require_pages(WEB / "data" / "mnist" / "dataset.json", WEB / "models" / "emoji-colour" / "manifest.json")


@pytest.fixture(scope="module")
def site():
    with serve(WEB) as url:
        yield url


@pytest.fixture(scope="module")
def driver():
    """One Playwright for both browsers (its synchronous API runs one at a time in a thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch(playwright, extra_args=()):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args], headless=True)


@pytest.fixture(scope="module")
def chromium(driver):
    """The tests' usual headless Chromium: no GPU, and no WebGPU adapter."""
    instance = launch(driver)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def webgpu_chromium(driver):
    """Chromium with SwiftShader's WebGPU adapter (each test requires it: a failure where CI is set)."""
    instance = launch(driver, WEBGPU_ARGS)
    yield instance
    instance.close()


def open_page(chromium, url, name, query=""):
    """A page with its console errors and uncaught errors in `problems`, once it has started."""
    page = chromium.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(f"{url}/{name}{query}")
    state = PAGES[name]
    page.wait_for_function(f"{state} && ({state}.started || {state}.error)", timeout=120000)
    return page


def webgpu_option(page):
    return page.evaluate("""() => {
        const option = document.querySelector("#backend option[value=webgpu]");
        return { text: option.textContent, disabled: option.disabled };
    }""")


def samples(page):
    return np.array(page.evaluate("Array.from(window.ganvas.lastSamples)"), np.float32)


def colorized(page):
    """The colorize page's result, RGB bytes (H, W, 3)."""
    shape, data = page.evaluate("""() => {
        const canvas = document.getElementById("colorized");
        return [[canvas.height, canvas.width], Array.from(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data)];
    }""")
    return np.array(data, np.int16).reshape(*shape, 4)[..., :3]


def has_adapter(chromium, url) -> bool:
    page = chromium.new_page()
    page.goto(f"{url}/style.css")  # a page of the served origin: a secure context
    granted = page.evaluate("async () => Boolean(navigator.gpu && await navigator.gpu.requestAdapter())")
    page.close()
    return granted


# Without an adapter (the tests' usual Chromium): disabled with the reason, and a clean fallback.

def test_the_sampler_offers_webgpu_disabled_and_falls_back_to_wasm(chromium, site):
    plain = open_page(chromium, site, "index.html", "?model=mnist&seed=3&samples=10")
    reason = plain.evaluate("window.ganvas.webgpuProblem")
    assert reason and webgpu_option(plain) == {"text": f"WebGPU: {reason}", "disabled": True}
    assert not plain.is_visible("#notice") and plain.problems == []
    page = open_page(chromium, site, "index.html", "?model=mnist&seed=3&samples=10&backend=webgpu")
    notice = page.inner_text("#notice")
    assert notice == f"WebGPU was asked for but cannot run here ({reason}): using WASM instead." and "\n" not in notice
    assert page.evaluate("window.ganvas.error") is None and not page.is_visible("#error")
    assert page.evaluate("tf.getBackend()") == "wasm" and page.input_value("#backend") == "wasm" and "backend=wasm" in page.url
    assert webgpu_option(page)["disabled"] and page.evaluate("window.ganvas.drawn") == 1
    assert np.array_equal(samples(page), samples(plain)) and samples(page).size == 10 * 28 * 28
    # The page goes on as on WASM: another backend from the menu draws, and the notice goes.
    page.select_option("#backend", "cpu")
    page.wait_for_function("window.ganvas.drawn === 2 && !window.ganvas.busy")
    assert page.evaluate("tf.getBackend()") == "cpu" and not page.is_visible("#notice") and page.problems == []


def test_the_colorize_page_offers_webgpu_disabled_and_falls_back_to_wasm(chromium, site):
    page = open_page(chromium, site, "colorize.html", "?model=emoji-colour&backend=webgpu")
    reason = page.evaluate("window.ganvasColorize.webgpuProblem")
    assert reason and webgpu_option(page) == {"text": f"WebGPU: {reason}", "disabled": True}
    assert page.inner_text("#notice") == f"WebGPU was asked for but cannot run here ({reason}): using WASM instead."
    assert page.evaluate("window.ganvasColorize.error") is None and not page.is_visible("#error")
    assert page.evaluate("tf.getBackend()") == "wasm" and "backend=wasm" in page.url
    page.fill("#emoji-index", "7")
    page.click("#emoji")
    page.wait_for_function("window.ganvasColorize.colorized === 1 && !window.ganvasColorize.busy", timeout=60000)
    assert "on wasm" in page.inner_text("#timing") and page.evaluate("window.ganvasColorize.error") is None
    assert page.problems == []


def test_the_training_page_offers_webgpu_disabled_and_trains_on_wasm_instead(chromium, site):
    page = open_page(chromium, site, "train.html", "?model=cgan&dataset=mnist&backend=webgpu")
    reason = page.evaluate("window.ganvasTrain.webgpuProblem")
    assert reason and webgpu_option(page) == {"text": f"WebGPU: {reason}", "disabled": True}
    assert page.inner_text("#notice") == f"WebGPU was asked for but cannot run here ({reason}): using WASM instead."
    assert page.input_value("#backend") == "wasm" and not page.is_visible("#error")
    # Both models list WebGPU; the browser decides whether it is offered, and still does for the other model.
    assert "Trains on WASM, WebGL, CPU, WebGPU." in page.inner_text("#model-note")
    page.select_option("#model", "cdcgan-small")
    assert webgpu_option(page)["disabled"] and page.input_value("#backend") == "wasm"
    page.select_option("#model", "cgan")
    page.fill("#batch-size", "16")
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.counts.g >= 5 || window.ganvasTrain.error", timeout=120000)
    assert page.evaluate("window.ganvasTrain.error") is None and page.evaluate("window.ganvasTrain.backend") == "wasm"
    assert page.problems == []


# With SwiftShader's software adapter: WebGPU is offered and computes what the other backends do.

def test_the_sampler_draws_on_webgpu_what_it_draws_on_wasm(webgpu_chromium, site):
    require(has_adapter(webgpu_chromium, site), "chromium --enable-unsafe-webgpu grants no WebGPU adapter here")
    page = open_page(webgpu_chromium, site, "index.html", "?model=mnist&seed=3&samples=10&backend=webgpu")
    assert page.evaluate("window.ganvas.error") is None and page.evaluate("window.ganvas.webgpuProblem") is None
    assert webgpu_option(page) == {"text": "WebGPU", "disabled": False} and not page.is_visible("#notice")
    assert page.evaluate("tf.getBackend()") == "webgpu" and "backend=webgpu" in page.url
    on_webgpu = samples(page)
    page.select_option("#backend", "wasm")
    page.wait_for_function("window.ganvas.drawn === 2 && !window.ganvas.busy", timeout=60000)
    assert page.evaluate("tf.getBackend()") == "wasm"
    on_wasm = samples(page)
    # float32 on both; the products are summed in other orders. Switching away from WebGPU moves
    # the model's weights to WASM (models.js reads them back first: a synchronous read gave zeros).
    difference = np.abs(on_webgpu - on_wasm).max()
    print(f"sampler, WebGPU against WASM: {difference:.1e}")
    assert on_webgpu.size == 10 * 28 * 28 and on_wasm.std() > 0.1 and difference < 1e-4
    assert page.evaluate("window.ganvas.error") is None and page.problems == []


def test_the_colorize_page_colours_on_webgpu_as_on_wasm(webgpu_chromium, site):
    require(has_adapter(webgpu_chromium, site), "chromium --enable-unsafe-webgpu grants no WebGPU adapter here")
    page = open_page(webgpu_chromium, site, "colorize.html", "?model=emoji-colour&backend=webgpu")
    assert page.evaluate("tf.getBackend()") == "webgpu" and page.evaluate("window.ganvasColorize.error") is None
    page.fill("#emoji-index", "7")
    page.click("#emoji")
    page.wait_for_function("window.ganvasColorize.colorized === 1 && !window.ganvasColorize.busy", timeout=120000)
    assert "on webgpu" in page.inner_text("#timing")
    on_webgpu = colorized(page)
    page.select_option("#backend", "wasm")
    page.wait_for_function("window.ganvasColorize.colorized === 2 && !window.ganvasColorize.busy", timeout=60000)
    on_wasm = colorized(page)
    assert "on wasm" in page.inner_text("#timing") and np.abs(on_webgpu - on_wasm).max() <= 1
    assert np.abs(on_wasm[..., 0] - on_wasm[..., 2]).mean() > 1  # colour, not grey
    assert page.evaluate("window.ganvasColorize.error") is None and page.problems == []


LOAD = """async () => {
  tf.wasm.setWasmPaths(new URL("vendor/", location.href).href);
  const load = (path) => import(new URL(path, location.href).href);
  const [networks, training] = await Promise.all(["js/train/networks.js", "js/train/training.js"].map(load));
  window.lab = { ...networks, ...training };
}"""

# Plain gradient descent at this rate in place of the page's Adam, so that the weights move by
# lr times their gradients and the two backends' gradients can be compared. Adam's first step moves
# each weight by about lr whatever its gradient's size, so a near-zero gradient summed in another
# order on another machine's SwiftShader can round to the other sign and land 2 lr away (CI: 3.4e-4
# at lr 2e-4); that says nothing about the backend.
STEP_LEARNING_RATE = 1e-2

# One iteration (a D step and a G step) of the page's Training on `backend`, from `initial`
# weights where given, with SGD at `learningRate`; its losses, and the weights before and after.
# Seed 1: the page's seed 0 draws its first D noise from seed 0, which TF.js takes as "no seed".
STEP = """async ({ model, shape, classes, count, backend, initial, learningRate }) => {
  const { Training } = window.lab;
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend`);
  const size = shape.reduce((a, b) => a * b);
  const dataset = { name: "lab", images: Uint8Array.from({ length: count * size }, (_, i) => (i * 37 + (i >> 5)) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => i % classes), count, imageShape: shape,
    labelNames: Array.from({ length: classes }, (_, label) => String(label)) };
  const training = new Training({ model, dataset: "lab", seed: 1, batchSize: count, learningRate, dSteps: 1, gSteps: 1 }, dataset);
  training.dOptimizer = tf.train.sgd(learningRate);
  training.gOptimizer = tf.train.sgd(learningRate);
  const generatorWeights = training.generator.getWeights().length;
  const weights = () => [...training.generator.getWeights(), ...training.discriminator.variables];
  if (initial) {
    training.generator.setWeights(initial.slice(0, generatorWeights).map(([values, shape]) => tf.tensor(values, shape)));
    training.discriminator.variables.forEach((variable, index) => variable.assign(tf.tensor(...initial[generatorWeights + index])));
  }
  const read = () => Promise.all(weights().map(async (weight) => [Array.from(await weight.data()), weight.shape]));
  const before = await read();
  training.iterate();
  const stats = await training.read();
  const after = await read();
  training.dispose();
  return { before, stats, after };
}"""


# The page's default model, whose convolutions run through the page's own ops (networks.js); cgan,
# dense layers alone, trains on WebGPU in the page's test below (its shaders take 100 s to compile
# on SwiftShader, so it is not stepped here too).
@pytest.mark.slow
@pytest.mark.parametrize("model,shape,classes", [("cdcgan-small", [32, 32, 3], 4)])
def test_the_default_model_trains_on_webgpu_as_on_the_cpu_backend(webgpu_chromium, site, model, shape, classes):
    require(has_adapter(webgpu_chromium, site), "chromium --enable-unsafe-webgpu grants no WebGPU adapter here")
    page = webgpu_chromium.new_page()
    page.goto(f"{site}/train.html")
    for script in ("tf.min.js", "tf-backend-wasm.min.js", "tf-backend-webgpu.min.js"):
        page.add_script_tag(url=f"{site}/vendor/{script}")
    page.evaluate(LOAD)
    arguments = dict(model=model, shape=shape, classes=classes, count=8, learningRate=STEP_LEARNING_RATE)
    reference = page.evaluate(STEP, dict(arguments, backend="cpu", initial=None))
    started = time.time()
    webgpu = page.evaluate(STEP, dict(arguments, backend="webgpu", initial=reference["before"]))
    print(f"{model}: one iteration on SwiftShader's WebGPU, compiling its shaders, {time.time() - started:.1f} s")
    for name in ("dLoss", "dReal", "dFake", "gLoss"):
        assert abs(webgpu["stats"][name] - reference["stats"][name]) < 1e-5, name
    # Each weight moved by lr times its gradient: the gradients, read back from the steps, agree to
    # the 1e-4 the issue asked of the page's own convolution gradients (float32 sums in other orders).
    def gradients(run):
        return [np.subtract(start, after, dtype=np.float32) / STEP_LEARNING_RATE
                for (after, _), (start, _) in zip(run["after"], run["before"])]
    expected = gradients(reference)
    assert max(np.abs(gradient).max() for gradient in expected) > 1e-2  # every network learnt something
    differences = [np.abs(got - want).max() for want, got in zip(expected, gradients(webgpu))]
    print(f"{model}: gradients on WebGPU against the CPU backend's: {max(differences):.1e} at most")
    for index, difference in enumerate(differences):
        assert difference < 1e-4, f"{model} weight {index}'s gradient differs by {difference:.1e}"
    page.close()


# About 20 s, most of it cgan's first steps compiling their shaders.
@pytest.mark.slow
def test_the_training_page_trains_on_webgpu_and_switches_to_wasm(webgpu_chromium, site, tmp_path):
    require(has_adapter(webgpu_chromium, site), "chromium --enable-unsafe-webgpu grants no WebGPU adapter here")
    page = open_page(webgpu_chromium, site, "train.html", "?model=cgan&dataset=mnist&backend=webgpu")
    assert page.evaluate("window.ganvasTrain.webgpuProblem") is None and webgpu_option(page) == {"text": "WebGPU", "disabled": False}
    assert page.input_value("#backend") == "webgpu" and page.inner_text("#notice") == ""
    page.fill("#batch-size", "16")
    page.click("#start")
    # Paused at the first count the page shows: before its first label verdict, which takes some
    # 50 s on SwiftShader (the sampler's test above runs the classifier on WebGPU).
    page.wait_for_function("window.ganvasTrain.counts.g >= 1 || window.ganvasTrain.error", timeout=240000)
    assert page.evaluate("window.ganvasTrain.error") is None and page.evaluate("window.ganvasTrain.backend") == "webgpu"
    assert "Training on WebGPU:" in page.inner_text("#status")
    page.click("#pause")
    page.wait_for_function("!window.ganvasTrain.running && window.ganvasTrain.lastCommand === 'pause'", timeout=120000)
    generator = json.loads(download(page, "#download", tmp_path).read_text())
    assert generator["manifest"]["steps"]["g"] >= 1 and generator["generator"]["weightSpecs"]
    counts, draws = page.evaluate("window.ganvasTrain.counts"), page.evaluate("window.ganvasTrain.gridDraws")
    before = np.array(page.evaluate("Array.from(window.ganvasTrain.lastGrid)"), np.float32)
    page.select_option("#backend", "wasm")
    page.wait_for_function(f"window.ganvasTrain.backend === 'wasm' && window.ganvasTrain.gridDraws > {draws}", timeout=120000)
    after = np.array(page.evaluate("Array.from(window.ganvasTrain.lastGrid)"), np.float32)
    assert page.evaluate("window.ganvasTrain.counts") == counts and np.abs(after - before).max() < 1e-4
    assert page.evaluate("window.ganvasTrain.error") is None and page.problems == []
