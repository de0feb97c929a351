"""web/train.html in a real browser: Debian's chromium driven by Playwright, web/ served from
127.0.0.1 with the isolation headers scripts/main.sh sends. Small batches keep each check to
seconds; the page's defaults are those of the CLI's families."""

import base64
import hashlib
import json
import os
import re
import time

import numpy as np
import pytest

from browser import browser, download, open_model_file, require_pages, serve
from conftest import ROOT

WEB = ROOT / "web"


@pytest.fixture(scope="module", autouse=True)
def pages_ready():
    require_pages(WEB / "data" / "mnist" / "dataset.json")


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def site():
    with serve(WEB) as url:
        yield url


def open_training(chromium, url, query="", context=None):
    page = (context or chromium).new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(f"{url}/train.html{query}")
    page.wait_for_function("window.ganvasTrain && window.ganvasTrain.started", timeout=30000)
    return page


def read(page, expression="window.ganvasTrain"):
    return page.evaluate(f"JSON.parse(JSON.stringify({expression}))")


def grid(page):
    return np.array(page.evaluate("Array.from(window.ganvasTrain.lastGrid)"), np.float32)


def start(page, batch_size=None, learning_rate=None):
    if batch_size:
        page.fill("#batch-size", str(batch_size))
    if learning_rate:
        page.fill("#learning-rate", str(learning_rate))
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=60000)
    assert read(page, "window.ganvasTrain.error") is None


def train_until(page, steps, timeout=120, also="true"):
    """Wait for `steps` G steps, and for `also` (a condition on the page) where given."""
    page.wait_for_function(f"window.ganvasTrain.counts.g >= {steps} && ({also}) || window.ganvasTrain.error",
                           timeout=timeout * 1000)
    assert read(page, "window.ganvasTrain.error") is None


def pause(page):
    page.click("#pause")
    page.wait_for_function("!window.ganvasTrain.running && window.ganvasTrain.lastCommand === 'pause'")


def trained_and_saved(chromium, site, steps, batch_size):
    """A page in a browser context of its own (its own IndexedDB) that trained `steps` steps of
    cgan and saved them."""
    context = chromium.new_context()
    page = open_training(chromium, site, "?model=cgan&backend=wasm", context=context)
    start(page, batch_size=batch_size)
    train_until(page, steps)
    pause(page)
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.saved")
    return context, page


@pytest.mark.parametrize("model,backend,batch", [("cgan", "wasm", 32), ("cgan", "webgl", 32), ("cgan", "cpu", 16),
                                                 ("cdcgan-small", "wasm", 8), ("cdcgan-small", "webgl", 8), ("cdcgan-small", "cpu", 8)])
def test_each_model_trains_on_the_backends_that_can_train_it(chromium, site, model, backend, batch):
    page = open_training(chromium, site, f"?model={model}&backend={backend}&dataset=mnist")
    start(page, batch_size=batch)
    status = read(page)
    assert status["backend"] == backend
    grids_before = status["gridDraws"]
    # Enough steps for the curves to move and the grid to redraw. Steps are slow on the software
    # WebGL and the plain-JS CPU backend (the conv model's take seconds), so there they are fewer:
    # Pause then comes before the classifier's first verdict, also slow there, falls due.
    train_until(page, 20 if backend == "wasm" else 6 if model == "cgan" else 3, timeout=240)
    pause(page)
    status = read(page)
    curves = status["curves"]
    losses = np.array([curves["dLoss"], curves["gLoss"]], np.float64)
    assert np.isfinite(losses).all() and len(np.unique(losses[0])) > 1 and len(np.unique(losses[1])) > 1
    assert status["gridDraws"] > grids_before
    assert grid(page).shape == (10 * 10 * 28 * 28,)
    # Paused means paused: the step count stands still.
    counts = status["counts"]
    time.sleep(1.5)
    assert read(page, "window.ganvasTrain.counts") == counts
    # Single steps move one network at a time.
    page.click("#d-step")
    page.wait_for_function(f"window.ganvasTrain.counts.d === {counts['d'] + 1}")
    page.click("#g-step")
    page.wait_for_function(f"window.ganvasTrain.counts.g === {counts['g'] + 1}")
    assert read(page, "window.ganvasTrain.counts.d") == counts["d"] + 1
    assert not page.problems
    page.close()


