"""The MLP conditional GAN of the SJTU course report, exactly: one hidden layer of 128 units in
each network, the one-hot label concatenated to the input, Xavier (Glorot) initialisation,
Adam 1e-3 with beta1 0.5 and batches of 150."""

import math

import keras
from keras import layers

from trainer.models import check_layout, discriminator_inputs, generator_inputs

OUTPUT_ACTIVATION = "tanh"
# The network is tiny, so per-op overhead dominates on a CPU: XLA fuses the whole step.
# Layouts: 1 concatenates the label to the input of a single Dense layer (runs written until
# 2026-12-05), 2 computes the same function as one Dense layer per input, summed.
DEFAULTS = dict(
    batch_size=150, lr=1e-3, beta1=0.5, latent_dim=100, d_steps=1, g_steps=1,
    loss="bce", jit_compile=True, generator_layout=2, discriminator_layout=2,
)


def dense_of_concatenation(inputs, units, layout, activation=None):
    """Dense(units, activation) on the concatenation of `inputs`; layout 2 computes it as one Dense
    per input, summed (one bias, each kernel from the whole kernel's Glorot range), because XLA on a
    CPU emits a concatenation fused with what produces it as slow scalar code (docs/benchmarks.md)."""
    if layout == 1:
        return layers.Dense(units, activation=activation, kernel_initializer="glorot_uniform")(
            layers.Concatenate()(inputs))
    limit = math.sqrt(6 / (sum(tensor.shape[-1] for tensor in inputs) + units))
    parts = [layers.Dense(units, use_bias=index == 0, kernel_initializer=keras.initializers.RandomUniform(-limit, limit))(
        tensor) for index, tensor in enumerate(inputs)]
    total = layers.Add()(parts)
    return layers.Activation(activation)(total) if activation else total


def build_generator(latent_dim, image_shape, num_classes, layout=2):
    check_layout("cgan", "generator", layout)
    latent, label = generator_inputs(latent_dim, num_classes, True)
    hidden = dense_of_concatenation([latent, label], 128, layout, activation="relu")
    pixels = layers.Dense(
        math.prod(image_shape), activation="tanh", kernel_initializer="glorot_uniform",
        dtype="float32",
    )(hidden)
    image = layers.Reshape(tuple(image_shape), dtype="float32")(pixels)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes, layout=2):
    check_layout("cgan", "discriminator", layout)
    image, label = discriminator_inputs(image_shape, num_classes, True)
    hidden = layers.LeakyReLU(0.2)(dense_of_concatenation([layers.Flatten()(image), label], 128, layout))
    logit = layers.Dense(1, kernel_initializer="glorot_uniform", dtype="float32")(hidden)
    return keras.Model([image, label], logit, name="discriminator")
