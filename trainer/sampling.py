"""Drawing samples from a generator: the fixed-noise grid of every epoch, `ganvas sample`, and
the generator (and discriminator) `synth` and `tstr` draw with; and colouring grey images with a
colorize run's generator.

Noise is the pages' (web/js/sampling.js), so a seed draws the same images in a training run, on
the command line, in the app and in the browser.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from trainer.config import TrainConfig, check_at_least
from trainer.data import convert_channels
from trainer.images import grid, save_png, to_unit_range
from trainer.models import build_discriminator, build_generator, is_conditional, is_image_conditioned
from trainer.rundir import RunDirectory, RunError, atomic_write

GRID_COLUMNS = 10
COLOURED_ROWS = 8  # training images in a colorize run's grid, a row of grey | generated | original each


# mulberry32's step: its state after k draws is seed + k times this, modulo 2**32.
MULBERRY32_INCREMENT = 0x6D2B79F5
UINT32 = np.uint64(0xFFFFFFFF)


def uniform_draws(seed: int, count: int) -> np.ndarray:
    """The first `count` numbers in [0, 1) of mulberry32 seeded with `seed`, as web/js/sampling.js
    draws them; each draw depends only on its position, so all are computed at once."""
    value = (np.uint64(seed & 0xFFFFFFFF) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(MULBERRY32_INCREMENT)) & UINT32
    value = ((value ^ (value >> np.uint64(15))) * (value | np.uint64(1))) & UINT32
    value ^= (value + (((value ^ (value >> np.uint64(7))) * (value | np.uint64(61))) & UINT32)) & UINT32
    return ((value ^ (value >> np.uint64(14))) & UINT32) / 4294967296.0


def latent_noise(seed: int, count: int, latent_dim: int, scale: float = 1.0) -> tf.Tensor:
    """Training's noise, N(0, 1), times `scale`: the pages' latentNoise (mulberry32, then
    Box-Muller), so that a seed means the same images everywhere. A `scale` below 1 gives cleaner,
    more typical images (the truncation trick's idea, Brock et al. 2019); above 1 more varied ones,
    which a classifier trained on synthetic images can use: they cover more of the awkward digits."""
    size = count * latent_dim
    pairs = (size + 1) // 2
    draws = uniform_draws(seed, 2 * pairs).reshape(pairs, 2)
    radius = np.sqrt(-2 * np.log(1 - draws[:, 0]))
    angle = 2 * np.pi * draws[:, 1]
    values = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).ravel()[:size].astype(np.float32)
    return tf.constant(scale * values.reshape(count, latent_dim), tf.float32)


def grid_inputs(config: TrainConfig):
    """Fixed noise for the per-epoch grid, as in the SJTU report: ten latent vectors, reused on
    every row, and row r asks for label r, so a column shows one "style" across all labels."""
    num_classes = len(config.label_names)
    rows = num_classes if is_conditional(config.model) else 10
    latent = latent_noise(config.seed, GRID_COLUMNS, config.latent_dim)
    latent = tf.tile(latent, (rows, 1))
    labels = np.repeat(np.arange(rows), GRID_COLUMNS) % num_classes
    return latent, tf.one_hot(labels, num_classes), rows


def epoch_grid(generator, config: TrainConfig, dataset=None) -> np.ndarray:
    """The picture every epoch leaves (uint8): the fixed-noise grid, or for an image-conditioned
    family rows of grey | generated | original for a fixed set of `dataset`'s images (the
    training set, chosen by the run's seed, so that a resumed run shows the same ones)."""
    if not is_image_conditioned(config.model):
        latent, labels, rows = grid_inputs(config)
        return grid(generate(generator, config, latent, labels), rows, GRID_COLUMNS)
    count = min(COLOURED_ROWS, len(dataset.images))
    chosen = np.sort(np.random.default_rng(config.seed).choice(len(dataset.images), count, replace=False))
    originals = dataset.images[chosen]
    grey = convert_channels(originals, 1)
    cells = [np.repeat(grey, 3, axis=-1) / 255.0, colorize(generator, config, grey), originals / 255.0]
    return grid(np.stack(cells, axis=1).reshape(-1, *originals.shape[1:]), count, 3)


def colorize(generator, config: TrainConfig, grey: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Colour images in [0, 1], (N, H, W, 3), of uint8 grey images (N, H, W, 1) the size of the run's."""
    images = []
    for start in range(0, len(grey), batch):
        coloured = generator(to_model_range(grey[start:start + batch], config.output_range), training=False)
        images.append(to_unit_range(coloured, config.output_range))
    return np.concatenate(images)


def generate(generator, config: TrainConfig, latent, one_hot_labels, batch: int = 1000) -> np.ndarray:
    """Images in [0, 1], shape (N, H, W, C), whatever the generator's output activation. Drawn
    `batch` at a time: the generator's activations for 100,000 images at once took 14 GB."""
    conditional = is_conditional(config.model)
    images = []
    for start in range(0, len(latent), batch):
        inputs = {"latent": latent[start:start + batch]}
        if conditional:
            inputs["label"] = one_hot_labels[start:start + batch]
        images.append(to_unit_range(generator(inputs, training=False), config.output_range))
    return np.concatenate(images)


def to_model_range(images, output_range) -> tf.Tensor:
    """uint8 pixels (a data set's, or a synthetic set's) to the float range the networks work in."""
    low, high = output_range
    return tf.cast(images, tf.float32) * ((high - low) / 255.0) + low


def check_samples_file(out: str | Path) -> None:
    """A RunError unless `write_samples` can write `out`: asked before anything is drawn, so that a
    folder is named rather than found when the file cannot replace it."""
    if Path(out).suffix.lower() not in (".png", ".npy"):  # "GRID.PNG" is a PNG too
        raise RunError(f"--out must end in .png (a grid) or .npy (raw images), not {str(out)!r}")
    if Path(out).is_dir():
        raise RunError(f"--out {out} is a folder; name a file, FILE.png or FILE.npy")


def write_samples(images: np.ndarray, out: str | Path) -> None:
    """`trainer sample`'s file: a grid of up to ten columns for FILE.png, the (N, H, W, C) images
    in [0, 1] for FILE.npy."""
    if Path(out).suffix.lower() == ".npy":
        from io import BytesIO

        buffer = BytesIO()
        np.save(buffer, images)
        atomic_write(Path(out), buffer.getvalue())
    else:
        count = len(images)
        save_png(out, grid(images, -(-count // GRID_COLUMNS), min(count, GRID_COLUMNS)))


def parse_label(label: str | int, label_names) -> int:
    if str(label) in label_names:
        return list(label_names).index(str(label))
    try:
        index = int(label)
    except ValueError:
        index = -1
    if not 0 <= index < len(label_names):
        raise RunError(f"unknown label {label!r}; choose an index 0-{len(label_names) - 1} "
                       f"or a name: {', '.join(label_names)}")
    return index


def draw_samples(run_dir: str | Path, epoch: int | None, label: str | None, count: int, seed: int = 0,
                 noise_scale: float = 1.0):
    """`ganvas sample`'s images in [0, 1]: `count` of a run's `label` (an index or a name; None for
    an unconditional run), with the run's config and the label's index (None when unconditional)."""
    generator, config = load_generator(run_dir, epoch)
    refuse_image_conditioned(config, "samples")
    conditional = is_conditional(config.model)
    if label is not None and not conditional:
        raise RunError(f"{config.model} is unconditional: leave out --label")
    if conditional and label is None:
        raise RunError(f"--label is required; choose an index or a name: {', '.join(config.label_names)}")
    index = parse_label(label, config.label_names) if conditional else 0
    latent = latent_noise(seed, count, config.latent_dim, noise_scale)
    images = generate(generator, config, latent, tf.one_hot([index] * count, len(config.label_names)))
    return images, config, index if conditional else None


def refuse_image_conditioned(config: TrainConfig, drawing: str) -> None:
    """A RunError for a command that draws `drawing` from noise or labels, given a colorize run."""
    if is_image_conditioned(config.model):
        raise RunError(f"{config.run_name} is a {config.model} run: it colours grey images rather than drawing "
                       f"{drawing}; use `ganvas colorize --run {config.run_name} IMAGE --out OUT.png`")


def checkpoint_epochs(run: RunDirectory) -> dict[int, str]:
    """Epoch number → checkpoint path, for every epoch checkpoint still kept."""
    state = tf.train.get_checkpoint_state(str(run.checkpoints_dir))
    paths = list(state.all_model_checkpoint_paths) if state else []
    return {int(path.rsplit("-", 1)[1]): path for path in paths}


def load_generator_and_epoch(run_dir: str | Path, epoch: int | None = None):
    """(generator, config, epoch) as `load_generator` loads them, with the epoch loaded: a run
    still training (no generator.keras yet) reads its newest kept checkpoint that is whole, so
    that a report names the epoch it used even if another ends meanwhile."""
    run = RunDirectory(run_dir)
    if not run.exists():
        raise RunError(f"{run.path} is not a run directory (no config.json)")
    config = TrainConfig.load(run.path)
    if epoch is None and run.generator_path.exists():
        return load_final_generator(run), config, run.status().get("epoch")
    generator = build_generator(config)
    # Runs that average the generator's weights sample from the average (see trainer/state.py).
    name = "average_generator" if config.average_decay else "generator"
    return generator, config, read_checkpoint(run, epoch, **{name: generator})


def load_generator(run_dir: str | Path, epoch: int | None = None):
    """(generator, config) of a run: the checkpoint of `epoch`, or else the final
    generator.keras, or else the latest checkpoint (a run still training or stopped)."""
    generator, config, _ = load_generator_and_epoch(run_dir, epoch)
    return generator, config


def load_final_generator(run: RunDirectory):
    import keras

    import trainer.models.colorize  # noqa: F401  (registers colorize's WithLuminance layer)
    import trainer.models.layers  # noqa: F401  (registers our layers, so that load_model knows them)
    try:
        return keras.models.load_model(run.generator_path, compile=False)
    except Exception as error:  # Keras says "File not found" of a damaged file, among other things
        kept = ", ".join(map(str, sorted(checkpoint_epochs(run))))
        instead = (f"use a kept checkpoint with --epoch (kept: {kept})" if kept
                   else "train it again with --overwrite")
        raise RunError(f"cannot load {run.generator_path}: it is damaged or not a Keras model "
                       f"({error}); {instead}") from None


def load_discriminator(run_dir: str | Path, epoch: int | None = None):
    """The discriminator of a run's checkpoint for `epoch` (default: the newest whole one,
    which is the final generator's epoch once a run has finished)."""
    run = RunDirectory(run_dir)
    config = TrainConfig.load(run.path)
    discriminator = build_discriminator(config)
    read_checkpoint(run, epoch, discriminator=discriminator)
    return discriminator


def load_for_drawing(run_dir: str | Path, epoch: int | None = None, hardest_of: int = 1):
    """The generator, config, for `hardest_of` above 1 the discriminator, and their epoch, that
    `synth` and `tstr` draw their labelled data sets with."""
    check_at_least(1, hardest_of=hardest_of)
    generator, config, loaded = load_generator_and_epoch(run_dir, epoch)
    refuse_image_conditioned(config, "labelled samples")
    # The discriminator of that same epoch, even while the run trains on.
    discriminator = load_discriminator(run_dir, loaded) if hardest_of > 1 else None
    return generator, config, discriminator, loaded


def read_checkpoint(run: RunDirectory, epoch: int | None, **objects) -> int:
    """Read `objects` from the checkpoint of `epoch`, or else from the newest kept one that is
    whole, saying which damaged ones it passed over; the epoch read."""
    checkpoints = checkpoint_epochs(run)
    if not checkpoints:
        status = run.status()
        advice = {"running": "wait for its first epoch to finish",
                  "failed": f"it failed ({status.get('error', 'see its status.json')}); train it again with --overwrite",
                  }.get(status.get("state"), "resume it (train --resume) until its first epoch ends")
        raise RunError(f"{run.path} has no finished epoch yet: {advice}")
    if epoch is not None and epoch not in checkpoints:
        raise RunError(f"no checkpoint for epoch {epoch} in {run.path}; kept epochs: "
                       f"{', '.join(map(str, sorted(checkpoints)))}")
    damaged = []
    for number in [epoch] if epoch is not None else sorted(checkpoints, reverse=True):
        try:
            tf.train.Checkpoint(**objects).read(checkpoints[number]).expect_partial()
        except (tf.errors.OpError, ValueError) as error:
            damaged.append(f"{checkpoints[number]} ({type(error).__name__})")
            continue
        if damaged:
            print(f"note: skipped damaged checkpoint {'; '.join(damaged)}; read epoch {number}", file=sys.stderr)
        return number
    others = sorted(set(checkpoints) - {epoch})
    instead = (f"choose another with --epoch (kept: {', '.join(map(str, others))})" if epoch is not None and others
               else "train the run again with --overwrite")
    raise RunError(f"checkpoint {'; '.join(damaged)} is damaged; {instead}")
