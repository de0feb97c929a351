"""web/train.html on your own images, in Debian's chromium driven by Playwright: folders and zips
made with Pillow in tmp_path (odd sizes, modes and names), picked through the page's inputs or
dropped on it; bad input named in one line; the built-in emoji set with class-balanced batches."""

import base64
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

import test_train_page
from browser import download, open_model_file
from conftest import ROOT
from test_train_page import grid, open_training, pause, read, start, train_until

# test_train_page's fixtures, a browser and web/ served, one of each for this module too.
chromium, site = test_train_page.chromium, test_train_page.site

WEB = ROOT / "web"
COLOURS = {"círculo": (220, 40, 30), "square": (30, 190, 60), "三角 ü": (40, 70, 230)}


@pytest.fixture(scope="module", autouse=True)
def set_up():
    """The page needs TF.js in web/vendor: a missing set-up fails here, in one line, never skips."""
    if not (WEB / "vendor" / "tf.min.js").exists():
        pytest.fail("web/vendor/tf.min.js is missing: run bash scripts/setup.sh")


def shape_image(size, colour, label_index, rng, mode="RGB"):
    """A shape in the label's colour on a dark ground, in `mode`."""
    width, height = size
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 50, 3)))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = width // 5, height // 5, 4 * width // 5, 4 * height // 5
    if label_index % 3 == 0:
        draw.ellipse((left, top, right, bottom), fill=colour)
    elif label_index % 3 == 1:
        draw.rectangle((left, top, right, bottom), fill=colour)
    else:
        draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=colour)
    if mode == "I;16":
        return Image.fromarray((np.asarray(image.convert("L")).astype(np.uint16) * 257))
    if mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.new("L", size, 200))
    return image.convert(mode) if mode != "RGB" else image


# One of each kind a folder may hold: (file name, size, mode, format). Names are odd on purpose.
ODD_FILES = [("ü ñ #1.png", (37, 53), "RGB", "PNG"), ("日本 (2).png", (64, 64), "RGBA", "PNG"),
             ("palette%20&3.png", (20, 30), "P", "PNG"), ("grey 4.png", (45, 45), "L", "PNG"),
             ("sixteen-bit 5.png", (33, 33), "I;16", "PNG"), ("photo 6.JPG", (500, 300), "RGB", "JPEG"),
             ("grey 7.jpeg", (31, 17), "L", "JPEG"), ("cmyk 8.jpg", (40, 40), "CMYK", "JPEG"),
             ("anim 9.gif", (25, 25), "P", "GIF"), ("bitmap 10.bmp", (30, 30), "RGB", "BMP"),
             ("web 11.webp", (40, 40), "RGB", "WEBP"), ("no extension 12", (28, 28), "RGB", "PNG"),
             ("😀 " + "long " * 30 + "13.png", (29, 31), "RGB", "PNG")]


