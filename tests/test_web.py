"""The page in a real browser: Debian's chromium driven by Playwright, the shipped models served
from 127.0.0.1."""

import json
import os
import shutil
import time

import numpy as np
import pytest

from browser import browser, require_pages, serve
from conftest import ROOT, draw_shapes_folder, train

WEB = ROOT / "web"


@pytest.fixture(scope="module", autouse=True)
def pages_ready():
    require_pages()


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def shapes_site(tmp_path_factory):
    """A copy of web/ offering the shipped mnist and "dcgan-shapes", an unconditional dcgan trained
    for one epoch on a folder of 16x16 shapes (its name sorts before mnist's)."""
    from export.__main__ import main as export

    root = tmp_path_factory.mktemp("shapes")
    run = train(root / "runs", "--dataset", f"folder:{draw_shapes_folder(root / 'shapes')}", "--model", "dcgan",
                "--image-size", "16", "--batch-size", "16", "--epochs", "1", run_name="shapes-dcgan")
    site = root / "web"
    shutil.copytree(WEB, site, ignore=shutil.ignore_patterns("node_modules", "models"))
    shutil.copytree(WEB / "models" / "mnist", site / "models" / "mnist")
    arguments = ["--run", str(run), "--name", "dcgan-shapes", "--web-dir", str(site), "--classifiers-dir", str(root)]
    assert export(arguments) == 0
    return site


def open_page(chromium, url, query=""):
    page = chromium.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(f"{url}/{query}")
    page.wait_for_function("window.ganvas && window.ganvas.started", timeout=60000)
    return page


def samples(page):
    return np.array(page.evaluate("Array.from(window.ganvas.lastSamples)"), np.float32)


def test_page_loads_without_errors_and_every_label_draws(chromium):
    with serve(WEB) as url:
        page = open_page(chromium, url, "?model=mnist")
        assert page.evaluate("window.ganvas.error") is None and page.problems == []
        names = json.loads((WEB / "models" / "mnist" / "manifest.json").read_text())["label_names"]
        for index, name in enumerate(names):
            drawn = page.evaluate("window.ganvas.drawn")
            page.click(f"#labels button[data-label='{index}']")
            page.wait_for_function(f"window.ganvas.drawn > {drawn}")
            images = samples(page)
            assert images.shape == (20 * 28 * 28,) and images.max() > 0.5 and images.std() > 0.1, name
            assert page.evaluate("window.ganvas.agreement") >= 0.7, name
        assert page.evaluate("document.getElementById('grid').width") > 0
        assert page.problems == []


def test_the_shipped_emoji_model_draws_in_colour_with_its_group_names(chromium):
    manifest = json.loads((WEB / "models" / "emoji" / "manifest.json").read_text())
    assert manifest["quantization"] == "uint8" and manifest["image_shape"] == [32, 32, 3]
    generator_bytes = sum(file["bytes"] for file in manifest["generator"]["weights"].values())
    assert generator_bytes + (WEB / "models" / "emoji" / "generator" / "model.json").stat().st_size <= 1_000_000
    with serve(WEB) as url:
        page = open_page(chromium, url, "?model=emoji&label=7")
        assert page.evaluate("window.ganvas.error") is None and page.problems == []
        names = page.evaluate("Array.from(document.querySelectorAll('#labels button'), (b) => b.textContent.trim())")
        assert names == manifest["label_names"] and "People & Body" in names
        images = samples(page).reshape(-1, 32, 32, 3)
        assert np.abs(images[..., 0] - images[..., 2]).mean() > 0.02  # colour, not grey
        assert page.evaluate("window.ganvas.agreement") >= 0.5  # the shipped LeNet names most as asked


