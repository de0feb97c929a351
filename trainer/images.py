"""Image grids, PNG files and GIF animations."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from trainer.rundir import atomic_write


def to_unit_range(images, output_range) -> np.ndarray:
    """Generator output in its activation's range to float32 in [0, 1]."""
    low, high = output_range
    return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


def grid(images: np.ndarray, rows: int, columns: int, padding: int = 2) -> np.ndarray:
    """(N, H, W, C) images in [0, 1] → one uint8 picture with `rows` x `columns` cells, filled
    row by row; missing cells stay black."""
    count, height, width, channels = images.shape
    picture = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        np.uint8,
    )
    for index in range(min(count, rows * columns)):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        picture[top:top + height, left:left + width] = np.round(images[index] * 255)
    return picture


def png_bytes(picture: np.ndarray) -> bytes:
    if picture.shape[-1] == 1:
        picture = picture[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path, picture: np.ndarray) -> None:
    atomic_write(path, png_bytes(picture))


def animated_gif(png_files, frame_milliseconds: int = 250, last_frame_milliseconds: int = 2000) -> bytes:
    """The pictures as one looping GIF (a run's grids, epoch after epoch), the last held longer."""
    frames = [Image.open(file).convert("RGB") for file in png_files]
    durations = [frame_milliseconds] * (len(frames) - 1) + [last_frame_milliseconds]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buffer.getvalue()