def test_the_conv_model_is_offered_on_every_backend(chromium, site):
    # WASM too: web/js/train/wasm-conv-grads.js gives its backend the convolution gradients.
    page = open_training(chromium, site, "?model=cdcgan-small&backend=wasm")
    # WebGPU as well where the browser starts it (here it has no adapter: tests/test_webgpu.py).
    assert not page.evaluate("[...document.querySelectorAll('#backend option:not([value=webgpu])')].some((option) => option.disabled)")
    assert page.input_value("#backend") == "wasm"
    assert "Trains on WASM, WebGL, CPU, WebGPU." in page.text_content("#model-note")
    page.close()


def test_wasm_uses_a_thread_per_core_when_isolated_and_one_without(chromium, site):
    page = open_training(chromium, site, "?model=cgan&backend=wasm")
    start(page, batch_size=16)
    expected = min(4, page.evaluate("navigator.hardwareConcurrency"))
    assert read(page, "window.ganvasTrain.threads") == expected
    page.close()
    with serve(WEB, isolated=False) as plain:
        page = open_training(chromium, plain, "?model=cgan&backend=wasm")
        start(page, batch_size=16)
        train_until(page, 5)
        assert read(page, "window.ganvasTrain.threads") == 1
        page.close()


def test_views_update_every_second_and_the_tensor_count_stays_flat(chromium, site):
    page = open_training(chromium, site, "?model=cgan&backend=wasm")
    start(page, batch_size=8)
    train_until(page, 300)
    early = read(page, "window.ganvasTrain.tensors")
    # 800 more steps, and two of the classifier's verdicts (one every 4 s) to time.
    train_until(page, 1100, timeout=240, also="window.ganvasTrain.accuracy.length >= 2")
    pause(page)
    page.evaluate("window.ganvasTrain.tensors = null")
    page.wait_for_timeout(300)
    assert read(page, "window.ganvasTrain.viewUpdates").__len__() > 10
    updates = np.diff(read(page, "window.ganvasTrain.viewUpdates"))
    assert updates.max() < 1000, f"the views waited {updates.max():.0f} ms between two updates"
    # The classifier's verdicts came along, at least 4 s apart, the first after the first steps.
    verdicts = read(page, "window.ganvasTrain.accuracy")
    assert len(verdicts) >= 2 and all(0 <= verdict["value"] <= 1 and verdict["step"] > 0 for verdict in verdicts)
    assert np.diff([verdict["seconds"] for verdict in verdicts]).min() > 3.5
    assert page.is_visible("#accuracy-view")
    # The count after the pause's last report: what a leak of one tensor a step would show as 800 more.
    page.evaluate("window.ganvasTrain.tensors = null")
    page.click("#d-step")
    page.wait_for_function("window.ganvasTrain.tensors !== null")
    assert read(page, "window.ganvasTrain.tensors") <= early
    page.close()


def test_save_then_reload_continues_with_the_same_weights_and_steps(chromium, site):
    context, page = trained_and_saved(chromium, site, 40, batch_size=32)
    before = read(page)
    before_grid = grid(page)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert page.is_visible("#saved-offer")
    assert f"{before['counts']['g']} G steps" in page.text_content("#saved-text")
    page.click("#continue")
    page.wait_for_function("window.ganvasTrain.ready && window.ganvasTrain.gridDraws > 0 || window.ganvasTrain.error")
    after = read(page)
    assert after["error"] is None
    assert after["counts"] == before["counts"]
    assert len(after["curves"]["dLoss"]) == len(before["curves"]["dLoss"])
    np.testing.assert_allclose(grid(page), before_grid, atol=1e-6)
    # It goes on from there.
    page.click("#resume")
    train_until(page, before["counts"]["g"] + 10)
    page.close()
    context.close()


