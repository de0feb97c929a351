"""Colorize: a colorize run colours a photo that the user uploads, as `python -m trainer colorize` does.

The page runs the command's own code (trainer/photos.py): the photo is read and checked, and each
file it refuses (not an image, animated, CMYK, too small, too large, damaged) is one line; its
luminance is kept at full size and the colours, predicted at the model's size, are scaled up to
it. The page shows grey | colorized | original, the time it took, and offers the PNG. TensorFlow
loads after the run picker, as on the Generate page.
"""

import io
import time
from pathlib import Path

import streamlit as st

from streamlit_app import common
from streamlit_app import runs as run_files
from trainer.data import short_name

# The formats photos come in. GIF too: an animated one is then told why it is refused, rather
# than silently not offered by the file dialog.
PHOTO_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]
NO_COLORIZERS = ("There are no colorize runs yet: train one on the Runs page (family colorize) or with "
                 "`ganvas train --dataset emoji --model colorize`.")


class UploadedPhoto(io.BytesIO):
    """An uploaded file as trainer/photos.py reads a path: Pillow opens it, and the messages name
    it by the user's own file name (a path there)."""

    def __init__(self, upload):
        super().__init__(upload.getvalue())
        self.name = upload.name

    def __str__(self) -> str:
        return self.name


def pick_colorize_run() -> str | None:
    """The run picker, offering colorize runs only; a run of another family chosen on another
    page is named with the page that draws it."""
    rows = [row for row in run_files.list_runs(run_files.runs_dir()) if row["model"] != "?"]
    others = {row["name"]: f"it is a {row['model']} run, which draws from noise (Generate page)"
              for row in rows if not common.is_colorizer(row["model"])}
    return common.pick_run([row for row in rows if row["name"] not in others], unlisted=others,
                           none_yet=NO_COLORIZERS)


st.title("Colorize")
name = pick_colorize_run()
path = common.open_run(name) if name else None
if path is None:
    st.stop()

# TensorFlow loads only now, after the run picker: the page answers before it is ready.
generator, config, epoch = common.pick_generator(path)
from trainer.images import png_bytes  # noqa: E402
from trainer.photos import PhotoError, colorize_photo, read_grey  # noqa: E402


def show(grey, coloured: bytes, upload, seconds: float) -> None:
    """The three panels side by side, the time, and the download."""
    height, width = grey.shape
    side = config.image_shape[0]
    grey_panel, coloured_panel, original_panel = st.columns(3)
    grey_panel.image(png_bytes(grey), caption="grey: what the model reads", width="stretch", output_format="PNG")
    coloured_panel.image(coloured, caption=f"colorized by {name}", width="stretch", output_format="PNG")
    original_panel.image(upload.getvalue(), caption=f"original: {upload.name}", width="stretch", output_format="PNG")
    st.caption(f"{width} × {height} pixels colorized in {1000 * seconds:.0f} ms: the colours are predicted at "
               f"{side} × {side} and scaled up to the photo, whose own luminance is kept (`ganvas colorize` "
               f"gives the same PNG).")
    stem = name if epoch is None else f"{name}-epoch{epoch}"
    st.download_button("Download PNG", coloured, file_name=f"{Path(upload.name).stem}-{stem}.png", mime="image/png",
                       icon=":material/image:")


upload = st.file_uploader("A photo (PNG, JPEG, WebP or GIF), of any size", type=PHOTO_TYPES)
if upload is None:
    side = config.image_shape[0]
    st.info(f"Upload a photo, in colour or grey: {name} reads its grey image and colours it "
            f"(it learned at {side} × {side} on {short_name(config.dataset)}).")
    st.stop()
try:
    grey, notes = read_grey(UploadedPhoto(upload))
except PhotoError as error:
    st.error(str(error))
    st.stop()
for note in notes:
    st.caption(f"Note: {note}.")
started = time.perf_counter()
picture = colorize_photo(generator, config, grey)
seconds = time.perf_counter() - started
show(grey, png_bytes(picture), upload, seconds)