def test_a_seed_draws_the_same_images_on_the_page_and_with_trainer_sample(chromium, tmp_path):
    from export.tfjs import export_run
    from trainer.__main__ import main

    run = train(tmp_path / "runs", "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50",
                "--model", "cdcgan", "--epochs", "1", run_name="digits")
    site = tmp_path / "web"
    shutil.copytree(WEB, site, ignore=shutil.ignore_patterns("node_modules", "models"))
    export_run(run, "digits", site, quantize="none", classifiers_dir=tmp_path, log=lambda *_: None)
    with serve(site) as url:
        browser_images = samples(open_page(chromium, url, "?model=digits&label=4&seed=11")).reshape(20, 28, 28, 1)
    # One noise generator for both (trainer.sampling.latent_noise is web/js/sampling.js's).
    assert main(["sample", "--run", str(run), "--label", "4", "--n", "20", "--seed", "11", "--out", str(tmp_path / "fours.npy")]) == 0
    python_images = np.load(tmp_path / "fours.npy").astype(np.float32)
    assert np.abs(browser_images - python_images).max() < 1e-3


def test_the_url_reproduces_a_grid_on_both_backends(chromium):
    with serve(WEB) as url:
        first = samples(open_page(chromium, url, "?model=fashion_mnist&label=Trouser&seed=42"))
        again = samples(open_page(chromium, url, "?model=fashion_mnist&label=1&seed=42"))
        cpu_page = open_page(chromium, url, "?model=fashion_mnist&label=1&seed=42&backend=cpu&samples=50")
        assert cpu_page.evaluate("tf.getBackend()") == "cpu" and cpu_page.problems == []
        on_cpu = samples(cpu_page)
        # The page writes everything that made the grid into the URL, and that URL draws it again.
        assert "backend=cpu" in cpu_page.url and "samples=50" in cpu_page.url
        reopened = open_page(chromium, url, cpu_page.url.removeprefix(f"{url}/"))
        assert reopened.evaluate("tf.getBackend()") == "cpu" and np.array_equal(samples(reopened), on_cpu)
        # A count in the URL is clamped like the field's.
        clamped = open_page(chromium, url, "?model=fashion_mnist&samples=1000")
        assert "samples=200" in clamped.url and samples(clamped).size == 200 * 28 * 28
    assert np.array_equal(first, again)
    # The first 20 of 50 samples have the noise of a grid of 20.
    assert on_cpu.size == 50 * 28 * 28 and np.abs(first - on_cpu[:first.size]).max() < 1e-3


def test_bad_models_and_urls_show_the_error_panel(chromium, tmp_path):
    site = tmp_path / "web"
    shutil.copytree(WEB, site, ignore=shutil.ignore_patterns("node_modules"))
    weights = next((site / "models" / "mnist" / "generator").glob("*.bin"))
    content = bytearray(weights.read_bytes())
    content[100] ^= 0xFF
    weights.write_bytes(bytes(content))
    (site / "models" / "fashion_mnist" / "generator" / "model.json").write_text("{ not json")
    cases = {"?model=mnist": "does not match its checksum",
             "?model=fashion_mnist": "is not valid JSON",
             "?model=cifar": 'unknown model "cifar"'}
    with serve(site) as url:
        for query, message in cases.items():
            page = open_page(chromium, url, query)
            assert page.is_visible("#error") and message in page.inner_text("#error"), query
            assert page.inner_text("#about") == "No model is loaded.", query
        # Nothing loaded: Generate says so, and choosing a model under Model loads it.
        page = open_page(chromium, url, "?model=cifar")
        assert page.input_value("#model") == ""
        page.click("#generate")
        page.wait_for_function("window.ganvas.error && window.ganvas.error.includes('no model is loaded')")
        page.select_option("#model", "fashion_mnist")
        page.wait_for_function("window.ganvas.error !== null && window.ganvas.error.includes('not valid JSON')")
        assert page.input_value("#model") == ""
        page.click("#download")
        assert "nothing to download" in page.inner_text("#error") and page.problems == []
    with serve(WEB) as url:
        page = chromium.new_page()  # one page for all: its cache saves loading mnist five times
        for label in ("12", "-1", "1.0", "", "zebra"):
            # The page says what it could not do, and draws label 0 rather than nothing.
            page.goto(f"{url}/?model=mnist&label={label}")
            page.wait_for_function("window.ganvas && window.ganvas.started", timeout=60000)
            assert f'unknown label "{label}"' in page.inner_text("#error"), label
            assert page.evaluate("[window.ganvas.drawn, window.ganvas.label]") == [1, 0], label
            assert "label=0" in page.url and page.inner_text("#labels button.active") == "0", label


