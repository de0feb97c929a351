"""The built-in colour data set: Noto's colour emoji, labelled by their Unicode group.

A real, third-party, very unbalanced, labelled colour data set that installs offline: Debian's
`fonts-noto-color-emoji` draws every fully-qualified emoji as a colour bitmap (CBDT, 136 x 128),
and `unicode-data`'s `emoji-test.txt` puts each one in one of nine groups (People & Body 2,148 …
Activities 85; the tenth group, Component, holds skin tones and hair styles, which are not
emoji on their own). That is the kind of set a user brings: few images, classes of very different
sizes, classes that overlap (a face is a Smiley, a face with hands is People & Body).

`render_cache` draws each emoji once, on white, centred on a square, and keeps it at every size
in SIZES, so that training never draws again. Both sources are checked against their SHA-256
first: another font version draws other pictures, and the figures in docs/ would not hold.

The train/test split is by emoji, not by pixels: every emoji goes to one side by a hash of its
code points with skin tones removed, so the five skin tones of one gesture land on the same side
and the test images are emoji the classifier has never seen in any colour.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
# Debian 12's fonts-noto-color-emoji 2.042-0+deb12u1 and unicode-data 15.0.0-1.
SOURCES_SHA256 = {
    "NotoColorEmoji.ttf": "e5899ed38b8ed83e08bd3ac5de09791e9d19d288333a796de1d35ad17396f1ec",
    "emoji-test.txt": "8445f23ac8388e096be19d0262e14fceff856ff52093f2356dc89485f1a853db",
}
PACKAGES = "fonts-noto-color-emoji unicode-data"
GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
          "Activities", "Objects", "Symbols", "Flags")
SIZES = (32, 64)
DEFAULT_SIZE = 32
# A CBDT font draws at the size of its bitmaps, whatever size is asked for: 109 is Noto's.
BITMAP_SIZE = 109
SKIN_TONES = range(0x1F3FB, 0x1F400)
TEST_SHARE = 5  # one emoji in five, by hash, is a test image
# Bumped when the rendering changes, so that caches drawn by an older version are drawn again.
RENDER_VERSION = 1
CACHE_FILE = "emoji.npz"
MANIFEST_FILE = "emoji.json"


class EmojiError(Exception):
    """A missing or changed source, or a damaged cache; the message says how to fix it."""


def parse_emoji_test(text: str) -> list[tuple[str, str]]:
    """(group, emoji) for every fully-qualified emoji of the nine groups, in the file's order."""
    group, entries = None, []
    for line in text.splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and "; fully-qualified" in line and group in GROUPS:
            code_points = line.split(";", 1)[0].split()
            entries.append((group, "".join(chr(int(point, 16)) for point in code_points)))
    return entries


def is_test(emoji: str) -> bool:
    """The split: a hash of the emoji without its skin tones, so that all tones of one emoji share a side."""
    base = "".join(character for character in emoji if ord(character) not in SKIN_TONES)
    return hashlib.sha256(base.encode("utf-8")).digest()[0] % TEST_SHARE == 0


def verified_sources() -> dict[str, bytes]:
    """Both source files' bytes, or EmojiError when one is missing or not the recorded version."""
    contents = {}
    for path in (FONT, EMOJI_TEST):
        try:
            content = path.read_bytes()
        except OSError as error:
            raise EmojiError(f"the emoji data set needs {path} ({error.strerror}); install the Debian packages "
                             f"{PACKAGES} (the set-up, `bash scripts/setup.sh`, does)") from None
        found = hashlib.sha256(content).hexdigest()
        if found != SOURCES_SHA256[path.name]:
            raise EmojiError(f"{path} is not the version the emoji data set was made from: expected SHA-256 "
                             f"{SOURCES_SHA256[path.name]}, found {found}; install Debian 12's {PACKAGES}")
        contents[path.name] = content
    return contents


