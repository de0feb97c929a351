"""Ganvas's default conditional conv GAN: small enough to train in minutes on a laptop CPU and
to run in a browser, strong enough that every sample shows the label that was asked for.

Choices, and why:
- Generator: upsample-then-convolve instead of transposed convolutions. It avoids their
  checkerboard artefacts, and in TF.js's WASM backend a transposed convolution runs about ten
  times slower than a convolution of the same work. Most of the capacity sits in one dense
  layer (a matrix multiply is the cheapest FLOP on a CPU and in the browser) and the
  convolutions stay narrow.
- Discriminator: a projection discriminator (Miyato & Koyama 2018). The label enters as the
  inner product of a learned class embedding with the image features, which conditions far
  more strongly than concatenating a one-hot vector, so samples follow their label early.
- Spectral normalisation on every discriminator layer keeps it 1-Lipschitz, which stabilises
  training without batch norm in the discriminator (batch norm mixes real and fake statistics).
- Hinge loss, the pairing with spectral norm and projection that SN-GAN and BigGAN use.
- Adam with beta1 0.5 and equal learning rates: with spectral norm, a single D step per G
  step is enough.
"""

import keras
from keras import layers

from trainer.models import check_image_size, discriminator_inputs, generator_inputs

CONDITIONAL = True
OUTPUT_ACTIVATION = "tanh"
# Batches of 128 rather than DCGAN's 64: a CPU runs the bigger matrices faster per image.
DEFAULTS = dict(
    batch_size=128, lr=2e-4, beta1=0.5, latent_dim=64, d_steps=1, g_steps=1,
    loss="hinge", jit_compile=False,
)

# Channels of the generator's feature maps at 1/4, 1/4, 1/2 of the image size, and of the
# discriminator's two convolutions. Each generator convolution works at the lowest resolution
# that still has room for it: on a CPU the cost of a convolution is pixels x channels.
GENERATOR_WIDTHS = (64, 32, 16)
DISCRIMINATOR_WIDTHS = (32, 64)


def build_generator(latent_dim, image_shape, num_classes):
    check_image_size("cdcgan", image_shape, 4, 28)
    quarter = image_shape[0] // 4
    latent, label = generator_inputs(latent_dim, num_classes, CONDITIONAL)
    hidden = layers.Concatenate()([latent, label])
    hidden = layers.Dense(quarter * quarter * GENERATOR_WIDTHS[0], use_bias=False)(hidden)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((quarter, quarter, GENERATOR_WIDTHS[0]))(hidden)
    for index, width in enumerate(GENERATOR_WIDTHS[1:]):
        if index:
            hidden = layers.UpSampling2D(2)(hidden)
        hidden = layers.Conv2D(width, 3, padding="same", use_bias=False)(hidden)
        hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    hidden = layers.UpSampling2D(2)(hidden)
    image = layers.Conv2D(
        image_shape[-1], 3, padding="same", activation="tanh", dtype="float32"
    )(hidden)
    return keras.Model([latent, label], image, name="generator")


def spectral_norm(layer):
    return layers.SpectralNormalization(layer)


def build_discriminator(image_shape, num_classes):
    check_image_size("cdcgan", image_shape, 4, 28)
    image, label = discriminator_inputs(image_shape, num_classes, CONDITIONAL)
    hidden = image
    for filters in DISCRIMINATOR_WIDTHS:
        hidden = spectral_norm(layers.Conv2D(filters, 3, strides=2, padding="same"))(hidden)
        hidden = layers.LeakyReLU(0.2)(hidden)
    features = layers.Flatten()(hidden)
    unconditional = spectral_norm(layers.Dense(1))(features)
    class_embedding = spectral_norm(layers.Dense(features.shape[-1], use_bias=False))(label)
    projection = layers.Dot(axes=1)([class_embedding, features])
    logit = layers.Add(dtype="float32")([unconditional, projection])
    return keras.Model([image, label], logit, name="discriminator")
