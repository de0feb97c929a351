"""The training page's conv GAN (web/js/train/networks.js's cdcgan-small) on the command line:
cdcgan's design at half its widths and without batch normalisation, so that a step costs as few
kernels as it can on a software WebGL. The generator upsamples then convolves twice from a
quarter of the image size; the discriminator is cdcgan's projection discriminator with its class
head. On the same weights the page's networks compute these functions, and one training step
the same losses (tests/test_page_parity.py), so a user can train in the CLI what the page
trains, and compare."""

import keras
from keras import layers

from trainer.models import cdcgan, check_image_size, generator_inputs
from trainer.models.layers import NearestUpsamplingConv2D

IMAGE_SIZE_RULE = (4, 28)
OUTPUT_ACTIVATION = "tanh"
# The page's defaults: batches of 64 (cdcgan's 128 is for a CPU's larger matrices); Adam 1.6e-3
# without momentum, 16 noise dimensions and a moving average of G's weights (0.99), as the CLI's
# main MNIST recipe without its LeNet features: 98-100 % label accuracy from 400 G steps to 1,400
# on three seeds (96-99 % without the average), where 2e-4, beta1 0.5 and 64 dimensions stayed at
# 77-83 % (docs/browser-training.md, "Choosing the page's conv recipe with its CLI twin").
DEFAULTS = dict(
    batch_size=64, lr=1.6e-3, beta1=0.0, latent_dim=16, d_steps=1, g_steps=1,
    loss="hinge", class_loss_weight=1.0, average_decay=0.99, jit_compile=False,
)

# Channels of the generator's maps at 1/4 and 1/2 of the image size, and of the discriminator's
# two convolutions: half of cdcgan's.
GENERATOR_WIDTHS = (32, 16)
DISCRIMINATOR_WIDTHS = (16, 32)


def build_generator(latent_dim, image_shape, num_classes):
    check_image_size("cdcgan-small", image_shape, *IMAGE_SIZE_RULE)
    height, width, channels = image_shape
    latent, label = generator_inputs(latent_dim, num_classes, True)
    hidden = layers.Concatenate()([latent, label])
    hidden = layers.Dense((height // 4) * (width // 4) * GENERATOR_WIDTHS[0], activation="relu")(hidden)
    hidden = layers.Reshape((height // 4, width // 4, GENERATOR_WIDTHS[0]))(hidden)
    # Each upsampling and its convolution as one layer, as the page trains them (ops.js's upsampleConv).
    hidden = NearestUpsamplingConv2D(GENERATOR_WIDTHS[1], activation="relu")(hidden)
    image = NearestUpsamplingConv2D(channels, activation="tanh", dtype="float32")(hidden)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes, class_head=False):
    check_image_size("cdcgan-small", image_shape, *IMAGE_SIZE_RULE)
    return cdcgan.build_discriminator(image_shape, num_classes, class_head=class_head, widths=DISCRIMINATOR_WIDTHS)
