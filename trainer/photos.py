"""Colouring a user's photos with a colorize run: `python -m trainer colorize`.

A photo of any size and shape is colorized at the model's size and returned at its own. Its
luminance (Pillow's "L") is kept at full resolution; the generator sees it scaled to its square
(LANCZOS, the aspect ratio squeezed, which chroma does not mind); the two chroma channels it
predicts are scaled back up (bicubic) to the photo's size and joined with the full-resolution
luminance (`with_luminance`). Colour varies slowly where luminance carries the detail, so every
edge stays as sharp as in the photo: the usual trick of colorizers, and JPEG's chroma subsampling.

Every input is checked before anything is written, and each refusal is one line: not an image,
an animated image, CMYK, smaller than MIN_SIDE or larger than MAX_PIXELS. A 16-bit image is read
by its top 8 bits, as training reads one (trainer/data.py), and says so; transparency is
composited on white, as the emoji were drawn.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from trainer.data import visible_files
from trainer.images import png_bytes, to_unit_range
from trainer.models import is_image_conditioned
from trainer.models.colorize import chroma_of, with_luminance
from trainer.rundir import RunError, atomic_write, resolve_run
from trainer.sampling import load_generator, to_model_range

# 40 megapixels (a 7,300 x 5,500 photo): its float luminance, chroma and output take about 1 GB.
MAX_PIXELS = 40_000_000
MIN_SIDE = 8  # pixels: a smaller image has no colours to find
BAND = 512  # rows joined at a time: the full-size float arrays of a large photo stay small


class PhotoError(Exception):
    """An input that cannot be colorized; the message is one line that names it."""


def read_grey(path: Path) -> tuple[np.ndarray, list[str]]:
    """The photo's luminance, uint8 (H, W), and notes on how it was read."""
    try:
        with warnings.catch_warnings():  # a large image is refused below, by our own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise PhotoError(f"{path} is larger than {MAX_PIXELS / 1e6:.0f} megapixels, the most colorize takes; "
                         f"scale it down first") from None
    except (OSError, ValueError) as error:  # Pillow's UnidentifiedImageError is an OSError
        raise PhotoError(f"{path} is not an image that Pillow can read ({type(error).__name__})") from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise PhotoError(f"{path} is {width} x {height} ({width * height / 1e6:.0f} megapixels), more than the "
                             f"{MAX_PIXELS / 1e6:.0f} colorize takes; scale it down first")
        if min(width, height) < MIN_SIDE:
            raise PhotoError(f"{path} is {width} x {height}: too small to colorize (at least {MIN_SIDE} pixels a side)")
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            raise PhotoError(f"{path} is animated ({frames} frames); colorize takes still images: save the frame "
                             f"you want as a PNG")
        if image.mode == "CMYK":
            raise PhotoError(f"{path} is a CMYK (print) image, whose grey tones depend on its colour profile; "
                             f"convert it to RGB or greyscale first")
        try:
            image.load()
            return to_grey(ImageOps.exif_transpose(image), path)
        except (OSError, ValueError, SyntaxError) as error:  # a file cut short or damaged
            raise PhotoError(f"{path} is damaged: {type(error).__name__}: {error}") from None


def to_grey(image: Image.Image, path: Path) -> tuple[np.ndarray, list[str]]:
    notes = []
    if image.mode.startswith("I"):
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise PhotoError(f"{path} has 32-bit pixels; save it as an 8- or 16-bit image")
        notes.append(f"{path} is 16-bit: read by its top 8 bits")
        image = Image.fromarray((values >> 8).astype(np.uint8))
    elif image.mode == "F":
        raise PhotoError(f"{path} has floating-point pixels; save it as an 8- or 16-bit image")
    if image.has_transparency_data:
        notes.append(f"{path} has transparency: composited on white")
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return np.asarray(image.convert("L")), notes