def odd_folder(root, per_label=None):
    """Three labels (non-ASCII names), each holding every kind of ODD_FILES, plus a hidden file
    (left out silently), a text file and a truncated PNG (both skipped and counted)."""
    rng = np.random.default_rng(0)
    for label_index, (label, colour) in enumerate(COLOURS.items()):
        folder = root / label
        folder.mkdir(parents=True)
        for name, size, mode, kind in (per_label or ODD_FILES):
            image = shape_image(size, colour, label_index, rng, mode)
            image.save(folder / name, kind, **({"quality": 92} if kind == "JPEG" else {}))
        (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "square" / "notes.txt").write_text("not an image")
    png = (root / "square" / "ü ñ #1.png").read_bytes()
    (root / "square" / "broken.png").write_bytes(png[:len(png) // 2])
    return root


def plain_folder(root, labels, per_label, size=(24, 24)):
    rng = np.random.default_rng(1)
    for label_index, label in enumerate(labels):
        (root / label).mkdir(parents=True)
        for index in range(per_label):
            colour = tuple(int(v) for v in rng.integers(60, 256, 3))
            shape_image(size, colour, label_index, rng).save(root / label / f"{index}.png")
    return root


def pick(page, path, input_id="#folder-input"):
    page.set_input_files(input_id, str(path))
    page.wait_for_function("window.ganvasTrain.folder.listing || window.ganvasTrain.folder.problem", timeout=60000)


def start_folder(page, batch_size=8):
    """Start on the folder picked: its images decode, then the training starts (or an error)."""
    page.fill("#batch-size", str(batch_size))
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=120000)
    assert read(page, "window.ganvasTrain.error") is None


def canvas_colour_share(page, selector="#grid"):
    """The share of the canvas's pixels whose three channels are not all equal."""
    return page.evaluate("""(selector) => {
      const canvas = document.querySelector(selector);
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let coloured = 0;
      for (let at = 0; at < data.length; at += 4) coloured += data[at] !== data[at + 1] || data[at + 1] !== data[at + 2];
      return coloured / (data.length / 4);
    }""", selector)


def expected_decodes(total_files):
    """Files that decode of the odd folder: all but the text file and the truncated PNG; the CMYK
    JPEGs decode or are skipped as undecodable, as this Chromium decodes them."""
    return total_files - 2


def test_a_folder_of_odd_images_lists_trains_in_colour_saves_continues_and_opens_in_the_sampler(chromium, site, tmp_path):
    folder = odd_folder(tmp_path / "my shapes")
    context = chromium.new_context()
    page = open_training(chromium, site, "?dataset=folder&model=cgan&backend=wasm", context=context)
    assert page.is_visible("#own-images") and "never leave this machine" in page.text_content("#own-images")
    pick(page, folder)
    labels = read(page, "window.ganvasTrain.folder.labels")
    per_label = len(ODD_FILES)
    assert labels == [{"name": "círculo", "count": per_label}, {"name": "square", "count": per_label + 2},
                      {"name": "三角 ü", "count": per_label}]
    table = page.text_content("#label-rows")
    assert all(name in table for name in COLOURS) and str(per_label + 2) in table
    assert read(page, "window.ganvasTrain.error") is None

    start_folder(page)
    decoded = {label["name"]: label["count"] for label in read(page, "window.ganvasTrain.folder.decoded")}
    skipped = read(page, "window.ganvasTrain.folder.skipped")
    assert skipped["notImage"] == ["square/notes.txt"] and "square/broken.png" in skipped["undecodable"]
    assert set(skipped["undecodable"]) <= {"square/broken.png", *(f"{label}/cmyk 8.jpg" for label in COLOURS)}
    assert sum(decoded.values()) == expected_decodes(3 * per_label + 2) - (len(skipped["undecodable"]) - 1)
    notes = page.text_content("#folder-notes")
    assert "Skipped" in notes and "square/notes.txt" in notes and "square/broken.png" in notes
    assert read(page, "window.ganvasTrain.imageShape") == [32, 32, 3]
    assert read(page, "window.ganvasTrain.labelNames") == list(COLOURS)

    train_until(page, 30)
    pause(page)
    images = grid(page).reshape(3, 10, 32, 32, 3)
    assert np.abs(images[..., 0] - images[..., 1]).mean() > 0.01, "the grid's channels are all alike: not colour"
    assert canvas_colour_share(page) > 0.3
    assert not page.is_visible("#accuracy-view")  # no classifier knows these labels

    # Save, reload, continue: the images come back from the browser's storage, not the folder.
    before, before_grid = read(page, "window.ganvasTrain.counts"), grid(page)
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.saved")
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert "cgan on folder:my shapes" in page.text_content("#saved-text")
    page.click("#continue")
    page.wait_for_function("window.ganvasTrain.ready && window.ganvasTrain.gridDraws > 0 || window.ganvasTrain.error",
                           timeout=60000)
    assert read(page, "window.ganvasTrain.error") is None
    assert read(page, "window.ganvasTrain.counts") == before
    assert read(page, "window.ganvasTrain.labelNames") == list(COLOURS)
    np.testing.assert_allclose(grid(page), before_grid, atol=1e-6)
    page.click("#resume")
    train_until(page, before["g"] + 10)
    pause(page)

    # The download opens in the sampler, which shows the folder's label names.
    path = download(page, "#download", tmp_path)
    assert path.name.startswith("my shapes-cgan-browser-")
    manifest = json.loads(path.read_text())["manifest"]
    assert manifest["label_names"] == list(COLOURS) and manifest["image_shape"] == [32, 32, 3]
    assert manifest["dataset"] == "folder:my shapes"
    rows = grid(page).reshape(3, 10, 32, 32, 3)
    page.close()
    context.close()

    sampler = open_model_file(chromium, site, path)
    assert sampler.evaluate("window.ganvas.error") is None
    buttons = sampler.evaluate("Array.from(document.querySelectorAll('#labels button'), (button) => button.textContent)")
    assert buttons == list(COLOURS)
    assert "cgan on folder:my shapes" in sampler.text_content("#about")
    samples = np.array(sampler.evaluate("Array.from(window.ganvas.lastSamples)"), np.float32).reshape(10, 32, 32, 3)
    np.testing.assert_allclose(samples, rows[0], atol=1e-4)
    assert canvas_colour_share(sampler) > 0.3
    assert not sampler.problems
    sampler.close()


def cli_reference(path, size, channels):
    """What the CLI trains on for a file: trainer.data's read_image (RGB, JPEGs drafted at a reduced
    scale, Lanczos), and for grey its luminance, as convert_channels makes it."""
    from trainer.data import read_image

    image = read_image(path, size).astype(np.float32)
    if channels == 1:
        image = np.round(image @ np.array([0.299, 0.587, 0.114], np.float32))[..., np.newaxis]
    return image


@pytest.mark.parametrize("backend,size,channels", [("webgl", 28, 1), ("cpu", 32, 3), ("wasm", 32, 3)])
def test_pixels_match_the_cli_and_cdcgan_small_takes_their_shape(chromium, site, tmp_path, backend, size, channels):
    """Flat colours and gradients in several formats and modes, and a JPEG turned by its EXIF
    orientation: the decoded pixels match what the CLI trains on within a few levels; the conv
    model takes the shape from the data."""
    root = tmp_path / "flat"
    ys, xs = np.mgrid[0:300, 0:400] / 300
    gradient = Image.fromarray(np.stack([255 * xs / 1.4, 255 * ys, 128 + 0 * xs], -1).astype(np.uint8))
    translucent = gradient.convert("RGBA")
    translucent.putalpha(200)
    files = {"flat/red.png": Image.new("RGB", (90, 60), (200, 50, 30)),
             "flat/teal.jpg": Image.new("RGB", (500, 500), (20, 160, 150)),
             "flat/grey16.png": Image.new("I;16", (50, 70), 40000), "flat/palette.png": Image.new("P", (40, 40), 3),
             "ramp/gradient.png": gradient, "ramp/gradient.jpg": gradient, "ramp/gradient-rgba.png": translucent,
             "ramp/rotated.jpg": gradient}
    rotated = Image.Exif()
    rotated[0x0112] = 6  # a phone's portrait photo: shown turned 90 degrees clockwise
    for name, image in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("jpg"):
            image.save(root / name, quality=95, exif=rotated if "rotated" in name else b"")
        else:
            image.save(root / name)
    page = open_training(chromium, site, f"?dataset=folder&model=cdcgan-small&backend={backend}")
    page.select_option("#image-size", str(size))
    page.select_option("#channels", str(channels))
    pick(page, root)
    start_folder(page, batch_size=4)
    assert read(page, "window.ganvasTrain.imageShape") == [size, size, channels]
    decoded = np.array(page.evaluate("Array.from(window.ganvasTrain.folder.data.images)"), np.float32)
    order = sorted(files)  # by label, then by name, in code point order as the page sorts
    for image, name in zip(decoded.reshape(len(files), size, size, channels), order):
        difference = np.abs(image - cli_reference(root / name, size, channels))
        assert difference.mean() < 3 and np.percentile(difference, 99) < 12, f"{name}: {difference.mean():.1f} levels off"
    train_until(page, 3, timeout=180)
    pause(page)
    assert grid(page).shape == (2 * 10 * size * size * channels,)
    assert not page.problems
    page.close()


# Each bad input: the files under tmp_path/<case>/, which input takes them, and the line that names it.
BAD_INPUTS = {
    "a folder with no files at all": ({}, "#folder-input", "the folder picked is empty"),
    "a folder of hidden files and empty folders": ({".DS_Store": b"x", "empty label/.keep": b""}, "#folder-input",
                                                   "holds no images in label folders"),
    "images beside no label folder": ({"a.png": "png", "b.png": "png"}, "#folder-input", "holds no images in label folders"),
    "a single label": ({"cats/1.png": "png", "cats/2.png": "png"}, "#folder-input", "has one label only (cats)"),
    "a label with one image": ({"a/1.png": "png", "a/2.png": "png", "b/1.png": "png"}, "#folder-input",
                               "a label has fewer than 2 images: b (1)"),
    "a label where nothing decodes": ({"a/1.png": "png", "a/2.png": "png", "b/x.txt": b"text",
                                       "b/y.png": b"\x89PNG\r\n\x1a\n broken"},
                                      "#folder-input", "a label has fewer than 2 images that decode: b (0)"),
    "a zip that is not one": ({"photos.zip": b"PK\3\4 not really a zip"}, "#zip-input",
                              "photos.zip cannot be read: it is not a .zip file"),
}


def write_files(root, files):
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if content == "png":
            shape_image((12, 12), (200, 100, 0), 0, np.random.default_rng(0)).save(root / name)
        else:
            (root / name).write_bytes(content)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_named_in_one_line_and_nothing_trains(chromium, site, tmp_path, case):
    files, input_id, message = BAD_INPUTS[case]
    write_files(tmp_path / case, files)
    path = tmp_path / case / "photos.zip" if input_id == "#zip-input" else tmp_path / case
    page = open_training(chromium, site, "?dataset=folder&model=cgan&backend=wasm")
    pick(page, path, input_id)
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.error && !window.ganvasTrain.starting", timeout=60000)
    error = read(page, "window.ganvasTrain.error")
    assert message in error and "\n" not in error
    assert page.is_visible("#error") and page.text_content("#error") == error
    assert not read(page, "window.ganvasTrain.ready") and not page.is_disabled("#start")
    assert "Choose a data set" in page.text_content("#status")  # no training was started
    page.close()


def test_bad_images_leave_the_training_in_progress_and_the_saved_one_alone(chromium, site, tmp_path):
    context = chromium.new_context()
    page = open_training(chromium, site, "?model=cgan&backend=wasm&dataset=mnist", context=context)
    start(page, batch_size=16)
    train_until(page, 10)
    page.click("#save")
    page.wait_for_function("window.ganvasTrain.saved")
    write_files(tmp_path / "bad", BAD_INPUTS["a label where nothing decodes"][0])
    page.select_option("#dataset", "folder")
    pick(page, tmp_path / "bad")
    counts = read(page, "window.ganvasTrain.counts.g")
    page.click("#start")
    page.wait_for_function("window.ganvasTrain.error && !window.ganvasTrain.starting", timeout=60000)
    assert "fewer than 2 images that decode" in read(page, "window.ganvasTrain.error")
    # The MNIST training goes on, and its save is still offered after a reload.
    assert read(page, "window.ganvasTrain.running")
    page.wait_for_function(f"window.ganvasTrain.counts.g > {counts + 20}", timeout=60000)
    page.reload()
    page.wait_for_function("window.ganvasTrain.started")
    assert "cgan on mnist" in page.text_content("#saved-text")
    page.close()
    context.close()


def test_a_huge_png_is_refused_with_its_size_and_a_huge_jpeg_decodes_small(chromium, site, tmp_path):
    """50 megapixels each: the PNG would take 200 MB to decode and is skipped with a message; the
    JPEG decodes at 1/8 scale (0.8 megapixels) and is kept; a 75 MB PNG of 25 megapixels is kept."""
    root = plain_folder(tmp_path / "big", ["a", "b"], 3)
    Image.new("RGB", (8000, 6250), (10, 200, 30)).save(root / "a" / "huge.png", compress_level=1)
    Image.new("RGB", (8000, 6250), (200, 10, 30)).save(root / "b" / "huge.jpg", quality=50)
    # 75 MB of file for 25 megapixels: read in parts (not whole), and kept.
    noise = np.random.default_rng(2).integers(0, 256, (5000, 5000, 3), np.uint8)
    Image.fromarray(noise).save(root / "a" / "large noise.png", compress_level=0)
    page = open_training(chromium, site, "?dataset=folder&model=cgan&backend=wasm")
    pick(page, root)
    start_folder(page)
    assert read(page, "window.ganvasTrain.folder.skipped.tooLarge") == [{"path": "a/huge.png", "width": 8000, "height": 6250}]
    notes = page.text_content("#folder-notes")
    assert "1 too large" in notes and "a/huge.png: 8000 × 6250" in notes
    assert read(page, "window.ganvasTrain.folder.decoded") == [{"name": "a", "count": 4}, {"name": "b", "count": 4}]
    huge = np.array(page.evaluate("Array.from(window.ganvasTrain.folder.data.images.slice(-32 * 32 * 3))")).reshape(32, 32, 3)
    assert np.abs(huge.mean((0, 1)) - [200, 10, 30]).max() < 8
    train_until(page, 5)
    page.close()


def tiny_png():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (250, 120, 0)).save(out, "PNG")
    return out.getvalue()


