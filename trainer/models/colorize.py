"""Colorization: pix2pix (Isola et al. 2017) at CPU scale. The generator reads a grey image and
draws its colours; the discriminator judges (grey, colour) pairs. The condition is an image, not
a label, and there is no noise: one grey image has one colouring.

Choices, and why:
- The generator predicts the two chroma channels of YCbCr and keeps the luminance it was given,
  so the output's luminance is the input's exactly (to float rounding): colorizing never moves
  an edge, a shadow or a highlight, and the network spends its few weights on colour alone. YCbCr
  rather than Lab because its Y is ITU-R 601 luminance, what Pillow's convert("L") computes
  (`trainer.data.convert_channels`), so the data's grey, the user's grey photo and the output's
  grey are one quantity; and because it is linear, a 3x3 matrix in the graph, cheap in TF.js.
  A chroma that would leave the RGB cube is desaturated towards the grey pixel (never clipped,
  which would change the luminance): `with_luminance`.
- A small U-Net (stride-2 convolutions down; nearest-neighbour upsampling and a convolution up,
  fused as in cdcgan; skip connections at every scale), so fine detail reaches the output and
  the bottleneck need only carry what colours a region. Batch norm, LeakyReLU down and ReLU up,
  as in pix2pix. No dropout: pix2pix's own noise, which its authors found the generator mostly
  ignores; without it a grey image is colorized the same on the command line and in the page.
- A PatchGAN discriminator: three convolutions (two of stride 2) over the grey image stacked on
  the colour one, ending in a map of logits, one per overlapping patch of about 23 pixels. It
  judges local colour, which is what L1 alone leaves dull; L1 keeps the overall colours right.
  No normalisation, as in cdcgan (batch norm mixes the statistics of real and fake batches).
- Loss: non-saturating GAN loss plus `--l1-weight` (pix2pix's lambda, 100) times the mean
  absolute difference to the true colours; `--adversarial-weight 0` trains the same U-Net on L1
  alone, the baseline that the adversarial term must beat in colourfulness.
- Adam 2e-4, beta1 0.5 (pix2pix); batches of 32 rather than pix2pix's 1, for a CPU.

The steps (trainer/steps.py) read the module's `condition_of` (a batch's grey image) and
`paired_loss` (the L1 term) and jitter each real batch as pix2pix did (`JITTER`, with flips).
"""

import keras
from keras import layers, ops

from trainer.models import check_image_size
from trainer.models.layers import NearestUpsamplingConv2D

# Square images whose side is a multiple of 16 (four stride-2 stages): 32, 64, 128.
IMAGE_SIZE_RULE = (16, 32)
OUTPUT_ACTIVATION = "tanh"
DEFAULTS = dict(batch_size=32, lr=2e-4, beta1=0.5, d_steps=1, g_steps=1, loss="bce", jit_compile=False,
                l1_weight=100.0, adversarial_weight=1.0)

# pix2pix's random jitter: each real image is scaled up to 286/256 of its side and cropped back
# to a random window, and flipped left to right half the time (in the graph, trainer/steps.py).
JITTER = 286 / 256

# ITU-R 601 luminance weights of red, green and blue: Pillow's convert("L").
LUMA = (0.299, 0.587, 0.114)

# Channels of the U-Net's encoder at 1, 1/2, 1/4, 1/8 and 1/16 of the image size; the decoder
# mirrors them. About 0.6 million weights: 0.6 MB as the page's uint8 model.
ENCODER_WIDTHS = (16, 32, 64, 128, 128)
DISCRIMINATOR_WIDTHS = (32, 64, 128)


def luminance(images):
    """Y of RGB images (..., 3), shape (..., 1), in the images' own range: the weights sum to 1, so
    [-1, 1] maps to [-1, 1]."""
    red, green, blue = LUMA
    return red * images[..., :1] + green * images[..., 1:2] + blue * images[..., 2:]


def check_data(dataset) -> None:
    """A ValueError for a data set without colour: every pixel grey, whatever its format."""
    images = dataset.images
    grey = images.shape[-1] == 1 or ((images[..., 0] == images[..., 1]) & (images[..., 1] == images[..., 2])).all()
    if grey:
        raise ValueError(f"{dataset.name} has no colour (every image is grey), and colorize learns colour from "
                         f"colour images: choose emoji or a folder of colour images")


def condition_of(images):
    """What the generator is given for a batch of real colour images: their grey image."""
    return luminance(images)


def paired_loss(fake, real):
    """pix2pix's L1 term: the mean absolute difference to the true colours (float32)."""
    return ops.mean(ops.abs(ops.cast(fake, "float32") - ops.cast(real, "float32")))


