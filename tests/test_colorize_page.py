"""web/colorize.html in a real browser (Debian's chromium driven by Playwright, a copy of web/
served from 127.0.0.1) with a tiny colorizer trained here for one epoch: its pixels against
`trainer colorize`'s on the same photo and run, every bad file in one line, tensors freed.
Nothing here judges colour quality: the model has seen 32 discs once."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import browser, download, require_pages, serve
from conftest import ROOT, require, train
from test_colorize import draw_flat_folder, png_header

WEB = ROOT / "web"


@pytest.fixture(scope="module")
def chromium():
    require_pages()
    with browser() as instance:
        yield instance


def site_copy(root: Path) -> Path:
    """The pages and scripts of web/ in `root`, with links to its vendor/ and data/ and no models."""
    root.mkdir(parents=True)
    for page in WEB.glob("*.html"):
        shutil.copy(page, root)
    shutil.copy(WEB / "style.css", root)
    shutil.copytree(WEB / "js", root / "js")
    for folder in ("vendor", "data"):
        (root / folder).symlink_to(WEB / folder)
    return root


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """A colorize run of one epoch on 32 colour discs at 32 px, exported unquantized (so that
    TF.js computes what Keras does) as "colours" into a copy of web/."""
    from export.tfjs import export_run

    require((WEB / "node_modules" / "@tensorflow" / "tfjs").exists(), "web/node_modules is empty: run the set-up")
    root = tmp_path_factory.mktemp("colorize-page")
    folder = draw_flat_folder(root / "discs")
    run = train(root / "runs", "--dataset", f"folder:{folder}", "--model", "colorize", "--image-size", "32",
                "--batch-size", "8", "--epochs", "1", run_name="colours")
    site = site_copy(root / "web")
    export_run(run, "colours", site, quantize="none", classifiers_dir=root, log=lambda *_: None)
    graph = json.loads((site / "models" / "colours" / "generator" / "model.json").read_text())
    assert "Einsum" not in {node["op"] for node in graph["modelTopology"]["node"]}  # WASM has no Einsum
    return dict(site=site, run=run)


def open_page(chromium, url, query=""):
    page = chromium.new_page(accept_downloads=True)
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(f"{url}/colorize.html{query}")
    page.wait_for_function("window.ganvasColorize && (window.ganvasColorize.started || window.ganvasColorize.error)",
                           timeout=60000)
    return page


def act(page, action):
    """Do `action` (a function of the page) and wait until the page has finished with it."""
    before = page.evaluate("window.ganvasColorize.actions")
    action(page)
    page.wait_for_function(f"window.ganvasColorize.actions > {before}", timeout=60000)


def canvas_pixels(page, canvas):
    """RGB bytes (H, W, 3) of one of the page's canvases."""
    shape, data = page.evaluate(f"""() => {{
        const canvas = document.getElementById("{canvas}");
        const {{ data }} = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        return [[canvas.height, canvas.width], Array.from(data)];
    }}""")
    return np.array(data, np.int16).reshape(*shape, 4)[..., :3]