def test_fifty_thousand_images_in_a_zip_are_thinned_with_a_message_and_load(chromium, site, tmp_path):
    path = tmp_path / "many.zip"
    png = tiny_png()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(50000):
            archive.writestr(f"many/{'ab'[index % 2] if index < 49000 else 'c'}/{index:05d}.png", png)
    page = open_training(chromium, site, "?dataset=folder&model=cgan&backend=wasm")
    pick(page, path, "#zip-input")
    assert read(page, "window.ganvasTrain.folder.labels") == [{"name": "a", "count": 9500}, {"name": "b", "count": 9500},
                                                              {"name": "c", "count": 1000}]
    assert "50,000 images: the page loads 20,000 of them, an even share of each label" in page.text_content("#folder-notes")
    page.click("#start")
    # A progress bar while they decode.
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Decoding your images') "
                           "&& !document.getElementById('loading').hidden && document.getElementById('loading').value > 0",
                           timeout=60000)
    page.wait_for_function("window.ganvasTrain.ready || window.ganvasTrain.error", timeout=180000)
    assert read(page, "window.ganvasTrain.error") is None
    assert sum(label["count"] for label in read(page, "window.ganvasTrain.folder.decoded")) == 20000
    train_until(page, 5)
    page.close()


def test_a_dropped_zip_is_listed_and_trains_in_grey(chromium, site, tmp_path):
    folder = plain_folder(tmp_path / "zipped" / "Blätter", ["ahorn", "eiche", "linde"], 4)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, file.relative_to(folder.parent).as_posix())
    page = open_training(chromium, site, "?model=cdcgan-small&backend=cpu")
    page.evaluate("""(base64) => {
      const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], "Blätter.zip", { type: "application/zip" }));
      document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", base64.b64encode(buffer.getvalue()).decode())
    page.wait_for_function("window.ganvasTrain.folder.listing || window.ganvasTrain.folder.problem", timeout=30000)
    assert page.input_value("#dataset") == "folder" and page.is_visible("#own-images")
    assert read(page, "window.ganvasTrain.folder.labels") == [{"name": name, "count": 4} for name in ("ahorn", "eiche", "linde")]
    assert page.text_content("#folder-name").startswith("Blätter: 3 labels, 12 files")
    page.select_option("#channels", "1")
    start_folder(page, batch_size=4)
    assert read(page, "window.ganvasTrain.imageShape") == [32, 32, 1]
    train_until(page, 3, timeout=120)
    page.close()


def test_emoji_trains_in_colour_with_class_balanced_batches(chromium, site):
    if not (WEB / "data" / "emoji" / "dataset.json").exists():
        pytest.fail("web/data/emoji is missing: run python -m export.web_data (bash scripts/setup.sh)")
    page = open_training(chromium, site, "?dataset=emoji&model=cgan&backend=wasm")
    start(page, batch_size=32)
    assert read(page, "window.ganvasTrain.imageShape") == [32, 32, 3]
    assert "unbalanced" in page.text_content("#data-note") and "draws its labels evenly" in page.text_content("#data-note")
    train_until(page, 10)
    pause(page)
    assert grid(page).shape == (9 * 10 * 32 * 32 * 3,)
    assert canvas_colour_share(page) > 0.3
    # The order an epoch draws: labels even however unbalanced the set (25 to 1 here), and a
    # plain shuffle for a set as balanced as MNIST.
    shares = page.evaluate("""async () => {
      const { classIndex, epochOrder, isUnbalanced } = await import("./js/train/training.js");
      const counts = [2500, 100, 400];
      const labels = Uint8Array.from(counts.flatMap((count, label) => Array(count).fill(label)));
      const data = { count: labels.length, labels, labelNames: ["a", "b", "c"] };
      const order = epochOrder(data, classIndex(data), 0, 3);
      const drawn = [0, 0, 0];
      for (const image of order.slice(0, 1500)) drawn[labels[image]] += 1;
      const even = { count: 3000, labels: Uint8Array.from({ length: 3000 }, (_, index) => index % 3),
        labelNames: ["a", "b", "c"] };
      const shuffled = Array.from(epochOrder(even, null, 0, 3)).sort((a, b) => a - b);
      return { drawn, unbalanced: isUnbalanced(data), balanced: !isUnbalanced(even),
        permutation: shuffled.every((value, index) => value === index) };
    }""")
    assert shares["unbalanced"] and shares["balanced"] and shares["permutation"]
    assert all(abs(count - 500) < 75 for count in shares["drawn"]), shares["drawn"]
    page.close()


def test_a_dropped_folder_is_read_through_its_entries(chromium, site):
    """A folder dropped from the desktop arrives as File and Directory Entries, read in batches of
    at most 100; Playwright cannot drag one from the system, so the entries here are made in the
    page, as Chromium gives them."""
    page = open_training(chromium, site)
    listings = page.evaluate("""async () => {
      const { listDropped } = await import("./js/train/folder.js");
      const file = (name) => ({ name, isDirectory: false, file: (resolve) => resolve(new File(["x"], name)) });
      const folder = (name, entries) => ({ name, isDirectory: true, createReader: () => {
        let at = 0;
        return { readEntries: (resolve) => { resolve(entries.slice(at, at + 100)); at += 100; } };
      } });
      const roses = folder("rosen", Array.from({ length: 250 }, (_, index) => file(`${index}.jpg`)));
      const tulips = folder("tulpen", [file("a.png"), file("b.png"), file(".DS_Store"), folder("mehr", [file("c.png")])]);
      const drop = (entries) => ({ items: entries.map((entry) => ({ webkitGetAsEntry: () => entry })), files: [] });
      const summary = (listing) => ({ name: listing.name, labels: listing.labels.map(({ name, items }) => [name, items.length]),
        nested: listing.nested, outside: listing.outside, first: listing.labels[0].items[0].file.name });
      return [summary(await listDropped(drop([folder("Blumen", [roses, tulips, file("liesmich.txt")])]))),
        summary(await listDropped(drop([roses, tulips])))];
    }""")
    labels = [["rosen", 250], ["tulpen", 2]]
    assert listings[0] == {"name": "Blumen", "labels": labels, "nested": 1, "outside": 1, "first": "0.jpg"}
    assert listings[1] == {"name": "dropped folders", "labels": labels, "nested": 1, "outside": 0, "first": "0.jpg"}
    page.close()