def test_a_model_that_fails_to_load_leaves_the_one_in_use_whole(chromium, tmp_path):
    site = tmp_path / "web"
    shutil.copytree(WEB, site, ignore=shutil.ignore_patterns("node_modules"))
    weights = next((site / "models" / "fashion_mnist" / "classifier").glob("*.bin"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"!")
    with serve(site) as url:
        page = open_page(chromium, url, "?model=mnist&label=3")
        page.select_option("#model", "fashion_mnist")
        page.wait_for_function("window.ganvas.error !== null && !window.ganvas.busy")
        assert "classifier of fashion_mnist" in page.inner_text("#error")
        assert page.input_value("#model") == "mnist" and page.evaluate("window.ganvas.manifest.name") == "mnist"
        drawn = page.evaluate("window.ganvas.drawn")
        page.click("#generate")
        page.wait_for_function(f"window.ganvas.drawn > {drawn}")
        assert page.inner_text("#labels button[data-label='3']") == "3" and "model=mnist&label=3" in page.url
        assert page.evaluate("window.ganvas.agreement") >= 0.7


def test_controls_wait_for_a_draw_and_odd_inputs_are_made_sensible(chromium):
    with serve(WEB) as url:
        page = open_page(chromium, url, "?model=mnist&backend=bogus")
        # A backend that cannot start: the page falls back and says so.
        assert "bogus backend failed to start" in page.inner_text("#error") and "using wasm instead" in page.inner_text("#error")
        assert page.input_value("#backend") == "wasm" and page.evaluate("tf.getBackend()") == "wasm"
        page.evaluate("document.getElementById('backend').append(new Option('bogus', 'bogus'))")
        page.select_option("#backend", "bogus")
        page.wait_for_function("window.ganvas.error !== null && !window.ganvas.busy")
        assert page.input_value("#backend") == "wasm" and page.evaluate("tf.getBackend()") == "wasm"
        # Switching models back and forth keeps one model's weights in memory, not every one's.
        tensors = page.evaluate("tf.memory().numTensors")
        for name in ("fashion_mnist", "mnist"):
            page.select_option("#model", name)
            page.wait_for_function(f"window.ganvas.manifest.name === '{name}' && !window.ganvas.busy")
        assert page.evaluate("tf.memory().numTensors") == tensors
        page.select_option("#morph-from", "2")
        page.select_option("#morph-to", "7")
        page.click("#morph")
        # While the morph runs every control is disabled, so no click can change label, model or seed.
        assert page.is_disabled("#labels button[data-label='5']") and page.is_disabled("#model")
        page.wait_for_function("!window.ganvas.busy")
        assert "morph from 2 to 7" in page.inner_text("#timing") and page.inner_text("#verdict") == ""
        assert "model=mnist&label=0" in page.url and not page.is_disabled("#labels button[data-label='5']")
        with page.expect_download() as download:
            page.click("#download")
        assert download.value.suggested_filename == "ganvas-mnist-2-to-7-0.png"
        for asked, drawn in (("2.5", 3), ("0", 1), ("1000", 200), ("", 20)):
            page.fill("#count", asked)
            page.click("#generate")
            page.wait_for_function(f"window.ganvas.lastSamples.length === {drawn * 28 * 28} && !window.ganvas.busy")
            assert page.input_value("#count") == str(drawn)
        assert page.evaluate("window.ganvas.error") is None and page.problems == []


def test_an_unconditional_model_draws_without_labels_and_mnist_opens_first(chromium, shapes_site):
    from export.model_index import update_index

    # A two-day-old list: one a browser may keep for hours without asking the server again.
    index = shapes_site / "models" / "index.json"
    os.utime(index, (time.time() - 2 * 86400,) * 2)
    with serve(shapes_site) as url:
        page = open_page(chromium, url, "?model=dcgan-shapes&label=2&seed=5")
        assert page.evaluate("window.ganvas.error") is None and page.problems == []
        assert samples(page).shape == (20 * 16 * 16 * 3,)
        # Nothing to pick or morph, no label in the URL or the file name, and the header says why.
        assert page.locator("#labels button").count() == 0 and page.is_hidden("#labels") and page.is_hidden("#morph")
        assert "draws without labels" in page.inner_text("#about") and "label" not in page.url
        with page.expect_download() as download:
            page.click("#download")
        assert download.value.suggested_filename == "ganvas-dcgan-shapes-5.png"
        # The data set's folder is named without its path on the machine that trained the model.
        options = page.evaluate("Array.from(document.querySelectorAll('#model option'), (option) => option.text)")
        assert options == ["dcgan-shapes (folder:shapes)", "mnist (mnist)"]
        assert "on folder:shapes," in page.inner_text("#about") and str(shapes_site.parent) not in page.content()
        # A conditional model brings the label controls back.
        page.select_option("#model", "mnist")
        page.wait_for_function("window.ganvas.manifest.name === 'mnist' && !window.ganvas.busy")
        assert page.locator("#labels button").count() == 10 and page.is_visible("#morph")
        assert "model=mnist&label=0" in page.url and "without labels" not in page.inner_text("#about")
        # With no model in the URL the page opens mnist, not whichever sorts first, or mnist-demo,
        # the main job's own export, when there is one, even to a browser that saw the old list.

        def reopen():
            page.goto(url)
            page.wait_for_function("window.ganvas && window.ganvas.started", timeout=60000)
            return page.evaluate("window.ganvas.manifest.name")

        assert reopen() == "mnist"
        demo = shapes_site / "models" / "mnist-demo"
        shutil.copytree(shapes_site / "models" / "mnist", demo)
        update_index(shapes_site / "models")  # a copied folder is listed, and loaded, by its own name
        assert reopen() == "mnist-demo" and "model=mnist-demo&" in page.url


def colorizer_site(root, samplers=("mnist",)):
    """A copy of web/ listing `samplers` and "colours", a colorizer's export (it sorts first). The
    colorizer is its manifest alone, as `python -m export` writes one for a colorize run, but of a
    family the page has never heard of: its one input, grey, is what tells the page. The page must
    not fetch any of it, so it needs no weights."""
    from export.model_index import update_index

    site = root / "web"
    shutil.copytree(WEB, site, ignore=shutil.ignore_patterns("node_modules", "models"))
    for name in samplers:
        shutil.copytree(WEB / "models" / name, site / "models" / name)
    (site / "models" / "colours").mkdir(parents=True)
    (site / "models" / "colours" / "manifest.json").write_text(json.dumps(dict(
        name="colours", dataset="emoji", model="colorize-next", run="emoji-colour", epoch=1, conditional=False,
        label_names=["image"], latent_dim=None, image_shape=[32, 32, 3], channels=3, output_range=[-1.0, 1.0],
        quantization="uint8", inputs=["grey"], bytes=600000,
        generator=dict(path="generator/model.json", weights={}))))
    update_index(site / "models", log=lambda *_: None)
    listed = json.loads((site / "models" / "index.json").read_text())["models"]
    assert [(entry["name"], entry["inputs"]) for entry in listed][0] == ("colours", ["grey"])
    return site


def test_a_colorizer_in_the_list_is_not_offered_as_a_sampler(chromium, tmp_path):
    with serve(colorizer_site(tmp_path)) as url:
        page = open_page(chromium, url)
        fetched = []
        page.on("request", lambda request: fetched.append(request.url))
        assert page.evaluate("window.ganvas.error") is None and page.problems == []
        options = page.evaluate("Array.from(document.querySelectorAll('#model option'), (option) => option.value)")
        assert options == ["mnist"] and page.evaluate("window.ganvas.manifest.name") == "mnist"
        assert samples(page).shape == (20 * 28 * 28,)
        # Asked for by name, it is explained, not loaded.
        page.goto(f"{url}/?model=colours&seed=3")
        page.wait_for_function("window.ganvas && window.ganvas.started", timeout=60000)
        error = page.inner_text("#error")
        assert page.is_visible("#error") and 'model "colours" colorizes photos' in error, error
        assert "is not a sampler" in error and "choose one of: mnist" in error
        assert page.get_attribute("#error a", "href") == "colorize.html?model=colours"  # the page that uses it
        assert page.inner_text("#about") == "No model is loaded." and page.input_value("#model") == ""
        assert not [address for address in fetched if "/models/colours/" in address], fetched
        assert page.problems == []
        # Choosing a sampler then works as after any other error.
        page.select_option("#model", "mnist")
        page.wait_for_function("window.ganvas.manifest && window.ganvas.manifest.name === 'mnist' && !window.ganvas.busy")
        assert page.evaluate("window.ganvas.error") is None


def test_a_list_of_colorizers_only_says_there_is_nothing_to_sample(chromium, tmp_path):
    with serve(colorizer_site(tmp_path, samplers=())) as url:
        page = open_page(chromium, url)
        assert "lists only colorizers" in page.inner_text("#error") and page.problems == []
        assert page.evaluate("document.querySelectorAll('#model option').length") == 0


@pytest.mark.parametrize("damage, message", [
    ("delete manifest.label_names", "its manifest has no label_names"),
    ("generator.modelTopology.config.layers[2].class_name = 'NoSuchLayer'", "its generator does not load or run"),
    ("manifest.image_shape = [20, 20, 1]", "it draws 28x28x1, its manifest says 20x20x1"),
])
def test_a_broken_model_file_is_named_in_one_line_and_the_model_in_use_stays(chromium, tmp_path, damage, message):
    with serve(WEB) as url:
        page = open_page(chromium, url, "?model=mnist&label=3")
        # A file in the right format, broken inside: a small generator saved as train.html saves one.
        text = page.evaluate("""async (damage) => {
          const { modelArtifacts, writeBundle } = await import("./js/bundle.js");
          const latent = tf.input({ shape: [4], name: "latent" }), label = tf.input({ shape: [10], name: "label" });
          const joined = tf.layers.concatenate().apply([latent, label]);
          const image = tf.layers.reshape({ targetShape: [28, 28, 1] }).apply(tf.layers.dense({ units: 784 }).apply(joined));
          const model = tf.model({ inputs: [latent, label], outputs: image });
          const manifest = { name: "broken", dataset: "mnist", model: "cgan", conditional: true, latent_dim: 4,
            image_shape: [28, 28, 1], output_range: [-1, 1], label_names: [..."0123456789"] };
          const bundle = JSON.parse(await writeBundle(manifest, await modelArtifacts(model)));
          const generator = bundle.generator;
          eval(damage.replace(/^(delete )?(manifest|generator)/, "$1bundle.$2"));
          return JSON.stringify(bundle);
        }""", damage)
        path = tmp_path / "broken.ganvas.json"
        path.write_text(text)
        page.set_input_files("#open-file", str(path))
        page.wait_for_function("window.ganvas.error !== null && !window.ganvas.busy")
        error = page.inner_text("#error")
        assert "broken.ganvas.json is damaged" in error and message in error and "\n" not in error.strip(), error
        assert page.evaluate("window.ganvas.manifest.name") == "mnist" and page.input_value("#model") == "mnist"
        drawn = page.evaluate("window.ganvas.drawn")
        page.click("#generate")
        page.wait_for_function(f"window.ganvas.drawn > {drawn}")
        assert page.evaluate("window.ganvas.agreement") >= 0.7