def colour_offsets(chroma):
    """R - Y, G - Y and B - Y, in the [-1, 1] range, of chroma (Cb, Cr) each in [-1, 1]. Green is
    taken from the other two so that the offsets' luminance is zero exactly as written."""
    red_weight, green_weight, blue_weight = LUMA
    blue = 2 * (1 - blue_weight) * chroma[..., :1]
    red = 2 * (1 - red_weight) * chroma[..., 1:]
    green = -(red_weight * red + blue_weight * blue) / green_weight
    return ops.concatenate([red, green, blue], axis=-1)


def chroma_of(images):
    """(Cb, Cr) in [-1, 1] of RGB images in [-1, 1]: the inverse of `colour_offsets`."""
    red_weight, _, blue_weight = LUMA
    grey = luminance(images)
    blue = (images[..., 2:] - grey) / (2 * (1 - blue_weight))
    red = (images[..., :1] - grey) / (2 * (1 - red_weight))
    return ops.concatenate([blue, red], axis=-1)


def with_luminance(grey, chroma):
    """RGB in [-1, 1] with luminance `grey` (..., 1) and chroma (Cb, Cr) (..., 2). Where the colour
    would leave the RGB cube, the chroma is scaled down until it fits: the pixel keeps its hue and
    its luminance and loses saturation, where clipping would change the luminance."""
    offsets = colour_offsets(chroma)
    headroom = ops.where(offsets > 0, 1.0 - grey, 1.0 + grey)  # how far each channel may move
    fits = headroom / ops.maximum(ops.abs(offsets), 1e-6)
    scale = ops.minimum(1.0, ops.min(fits, axis=-1, keepdims=True))
    return grey + ops.maximum(scale, 0.0) * offsets


@keras.saving.register_keras_serializable(package="ganvas")
class WithLuminance(keras.layers.Layer):
    """The generator's last step, [grey, chroma] → RGB (`with_luminance`). No weights."""

    def call(self, inputs):
        grey, chroma = inputs
        return with_luminance(ops.cast(grey, self.compute_dtype), ops.cast(chroma, self.compute_dtype))

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], 3)


def down(hidden, filters, normalise=True):
    hidden = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=not normalise)(hidden)
    if normalise:
        hidden = layers.BatchNormalization()(hidden)
    return layers.LeakyReLU(0.2)(hidden)


def up(hidden, skip, filters):
    hidden = NearestUpsamplingConv2D(filters, use_bias=False)(hidden)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    return layers.Concatenate()([hidden, skip])


def build_generator(latent_dim, image_shape, num_classes):
    """The U-Net; `latent_dim` and `num_classes` are the family protocol's and unused: the
    generator takes only its grey image (input `grey`, (H, W, 1) in [-1, 1])."""
    check_image_size("colorize", image_shape, *IMAGE_SIZE_RULE)
    grey = keras.Input((*image_shape[:2], 1), name="grey")
    # Full-resolution features for the last skip connection, then four halvings.
    skips = [layers.LeakyReLU(0.2)(layers.Conv2D(ENCODER_WIDTHS[0], 3, padding="same")(grey))]
    for filters in ENCODER_WIDTHS[1:]:
        skips.append(down(skips[-1], filters))
    hidden = skips.pop()
    for filters, skip in zip(reversed(ENCODER_WIDTHS[:-1]), reversed(skips)):
        hidden = up(hidden, skip, filters)
    chroma = layers.Conv2D(2, 3, padding="same", activation="tanh", dtype="float32")(hidden)
    colour = WithLuminance(dtype="float32")([grey, chroma])
    return keras.Model(grey, colour, name="generator")


def build_discriminator(image_shape, num_classes):
    """The PatchGAN: inputs `image` (H, W, 3) and `grey` (H, W, 1), both in [-1, 1]; a map of
    real-or-fake logits (H/4, W/4, 1)."""
    check_image_size("colorize", image_shape, *IMAGE_SIZE_RULE)
    image = keras.Input(tuple(image_shape), name="image")
    grey = keras.Input((*image_shape[:2], 1), name="grey")
    hidden = layers.Concatenate()([grey, image])
    for index, filters in enumerate(DISCRIMINATOR_WIDTHS):
        strides = 2 if index < 2 else 1
        hidden = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 3, strides=strides, padding="same")(hidden))
    logits = layers.Conv2D(1, 3, padding="same", dtype="float32")(hidden)
    return keras.Model([image, grey], logits, name="discriminator")
