"""export.web_data: the training page's raw-byte data sets, written once and rewritten when changed."""

import json

import numpy as np

from export.web_data import write_dataset
from trainer import data


def test_a_file_changed_in_place_is_written_again(tmp_path):
    manifest = write_dataset("mnist", tmp_path)
    split = data.load("mnist", "train")
    pixels = np.ascontiguousarray(split.images, np.uint8).tobytes()
    images = tmp_path / "images.bin"
    assert manifest["count"] == len(split.labels) and images.read_bytes() == pixels
    assert json.loads((tmp_path / "dataset.json").read_text()) == manifest
    # Same size, one pixel flipped: the size alone would pass it on to the page.
    written = images.stat().st_mtime_ns
    with images.open("r+b") as file:
        file.seek(1000)
        file.write(bytes([255 - pixels[1000]]))
    write_dataset("mnist", tmp_path)
    assert images.read_bytes() == pixels
    # Unchanged files are left alone.
    rewritten = images.stat().st_mtime_ns
    write_dataset("mnist", tmp_path)
    assert images.stat().st_mtime_ns == rewritten != written