# The page's start message with another noise size, as cdcgan-small had (64) before its
# defaults changed; and the saved options without it, as the page saved them then.
START_WITH_64_NOISE_DIMENSIONS = """() => {
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message?.type === "start") message.options.latentDim = 64;
    return post.call(this, message, ...rest);
  };
}"""
SAVE_AS_BEFORE = """async (key) => {
  const db = await new Promise((resolve) => { const request = indexedDB.open("ganvas", 1); request.onsuccess = () => resolve(request.result); });
  const store = () => db.transaction("trainings", "readwrite").objectStore("trainings");
  const record = await new Promise((resolve) => { const request = store().get(key); request.onsuccess = () => resolve(request.result); });
  delete record.options.latentDim;
  delete record.options.beta1;
  await new Promise((resolve) => { store().put(record).onsuccess = resolve; });
  db.close();
}"""


def test_a_save_from_before_the_options_kept_the_noise_size_continues(chromium, site):
    context = chromium.new_context()
    page = open_training(chromium, site, "?model=cdcgan-small&backend=wasm", context=context)
    page.evaluate(START_WITH_64_NOISE_DIMENSIONS)
    start(page, batch_size=8)
    train_until(page, 5)
    pause(page)
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.saved")
    page.evaluate(SAVE_AS_BEFORE, "mnist/cdcgan-small")
    before, before_grid = read(page), grid(page)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    page.click("#continue")
    page.wait_for_function("window.ganvasTrain.ready && window.ganvasTrain.gridDraws > 0 || window.ganvasTrain.error")
    after = read(page)
    assert after["error"] is None
    assert after["counts"] == before["counts"] and after["options"]["latentDim"] == 64
    np.testing.assert_allclose(grid(page), before_grid, atol=1e-6)
    context.close()


# Playwright keeps every page it drives visible (it emulates focus), so the page is told it is
# hidden as the browser tells it; bench/web_train.py --background hides a tab for real.
SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
  Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_tab_trains_on_draws_nothing_and_saves_what_it_learned(chromium, site):
    context = chromium.new_context()
    page = open_training(chromium, site, "?model=cgan&backend=wasm", context=context)
    start(page, batch_size=8)
    train_until(page, 20)
    page.evaluate(SET_HIDDEN, True)
    page.wait_for_function("window.ganvasTrain.saved?.reason === 'hidden'")
    assert "when the tab was hidden" in page.text_content("#notice")
    draws, steps = read(page, "window.ganvasTrain.gridDraws"), read(page, "window.ganvasTrain.counts.g")
    page.wait_for_timeout(2500)  # two grids' worth: the worker sends them, the hidden page keeps them
    assert read(page, "window.ganvasTrain.counts.g") > steps + 10, "the training stopped while the tab was hidden"
    assert read(page, "window.ganvasTrain.gridDraws") == draws
    page.evaluate(SET_HIDDEN, False)
    page.wait_for_function(f"window.ganvasTrain.gridDraws > {draws}", timeout=5000)
    assert [entry["state"] for entry in read(page, "window.ganvasTrain.visibility")] == ["hidden", "visible"]
    # A tab the browser discarded while hidden comes back as a reload: the save is offered.
    saved = read(page, "window.ganvasTrain.saved")
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert page.is_visible("#saved-offer")
    assert f"{saved['counts']['g']} G steps" in page.text_content("#saved-text")
    # Another training of the same data set and model, started afresh, hidden: the save of the
    # first is not replaced behind the user's back.
    start(page, batch_size=8)
    train_until(page, 5)
    page.evaluate(SET_HIDDEN, True)
    page.wait_for_function("document.getElementById('notice').textContent.startsWith('Not saved when the tab was hidden')")
    page.evaluate(SET_HIDDEN, False)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert f"{saved['counts']['g']} G steps" in page.text_content("#saved-text")
    context.close()


