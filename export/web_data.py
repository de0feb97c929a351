"""The data sets the training page (web/train.html) loads: `web/data/<dataset>/` holds the
verified training split as raw bytes, one uint8 per pixel and one per label, as tfjs-examples'
MNIST demo serves its sprite, so the page needs no image decoding and no idx parser.

`dataset.json` gives the count, the image shape, the label names and each file's size and
SHA-256, which the page checks before it trains. The set-up writes them; they are not in git.

    python -m export.web_data [--web-dir web] [--dataset mnist ...]
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from trainer import data
from trainer.rundir import atomic_write, read_json

FORMAT = "ganvas-training-data"
VERSION = 1


def write_dataset(dataset: str, destination: Path) -> dict:
    """Write one data set's training split; skipped when the files already match their manifest."""
    manifest_path = destination / "dataset.json"
    if manifest_path.exists() and files_match(destination, read_json(manifest_path)):
        return read_json(manifest_path)
    split = data.load(dataset, "train")
    contents = {"images.bin": np.ascontiguousarray(split.images, np.uint8).tobytes(),
                "labels.bin": np.ascontiguousarray(split.labels, np.uint8).tobytes()}
    manifest = dict(format=FORMAT, version=VERSION, dataset=dataset, split="train", count=len(split.labels),
                    image_shape=list(split.image_shape), label_names=list(split.label_names),
                    files={name: dict(bytes=len(content), sha256=hashlib.sha256(content).hexdigest())
                           for name, content in contents.items()})
    for name, content in contents.items():
        atomic_write(destination / name, content)
    atomic_write(manifest_path, json.dumps(manifest, indent=2))  # last: it vouches for the files
    return manifest


def files_match(folder: Path, manifest: dict) -> bool:
    """Whether every file is there with the size and SHA-256 its manifest gives (a fraction of a
    second for MNIST's 47 MB): a file changed in place is written again, not served to the page."""
    try:
        return manifest.get("version") == VERSION and all(
            (folder / name).stat().st_size == facts["bytes"]
            and hashlib.sha256((folder / name).read_bytes()).hexdigest() == facts["sha256"]
            for name, facts in manifest["files"].items())
    except (OSError, KeyError, TypeError, AttributeError):
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.web_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web-dir", default="web")
    parser.add_argument("--dataset", action="append", choices=data.BUILTIN_DATASETS,
                        help="repeat for several (default: all built-in data sets)")
    args = parser.parse_args(argv)
    for dataset in args.dataset or data.BUILTIN_DATASETS:
        try:
            manifest = write_dataset(dataset, Path(args.web_dir) / "data" / dataset)
        except data.DataError as error:
            print(f"error: {error}")
            return 1
        print(f"the training page's {dataset}: {manifest['count']} images in {Path(args.web_dir) / 'data' / dataset}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