def test_a_grey_photo_is_coloured_as_trainer_colorize_colours_it(chromium, colours, tmp_path):
    from trainer.__main__ import main

    rng = np.random.default_rng(3)
    with serve(colours["site"]) as url:
        page = open_page(chromium, url)
        assert page.evaluate("window.ganvasColorize.error") is None and page.problems == []
        assert page.input_value("#model") == "colours" and "backend=wasm" in page.url
        # 90 x 60 is squeezed to 32 x 32 by LANCZOS alone, across first; 60 x 90 down first (the
        # pass order Pillow 13 picks); 200 x 120 is box-reduced 2 x 1 first (reducing_gap); 32 x 32
        # goes through untouched.
        for width, height in ((90, 60), (60, 90), (200, 120), (32, 32)):
            blobs = rng.integers(0, 256, (height // 10 + 1, width // 10 + 1, 3), dtype=np.uint8)
            colour = Image.fromarray(blobs).resize((width, height), Image.Resampling.BICUBIC)
            grey_path = tmp_path / f"photo-{width}.png"
            colour.convert("L").save(grey_path)
            act(page, lambda page: page.set_input_files("#photo", str(grey_path)))
            assert page.evaluate("window.ganvasColorize.error") is None
            on_page = np.asarray(Image.open(download(page, "#download", tmp_path / "page")).convert("RGB"), np.int16)
            assert main(["colorize", "--run", str(colours["run"]), str(grey_path), "--out", str(tmp_path / "cli.png")]) == 0
            by_cli = np.asarray(Image.open(tmp_path / "cli.png"), np.int16)
            assert on_page.shape == by_cli.shape == (height, width, 3)
            assert np.abs(on_page[..., 0] - on_page[..., 2]).mean() > 0.1  # colour, not grey
            # The same pixels (they were, bit for bit, when written); TF.js's float rounding may
            # move a byte by one.
            difference = np.abs(on_page - by_cli)
            assert difference.max() <= 1 and difference.mean() < 0.01, (width, difference.max(), difference.mean())
            grey = np.asarray(Image.open(grey_path), np.int16)
            assert np.abs(np.asarray(Image.fromarray(on_page.astype(np.uint8)).convert("L"), np.int16) - grey).max() <= 1
            np.testing.assert_array_equal(canvas_pixels(page, "grey")[..., 0], grey)
            np.testing.assert_array_equal(canvas_pixels(page, "colorized"), on_page)
            timing = page.inner_text("#timing")
            assert f"{width} x {height}: colorized in" in timing and " ms on wasm" in timing
            assert ("saw it at 32 x 32" in timing) == (width != 32)
        assert page.problems == []


@pytest.mark.parametrize("name, make, message", [
    ("notes.png", lambda path: path.write_text("not a picture"), "notes.png is not an image this page can read"),
    ("anim.gif", lambda path: Image.new("RGB", (20, 20)).save(
        path, save_all=True, duration=100, append_images=[Image.new("RGB", (20, 20), (0, 90 * index, 0)) for index in (1, 2)]),
     "anim.gif is animated (3 frames); colorize takes still images"),
    ("dot.png", lambda path: Image.new("RGB", (1, 1)).save(path), "dot.png is 1 x 1: too small to colorize"),
    ("huge.png", lambda path: png_header(path, 20000, 20000), "huge.png is 20000 x 20000 (400 megapixels), more than the 40"),
    ("wide.png", lambda path: png_header(path, 8000, 6000), "wide.png is 8000 x 6000 (48 megapixels), more than the 40"),
    ("print.jpg", lambda path: Image.new("CMYK", (20, 20), (0, 50, 50, 0)).save(path), "print.jpg is a CMYK (print) image"),
    ("cut.png", lambda path: png_header(path, 100, 100), "cut.png is damaged"),
])
def test_each_bad_file_is_one_line_and_the_result_on_show_stays(chromium, colours, tmp_path, name, make, message):
    # A gigantic photo is refused by its header: huge.png and wide.png hold no pixels at all, so a
    # page that decoded them first would call them damaged.
    make(tmp_path / name)
    Image.new("RGB", (40, 30), (200, 40, 40)).save(tmp_path / "good.png")
    with serve(colours["site"]) as url:
        page = open_page(chromium, url)
        act(page, lambda page: page.set_input_files("#photo", str(tmp_path / "good.png")))
        shown = canvas_pixels(page, "colorized")
        act(page, lambda page: page.set_input_files("#photo", str(tmp_path / name)))
        error = page.inner_text("#error")
        assert page.is_visible("#error") and message in error and "\n" not in error.strip(), error
        assert page.evaluate("window.ganvasColorize.colorized") == 1 and page.problems == []
        np.testing.assert_array_equal(canvas_pixels(page, "colorized"), shown)
        # Nothing is stuck: the next good photo is coloured and the message goes.
        act(page, lambda page: page.set_input_files("#photo", str(tmp_path / "good.png")))
        assert page.evaluate("window.ganvasColorize.colorized") == 2 and not page.is_visible("#error")


def test_emoji_backends_and_tensors(chromium, colours):
    from trainer.photos import MAX_PIXELS, MIN_SIDE

    with serve(colours["site"]) as url:
        page = open_page(chromium, url)
        assert page.evaluate("window.ganvasColorize.limits") == dict(MAX_PIXELS=MAX_PIXELS, MIN_SIDE=MIN_SIDE)
        counts = []
        for index in (7, 8, 7, 1500, 7):
            page.fill("#emoji-index", str(index))
            act(page, lambda page: page.click("#emoji"))
            counts.append(page.evaluate("tf.memory().numTensors"))
        assert len(set(counts)) == 1, counts  # every colorization frees what it made
        assert "emoji 7 (" in page.inner_text("#timing") and canvas_pixels(page, "original").shape == (32, 32, 3)
        on_wasm = canvas_pixels(page, "colorized")
        # Changing the backend colours the emoji on show again, the same to float rounding.
        act(page, lambda page: page.select_option("#backend", "cpu"))
        assert page.evaluate("tf.getBackend()") == "cpu" and "backend=cpu" in page.url
        assert np.abs(canvas_pixels(page, "colorized") - on_wasm).max() <= 1
        assert page.evaluate("window.ganvasColorize.error") is None and page.problems == []


def test_a_dropped_or_pasted_photo_is_coloured(chromium, colours, tmp_path):
    import base64
    import io

    png = io.BytesIO()
    Image.new("L", (24, 16), 90).save(png, format="PNG")
    with serve(colours["site"]) as url:
        page = open_page(chromium, url)
        for event, target in (("drop", "document.body"), ("paste", "document")):
            act(page, lambda page: page.evaluate(f"""(data) => {{
                const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
                const transfer = new DataTransfer();
                transfer.items.add(new File([bytes], "{event}.png", {{ type: "image/png" }}));
                const init = {{ bubbles: true, cancelable: true }};
                {target}.dispatchEvent("{event}" === "drop" ? new DragEvent("drop", {{ ...init, dataTransfer: transfer }})
                    : new ClipboardEvent("paste", {{ ...init, clipboardData: transfer }}));
            }}""", base64.b64encode(png.getvalue()).decode()))
            assert page.evaluate("window.ganvasColorize.error") is None
            assert page.inner_text("#timing").startswith(f"{event}.png, 24 x 16: colorized in")
            assert canvas_pixels(page, "colorized").shape == (16, 24, 3)
        assert page.evaluate("window.ganvasColorize.colorized") == 2 and page.problems == []


def test_without_a_colorizer_the_page_says_how_to_make_one(chromium, tmp_path):
    require_pages()
    site = site_copy(tmp_path / "web")
    (site / "models").mkdir()
    for listed in ([], [dict(name="mnist", dataset="mnist", model="cdcgan")]):
        (site / "models" / "index.json").write_text(json.dumps(dict(models=listed)))
        with serve(site) as url:
            page = open_page(chromium, url, "?model=mnist")
            error = page.inner_text("#error")
            assert "no colorizer is exported" in error and "--model colorize" in error and "python -m export" in error
            assert page.inner_text("#about") == "No colorizer is loaded." and page.problems == []


def test_the_other_pages_link_here():
    for page in ("index.html", "train.html"):
        assert 'href="colorize.html"' in (WEB / page).read_text(), page


def test_the_shipped_emoji_colorizer_colours_an_emoji_on_wasm(chromium):
    """web/models/emoji-colour (scripts/models.sh) loads in the page as shipped, stays small, and
    puts colour on a grey emoji at the emoji's size."""
    model = WEB / "models" / "emoji-colour"
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["model"] == "colorize" and manifest["image_shape"] == [64, 64, 3]
    assert sum(path.stat().st_size for path in (model / "generator").iterdir()) <= 2_000_000
    with serve(WEB) as url:
        page = open_page(chromium, url, "?model=emoji-colour")
        assert page.evaluate("window.ganvasColorize.error") is None, page.evaluate("window.ganvasColorize.error")
        page.fill("#emoji-index", "7")
        act(page, lambda page: page.click("#emoji"))
        colorized, original = canvas_pixels(page, "colorized"), canvas_pixels(page, "original")
        assert colorized.shape == original.shape and colorized.shape[2] == 3
        assert np.abs(colorized[..., 0] - colorized[..., 2]).mean() > 1  # colour, not grey
        assert page.evaluate("tf.getBackend()") == "wasm" and page.problems == []


def damaged_colorizers(site: Path) -> dict:
    """The shipped emoji-colour in `site`, listed with copies of it damaged in each way a saved
    colorizer can be: {folder name: what the page must say}."""
    shipped = WEB / "models" / "emoji-colour"
    entry = next(model for model in json.loads((WEB / "models" / "index.json").read_text())["models"]
                 if model["name"] == "emoji-colour")

    def manifest(change):
        def damage(folder):
            content = json.loads((folder / "manifest.json").read_text())
            change(content)
            (folder / "manifest.json").write_text(json.dumps(content))
        return damage

    def cut(path):
        return lambda folder: (folder / path).write_bytes((folder / path).read_bytes()[:100])

    def graph(folder):
        content = json.loads((folder / "generator" / "model.json").read_text())
        content["weightsManifest"] = [{}]
        (folder / "generator" / "model.json").write_text(json.dumps(content))

    damages = {
        "not-json": (lambda folder: (folder / "manifest.json").write_text("{ not json"),
                     "models/not-json/manifest.json is not valid JSON"),
        "null": (lambda folder: (folder / "manifest.json").write_text("null"),
                 "models/null/manifest.json is damaged: it is not a manifest"),
        "no-shape": (manifest(lambda content: content.pop("image_shape")),
                     "models/no-shape/manifest.json is damaged: it has no image_shape of three sizes"),
        "no-generator": (manifest(lambda content: content.pop("generator")),
                         "models/no-generator/manifest.json is damaged: it has no list of generator weights"),
        "cut-graph": (cut("generator/model.json"), "models/cut-graph/generator/model.json is not valid JSON"),
        "odd-graph": (graph, "models/odd-graph/generator/model.json is not a TF.js graph model"),
        "cut-weights": (cut("generator/group1-shard1of1.bin"), "group1-shard1of1.bin has 100 bytes"),
        "missing": (lambda folder: shutil.rmtree(folder), "models/missing/manifest.json answered 404"),
    }
    (site / "models").mkdir()
    for name, (damage, _) in [("emoji-colour", (lambda folder: None, None)), *damages.items()]:
        shutil.copytree(shipped, site / "models" / name)
        damage(site / "models" / name)
    listed = [dict(entry, name=name) for name in ("emoji-colour", *damages)]
    (site / "models" / "index.json").write_text(json.dumps(dict(models=listed)))
    return {name: message for name, (_, message) in damages.items()}


def test_a_damaged_colorizer_is_named_in_one_line_and_the_one_in_use_stays(chromium, tmp_path):
    site = site_copy(tmp_path / "web")
    damaged = damaged_colorizers(site)
    with serve(site) as url:
        page = open_page(chromium, url, "?model=emoji-colour")
        for name, message in damaged.items():
            act(page, lambda page: page.select_option("#model", name))
            error = page.inner_text("#error")
            assert message in error and "\n" not in error.strip() and "unexpected" not in error, (name, error)
            # Switching failed before anything was replaced: emoji-colour still colours.
            assert page.evaluate("window.ganvasColorize.manifest.name") == "emoji-colour", name
            assert page.input_value("#model") == "emoji-colour", name
        act(page, lambda page: page.click("#emoji"))
        # The browser's own console line for "missing"'s 404 aside, nothing went to the console.
        problems = [problem for problem in page.problems if "status of 404" not in problem]
        assert page.evaluate("window.ganvasColorize.error") is None and problems == []
        # Opened first, a damaged one is named, and another can still be chosen.
        page = open_page(chromium, url, "?model=no-shape")
        assert damaged["no-shape"] in page.inner_text("#error")
        assert page.inner_text("#about") == "No colorizer is loaded."
        act(page, lambda page: page.select_option("#model", "emoji-colour"))
        act(page, lambda page: page.click("#emoji"))
        assert page.evaluate("window.ganvasColorize.colorized") == 1 and page.problems == []


@pytest.mark.parametrize("content", ["null", '{"models": [null]}', '{"models": "mnist"}'])
def test_a_damaged_model_list_is_named_in_one_line_on_both_pages(chromium, tmp_path, content):
    site = site_copy(tmp_path / "web")
    (site / "models").mkdir()
    (site / "models" / "index.json").write_text(content)
    with serve(site) as url:
        for query, state in (("colorize.html", "ganvasColorize"), ("index.html", "ganvas")):
            page = chromium.new_page()
            problems = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{url}/{query}")
            page.wait_for_function(f"window.{state} && window.{state}.error", timeout=60000)
            error = page.inner_text("#error")
            assert "models/index.json is damaged" in error and "\n" not in error.strip(), (query, error)
            assert problems == [], query
