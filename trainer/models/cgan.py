"""The MLP conditional GAN of the SJTU course report, exactly: one hidden layer of 128 units in
each network, the one-hot label concatenated to the input, Xavier (Glorot) initialisation,
Adam 1e-3 with beta1 0.5 and batches of 150."""

import math

import keras
from keras import layers

from trainer.models import discriminator_inputs, generator_inputs

OUTPUT_ACTIVATION = "tanh"
# The network is tiny, so per-op overhead dominates on a CPU: XLA fuses the whole step.
DEFAULTS = dict(
    batch_size=150, lr=1e-3, beta1=0.5, latent_dim=100, d_steps=1, g_steps=1,
    loss="bce", jit_compile=True,
)


def build_generator(latent_dim, image_shape, num_classes):
    latent, label = generator_inputs(latent_dim, num_classes, True)
    hidden = layers.Concatenate()([latent, label])
    hidden = layers.Dense(128, activation="relu", kernel_initializer="glorot_uniform")(hidden)
    pixels = layers.Dense(
        math.prod(image_shape), activation="tanh", kernel_initializer="glorot_uniform",
        dtype="float32",
    )(hidden)
    image = layers.Reshape(tuple(image_shape), dtype="float32")(pixels)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes):
    image, label = discriminator_inputs(image_shape, num_classes, True)
    hidden = layers.Concatenate()([layers.Flatten()(image), label])
    hidden = layers.Dense(128, kernel_initializer="glorot_uniform")(hidden)
    hidden = layers.LeakyReLU(0.2)(hidden)
    logit = layers.Dense(1, kernel_initializer="glorot_uniform", dtype="float32")(hidden)
    return keras.Model([image, label], logit, name="discriminator")