@pytest.mark.parametrize("model", ["cgan", "cdcgan-small"])
def test_the_downloaded_generator_opens_in_the_sampler(chromium, site, tmp_path, model):
    page = open_training(chromium, site, f"?model={model}&backend=wasm")
    start(page, batch_size=32)
    train_until(page, 30)
    pause(page)
    rows = grid(page).reshape(10, 10, 28, 28)
    path = download(page, "#download", tmp_path)
    bundle = json.loads(path.read_text())
    assert bundle["manifest"]["dataset"] == "mnist" and bundle["manifest"]["model"] == model
    assert path.stat().st_size <= 1_000_000, f"the {model} generator's file is {path.stat().st_size} bytes"
    page.close()

    sampler = open_model_file(chromium, site, path)
    assert sampler.evaluate("window.ganvas.error") is None
    assert sampler.evaluate("window.ganvas.manifest.name") == bundle["manifest"]["name"]
    assert f"{model} on mnist" in sampler.text_content("#about")
    # The same seed draws the same images on both pages: label 0's row of the grid.
    samples = np.array(sampler.evaluate("Array.from(window.ganvas.lastSamples)"), np.float32).reshape(10, 28, 28)
    np.testing.assert_allclose(samples, rows[0], atol=1e-4)
    assert "classifier agrees" in sampler.text_content("#verdict")
    assert not sampler.problems
    sampler.close()


def linked_site(root, leave_out=()):
    """A copy of web/ as links, but for the entries named, which the caller fills in."""
    root.mkdir()
    for entry in WEB.iterdir():
        if entry.name not in ("node_modules", *leave_out):
            os.symlink(entry, root / entry.name)
    return root


def test_a_backend_that_cannot_start_is_named_and_nothing_trains(chromium, tmp_path):
    site = linked_site(tmp_path / "web", leave_out=("vendor",))
    (site / "vendor").mkdir()
    for script in ("tf.min.js", "tf-backend-wasm.min.js"):  # but none of the .wasm binaries
        os.symlink(WEB / "vendor" / script, site / "vendor" / script)
    with serve(site) as url:
        page = open_training(chromium, url, "?model=cgan&backend=wasm")
        page.click("#start")
        page.wait_for_function("window.ganvasTrain.error", timeout=60000)
        assert "the wasm backend cannot start in this browser; choose another backend" in read(page, "window.ganvasTrain.error")
        assert not read(page, "window.ganvasTrain.running") and not page.is_disabled("#start")
        page.close()


@pytest.mark.parametrize("damage,message", [("truncate", "has 1000 bytes, dataset.json says"), ("remove", "answered 404"),
                                            ("corrupt", "does not match its checksum")])
def test_a_missing_or_damaged_data_file_is_named_and_nothing_trains(chromium, tmp_path, damage, message):
    site = linked_site(tmp_path / "web", leave_out=("data",))
    data = site / "data" / "mnist"
    data.mkdir(parents=True)
    os.symlink(WEB / "data" / "mnist" / "dataset.json", data / "dataset.json")
    os.symlink(WEB / "data" / "mnist" / "labels.bin", data / "labels.bin")
    images = (WEB / "data" / "mnist" / "images.bin").read_bytes()
    if damage == "truncate":
        (data / "images.bin").write_bytes(images[:1000])
    elif damage == "corrupt":
        (data / "images.bin").write_bytes(images[:-1] + bytes([images[-1] ^ 1]))
    with serve(site) as url:
        page = open_training(chromium, url, "?model=cgan&backend=wasm")
        page.click("#start")
        page.wait_for_function("window.ganvasTrain.error", timeout=60000)
        error = read(page, "window.ganvasTrain.error")
        assert message in error and "images.bin" in error and "setup" in error
        assert page.is_visible("#error")
        assert not read(page, "window.ganvasTrain.running")
        page.close()


def test_non_finite_losses_pause_the_training_with_a_message_and_keep_the_save(chromium, site):
    """A saved training whose discriminator weights are finite but huge, saved by the page before
    it wrote checksums: it is valid, so it continues; its losses are not finite, and the page
    pauses with a message instead of training on, the save untouched."""
    context, page = trained_and_saved(chromium, site, 10, batch_size=16)
    damage = """new Promise((resolve, reject) => {
      const open = indexedDB.open("ganvas", 1);
      open.onsuccess = () => {
        const store = open.result.transaction("trainings", "readwrite").objectStore("trainings");
        const get = store.get("mnist/cgan");
        get.onsuccess = () => {
          const record = get.result;
          for (const { data } of record.discriminator) data.fill(3e38);
          delete record.checksum;
          const put = store.put(record);
          put.onsuccess = () => resolve(record.counts);
          put.onerror = reject;
        };
      };
    })"""
    counts = page.evaluate(damage)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert not page.is_visible("#saved-damaged")
    page.click("#continue")
    page.wait_for_function("window.ganvasTrain.ready")
    page.click("#resume")
    page.wait_for_function("window.ganvasTrain.error", timeout=60000)
    assert "not finite" in read(page, "window.ganvasTrain.error") and page.is_visible("#error")
    page.wait_for_function("!window.ganvasTrain.running")
    assert not page.is_disabled("#resume")
    # The damaged save is refused again rather than written over with more NaN.
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.lastCommand === 'save'")
    assert "not finite" in read(page, "window.ganvasTrain.error")
    assert page.evaluate(damage.replace("for (const { data } of record.discriminator) data.fill(3e38);", "")) == counts
    assert not page.problems
    page.close()
    context.close()