def colorize_photo(generator, config, grey: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) whose luminance is `grey` (uint8 (H, W)) and whose chroma the run's
    generator predicts from it at its own size."""
    side = config.image_shape[0]
    small = np.asarray(Image.fromarray(grey).resize((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0))
    coloured = generator(to_model_range(small[None, ..., None], config.output_range), training=False)
    chroma = np.asarray(chroma_of(coloured))[0]
    height, width = grey.shape
    chroma = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(chroma[..., channel], np.float32))
                                  .resize((width, height), Image.Resampling.BICUBIC)) for channel in range(2)], axis=-1)
    picture = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, BAND):
        luminance = to_model_range(grey[top:top + BAND, :, None], config.output_range)
        rgb = to_unit_range(with_luminance(luminance, chroma[top:top + BAND]), config.output_range)
        picture[top:top + BAND] = np.round(rgb * 255)
    return picture


def plan_outputs(source: Path, out: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs: a file to OUT.png (or into the folder OUT), a folder's files into
    the folder OUT as <name>.png. A UserError-worthy PhotoError for a plan that cannot work."""
    if not source.exists():
        raise PhotoError(f"{source} does not exist")
    if source.is_dir():
        if out.exists() and not out.is_dir():
            raise PhotoError(f"--out {out} is a file; for a folder of photos, name a folder")
        if out.resolve() == source.resolve():
            raise PhotoError(f"--out {out} is the input folder: its photos would be overwritten; name another")
        files = visible_files(source)
        if not files:
            raise PhotoError(f"{source} holds no files to colorize")
        return [(path, out / output_name(path, files)) for path in files]
    if out.is_dir():
        out = out / f"{source.stem}.png"
    elif out.suffix.lower() != ".png":
        raise PhotoError(f"--out must be a .png file or a folder, not {str(out)!r}")
    if out.resolve() == source.resolve():
        raise PhotoError(f"--out {out} is the input itself; name another file")
    return [(source, out)]


def output_name(path: Path, files: list[Path]) -> str:
    """<stem>.png, or <name>.png where two inputs share a stem (photo.jpg and photo.png)."""
    same_stem = sum(other.stem == path.stem for other in files)
    return f"{path.stem if same_stem == 1 else path.name}.png"


def colorize_files(generator, config, pairs: list[tuple[Path, Path]], log=print) -> int:
    """Colorize each pair's input into its output; a file that cannot be is named in one line and
    skipped. The number written."""
    written = 0
    for source, target in pairs:
        try:
            grey, notes = read_grey(source)
        except PhotoError as error:
            if len(pairs) == 1:
                raise
            log(f"skipped {error}")
            continue
        for note in notes:
            log(f"note: {note}")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, png_bytes(colorize_photo(generator, config, grey)))
        log(f"wrote {target} ({grey.shape[1]} x {grey.shape[0]})")
        written += 1
    return written


def colorize_with_run(run: str, runs_dir: str, epoch: int | None, source: str | Path, out: str | Path,
                      log=print) -> tuple[int, int]:
    """`ganvas colorize`: `source` (a photo, or a folder of them) coloured into `out` by a
    colorize run (its name in `runs_dir`, or its path; its kept checkpoint for `epoch`), planned
    before the run is loaded. The files written and the files planned; a RunError where the plan
    cannot work, the run draws from noise, or no file could be colorized."""
    try:
        pairs = plan_outputs(Path(source), Path(out))
    except PhotoError as error:
        raise RunError(str(error)) from None
    generator, config = load_generator(resolve_run(run, runs_dir), epoch)
    if not is_image_conditioned(config.model):
        raise RunError(f"{config.run_name} is a {config.model} run, which draws from noise; colorize needs a run "
                       f"trained with --model colorize")
    try:
        written = colorize_files(generator, config, pairs, log=log)
    except PhotoError as error:
        raise RunError(str(error)) from None
    if not written:
        raise RunError(f"none of the {len(pairs)} files in {source} could be colorized")
    return written, len(pairs)
