"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for small data sets.

On a few thousand images the discriminator soon knows every real one by heart; it then tells
fakes apart by that memory rather than by what makes an image right, and the generator, chasing
it, drops modes (docs/recipes.md, "Emoji in ten minutes"). Showing D every image,
real and fake alike, randomly recoloured, shifted and with a square cut out makes memorising
useless; and since the changes are differentiable, G learns through them, so it is never pushed
to draw the changes themselves (which augmenting the real images alone would do).

Every draw is stateless, keyed by the run's seed, the iteration and a salt per use, so a resumed
run augments exactly as the uninterrupted one. Images are in the model's range, [-1, 1].
"""

from __future__ import annotations

import tensorflow as tf

from trainer.config import AUGMENTATIONS

TRANSLATION = 1 / 8  # of the side: the largest shift
CUTOUT = 1 / 2  # of the side: the square cut out


def augment(images, policy: str, seed):
    """`images` (B, H, W, C) changed by each part of `policy`, independently per image; `seed`
    is a stateless seed (two int64), each part drawing from a seed of its own."""
    images = tf.cast(images, tf.float32)
    for salt, name in enumerate(AUGMENTATIONS):
        if name in policy.split(","):
            images = PARTS[name](images, seed + tf.constant([0, 1], tf.int64) * (salt + 1) * 7919)
    return images


def uniform(images, seed, low=0.0, high=1.0):
    """One draw per image, shaped (B, 1, 1, 1) to broadcast against the images."""
    return tf.random.stateless_uniform(tf.stack([tf.shape(images)[0], 1, 1, 1]), seed, low, high)


def color(images, seed):
    """Brightness ±0.5, saturation ×0–2, contrast ×0.5–1.5, as DiffAugment's 'color'."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    images = images + uniform(images, seeds[0], low=-0.5, high=0.5)
    grey = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - grey) * uniform(images, seeds[1], high=2.0) + grey
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * uniform(images, seeds[2], low=0.5, high=1.5) + mean


def shift_matrices(offsets, size):
    """(B, size, size) matrices that move a row (or column) index by `offsets`, zeros where
    the source falls outside: matrix products shift each image by its own amount."""
    source = tf.range(size)[tf.newaxis, :] + offsets[:, tf.newaxis]
    inside = (source >= 0) & (source < size)
    return tf.one_hot(tf.where(inside, source, -1), size)  # one_hot(-1) is a row of zeros


def translation(images, seed):
    """Each image shifted by up to an eighth of its side in each direction, the edge filled with 0."""
    height, width = images.shape[1], images.shape[2]
    most = int(height * TRANSLATION + 0.5)
    offsets = tf.random.stateless_uniform([2, tf.shape(images)[0]], seed, -most, most + 1, tf.int32)
    images = tf.einsum("bij,bjwc->biwc", shift_matrices(offsets[0], height), images)
    return tf.einsum("bkw,bhwc->bhkc", shift_matrices(offsets[1], width), images)


def cutout(images, seed):
    """A square of half the side set to 0 at a random place (partly outside at the edges)."""
    height, width = images.shape[1], images.shape[2]
    half = int(height * CUTOUT + 0.5) // 2
    centres = tf.random.stateless_uniform([2, tf.shape(images)[0], 1, 1], seed, 0, 1) * [[[[height]]], [[[width]]]]
    rows = tf.cast(tf.range(height), tf.float32)[tf.newaxis, :, tf.newaxis]
    columns = tf.cast(tf.range(width), tf.float32)[tf.newaxis, tf.newaxis, :]
    inside = (tf.abs(rows + 0.5 - centres[0]) <= half) & (tf.abs(columns + 0.5 - centres[1]) <= half)
    return images * tf.cast(~inside, images.dtype)[..., tf.newaxis]


PARTS = {"color": color, "translation": translation, "cutout": cutout}
assert tuple(PARTS) == AUGMENTATIONS  # the names TrainConfig.check accepts