# The saved record, kept whole in a database of the tests' own, damaged into the page's store, and
# a fingerprint of what the page's store holds (a SHA-256 of every buffer), to tell it untouched.
SAVED_JS = """
const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
const store = async (name, storeName, mode) => {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(storeName, { keyPath: "key" });
  return (await request(open)).transaction(storeName, mode).objectStore(storeName);
};
const trainings = (mode) => store("ganvas", "trainings", mode);
const pristine = (mode) => store("ganvas-tests", "records", mode);
const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
async function fingerprint(value) {
  if (value instanceof Blob) return "Blob:" + hex(await crypto.subtle.digest("SHA-256", await value.arrayBuffer()));
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return value.constructor.name + ":" + hex(await crypto.subtle.digest("SHA-256", bytes));
  }
  if (typeof value === "number") return "number:" + String(value);
  if (Array.isArray(value)) return Promise.all(value.map(fingerprint));
  if (value && typeof value === "object") {
    return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([name, inner]) => [name, await fingerprint(inner)])));
  }
  return value;
}
"""

DAMAGES = {
    "cut weight array": ("record.discriminator[0].data = record.discriminator[0].data.slice(0, -7);",
                         "weight discriminator/0 has 101625 values, 101632 expected"),
    "cut generator bytes": ("record.generator.weightData = record.generator.weightData.slice(0, -28);",
                            r"weight generator/\S+/bias has 777 values, 784 expected"),
    "no optimizer state": ("delete record.optimizers;", "its optimizer state is missing"),
    "no counts": ("delete record.counts;", "its step counts are missing"),
    "NaN in weights": ("new Float32Array(record.generator.weightData)[5] = NaN;",
                       r"weight generator/\S+/kernel holds NaN at value 5: not a finite number"),
    "wrong checksum": ("new Uint8Array(record.generator.weightData)[0] ^= 1;",
                       r'its weights do not match their checksum \("fnv1a32:[0-9a-f]{8}" saved, "fnv1a32:[0-9a-f]{8}" now\)'),
    # Sound on its own, but not the discriminator that cgan builds: found only on Continue.
    "wrong shape": ("record.discriminator[0].shape = [128, 794];", "weight discriminator/0 has shape 128 × 794, 794 × 128 expected"),
}


@pytest.fixture(scope="module")
def saved_page(chromium, site):
    """A page of its own browser context that trained cgan and saved it, the record kept aside."""
    context, page = trained_and_saved(chromium, site, 10, batch_size=16)
    page.evaluate(f"""(async () => {{ {SAVED_JS}
      const record = await request((await trainings("readonly")).get("mnist/cgan"));
      await request((await pristine("readwrite")).put(record));
    }})()""")
    yield page
    page.close()
    context.close()


def damage_saved(page, code):
    """The pristine record, damaged by `code` (JS on `record`), into the page's store; its
    fingerprint and its date as the page writes dates."""
    return page.evaluate(f"""(async () => {{ {SAVED_JS}
      const record = await request((await pristine("readonly")).get("mnist/cgan"));
      {code}
      await request((await trainings("readwrite")).put(record));
      return [await fingerprint(record), new Date(record.savedAt).toLocaleString()];
    }})()""")


