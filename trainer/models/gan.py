"""Unconditional MLP GAN, in the style of Goodfellow et al. (2014): fully connected networks
with one hidden layer each, a tanh generator and a non-saturating BCE loss."""

import math

import keras
from keras import layers

from trainer.models import discriminator_inputs, generator_inputs

OUTPUT_ACTIVATION = "tanh"
DEFAULTS = dict(
    batch_size=128, lr=2e-4, beta1=0.5, latent_dim=100, d_steps=1, g_steps=1,
    loss="bce", jit_compile=True,
)


def build_generator(latent_dim, image_shape, num_classes):
    inputs = generator_inputs(latent_dim, num_classes, False)
    hidden = layers.Dense(256, activation="relu")(inputs[0])
    hidden = layers.Dense(512, activation="relu")(hidden)
    pixels = layers.Dense(math.prod(image_shape), activation="tanh", dtype="float32")(hidden)
    image = layers.Reshape(tuple(image_shape), dtype="float32")(pixels)
    return keras.Model(inputs, image, name="generator")


def build_discriminator(image_shape, num_classes):
    inputs = discriminator_inputs(image_shape, num_classes, False)
    hidden = layers.Flatten()(inputs[0])
    hidden = layers.LeakyReLU(0.2)(layers.Dense(512)(hidden))
    hidden = layers.LeakyReLU(0.2)(layers.Dense(256)(hidden))
    logit = layers.Dense(1, dtype="float32")(hidden)
    return keras.Model(inputs, logit, name="discriminator")