def render(emoji: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One emoji in colour on white, centred on a square as wide as its bitmap."""
    left, top, right, bottom = font.getbbox(emoji)
    drawing = Image.new("RGBA", (right, bottom), (255, 255, 255, 0))
    ImageDraw.Draw(drawing).text((0, 0), emoji, font=font, embedded_color=True)
    drawing = drawing.crop((left, top, right, bottom))
    side = max(drawing.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(drawing, ((side - drawing.width) // 2, (side - drawing.height) // 2))
    return square.convert("RGB")


def render_all(log=print) -> dict[str, np.ndarray]:
    """Every emoji at every size in SIZES, with its label and side of the split."""
    verified_sources()
    entries = parse_emoji_test(EMOJI_TEST.read_text(encoding="utf-8"))
    font = ImageFont.truetype(str(FONT), BITMAP_SIZE)
    images = {size: np.zeros((len(entries), size, size, 3), np.uint8) for size in SIZES}
    log(f"drawing {len(entries)} emoji at {' and '.join(map(str, SIZES))} px (once; about a minute)")
    for index, (_, emoji) in enumerate(entries):
        picture = render(emoji, font)
        for size in SIZES:  # each size from the full bitmap, not from the next size up
            images[size][index] = np.asarray(picture.resize((size, size), Image.Resampling.LANCZOS))
    arrays = {f"images_{size}": images[size] for size in SIZES}
    arrays["labels"] = np.array([GROUPS.index(group) for group, _ in entries], np.int32)
    arrays["test"] = np.array([is_test(emoji) for _, emoji in entries])
    arrays["emoji"] = np.array([emoji for _, emoji in entries])
    return arrays


def manifest_for(cache_bytes: bytes) -> dict:
    return dict(render_version=RENDER_VERSION, sources_sha256=SOURCES_SHA256,
                cache_sha256=hashlib.sha256(cache_bytes).hexdigest(), sizes=list(SIZES))


def cache_paths(directory: Path) -> tuple[Path, Path]:
    return directory / CACHE_FILE, directory / MANIFEST_FILE


def cache_problem(directory: Path, content: bytes | None = None) -> str | None:
    """Why the cache in `directory` (whose bytes are `content` when already read) cannot be used,
    or None when it is whole and current."""
    cache, manifest_path = cache_paths(directory)
    if not cache.is_file() or not manifest_path.is_file():
        return f"{cache} has not been drawn yet"
    try:
        manifest = json.loads(manifest_path.read_text())
        recorded = manifest["cache_sha256"]
        current = manifest["render_version"] == RENDER_VERSION and manifest["sources_sha256"] == SOURCES_SHA256
    except (OSError, ValueError, KeyError, TypeError):
        return f"{manifest_path} is damaged"
    if not current:
        return f"{cache} was drawn by another version of Ganvas or from other sources"
    if hashlib.sha256(cache.read_bytes() if content is None else content).hexdigest() != recorded:
        return f"{cache} is damaged (its SHA-256 is not the one recorded in {manifest_path.name})"
    return None


def render_cache(directory: Path, log=print) -> None:
    """Draw the data set into `directory` unless a whole, current cache is there already."""
    problem = cache_problem(directory)
    if problem is None:
        log(f"ok  emoji: already drawn in {directory}")
        return
    arrays = render_all(log)
    directory.mkdir(parents=True, exist_ok=True)
    cache, manifest_path = cache_paths(directory)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".emoji-", suffix=".npz", delete=False) as file:
        np.savez_compressed(file, **arrays)
    staged = Path(file.name)
    staged.chmod(0o644)  # a cache for every user of the machine, as the other data sets' files are
    cache_bytes = staged.read_bytes()
    os.replace(staged, cache)
    # Last: the manifest vouches for the cache, so a cache without it is drawn again.
    manifest_path.write_text(json.dumps(manifest_for(cache_bytes), indent=2))
    log(f"ok  emoji: {len(arrays['labels'])} emoji drawn into {directory} "
        f"({int(arrays['test'].sum())} kept for the test split)")


def load(directory: Path, split: str, image_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, S, S, 3) of the split at the stored size nearest above `image_size` (the
    caller resizes to other sizes), and int32 labels."""
    cache = cache_paths(directory)[0]
    content = cache.read_bytes() if cache.is_file() else None  # read once: checked, then parsed
    problem = cache_problem(directory, content)
    if problem is not None:
        raise EmojiError(f"{problem}; run `ganvas data fetch --dataset emoji` (the set-up, "
                         f"`bash scripts/setup.sh`, runs it)")
    wanted = image_size or DEFAULT_SIZE
    stored = min((size for size in SIZES if size >= wanted), default=max(SIZES))
    with np.load(io.BytesIO(content)) as arrays:
        chosen = arrays["test"] == (split == "test")
        return arrays[f"images_{stored}"][chosen], arrays["labels"][chosen]