def saved_fingerprint(page):
    return page.evaluate(f"(async () => {{ {SAVED_JS} return fingerprint(await request((await trainings('readonly')).get('mnist/cgan'))); }})()")


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_save_is_named_kept_downloadable_and_a_fresh_start_works(saved_page, tmp_path, damage):
    page = saved_page
    code, what = DAMAGES[damage]
    before, date = damage_saved(page, code)
    page.problems, console = [], []

    def on_console(message):
        if message.type == "error":
            console.append(message.text)

    page.on("console", on_console)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    if damage == "wrong shape":
        assert page.is_visible("#saved-offer") and not page.is_visible("#saved-damaged")
        page.click("#continue")
        page.wait_for_function("window.ganvasTrain.damaged || window.ganvasTrain.ready")
    assert page.is_visible("#saved-damaged") and not page.is_visible("#saved-offer") and not page.is_visible("#error")
    line = page.text_content("#damaged-text")
    assert re.fullmatch(re.escape(f"the saved training of {date} is damaged: ") + what, line), line
    assert "\n" not in line and read(page, "window.ganvasTrain.damaged") == {"key": "mnist/cgan", "message": line}
    assert "starting afresh leaves it there" in page.text_content("#damaged-note")
    assert saved_fingerprint(page) == before

    # The raw record, as IndexedDB holds it.
    path = download(page, "#download-saved", tmp_path)
    kept = json.loads(path.read_text())
    assert kept["format"] == "ganvas-saved-training" and kept["record"]["key"] == "mnist/cgan"
    weights = base64.b64decode(kept["record"]["generator"]["weightData"]["base64"])
    assert before["generator"]["weightData"] == "ArrayBuffer:" + hashlib.sha256(weights).hexdigest()

    # A fresh start of the same data set and model, the damaged save left as it was.
    page.click("#fresh")
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=60000)
    assert read(page, "window.ganvasTrain.options.model") == "cgan"
    train_until(page, 5)
    assert read(page, "window.ganvasTrain.error") is None
    assert "still in this browser, untouched" in page.text_content("#notice")
    assert saved_fingerprint(page) == before
    page.remove_listener("console", on_console)
    assert not page.problems and not console, (page.problems, console)


def test_saving_a_fresh_training_replaces_a_damaged_save(saved_page):
    page = saved_page
    damage_saved(page, DAMAGES["no counts"][0])
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    page.click("#fresh")
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=60000)
    train_until(page, 5)
    pause(page)
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.saved")
    assert not page.is_visible("#saved-damaged") and "in place of the damaged save" in page.text_content("#notice")
    counts = read(page, "window.ganvasTrain.counts")
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert not page.is_visible("#saved-damaged") and page.is_visible("#saved-offer")
    assert f"{counts['g']} G steps" in page.text_content("#saved-text")
    page.click("#continue")
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error")
    assert read(page, "window.ganvasTrain.error") is None and read(page, "window.ganvasTrain.counts") == counts
    assert not page.problems


@pytest.mark.parametrize("model", ["cgan", "cdcgan-small"])
def test_switching_the_backend_keeps_the_training(chromium, site, model):
    page = open_training(chromium, site, f"?model={model}&backend=wasm")
    start(page, batch_size=16 if model == "cgan" else 8)  # the conv model's steps on the CPU backend are slow
    train_until(page, 10)
    pause(page)
    before, before_grid = read(page, "window.ganvasTrain.counts"), grid(page)
    draws = read(page, "window.ganvasTrain.gridDraws")
    page.select_option("#backend", "cpu")
    page.wait_for_function(f"window.ganvasTrain.backend === 'cpu' && window.ganvasTrain.gridDraws > {draws}")
    assert read(page, "window.ganvasTrain.counts") == before
    np.testing.assert_allclose(grid(page), before_grid, atol=1e-5)
    page.click("#resume")
    train_until(page, before["g"] + 5)
    assert read(page, "window.ganvasTrain.error") is None
    page.close()


def test_the_default_model_is_the_conv_model_on_wasm(chromium, site):
    """A user who presses Start without choosing gets the model that reaches 95 % in 300 s
    (docs/browser-training.md): cdcgan-small, with its recipe's options, on WASM."""
    page = open_training(chromium, site)
    assert page.input_value("#model") == "cdcgan-small" and page.input_value("#backend") == "wasm"
    assert float(page.input_value("#learning-rate")) == 1.6e-3 and float(page.input_value("#average-decay")) == 0.99
    page.close()
