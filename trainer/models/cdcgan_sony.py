"""The conditional DCGAN of the Sony thesis (Tables 5.1 and 5.2), exactly.

The one-hot label is concatenated at every layer: as constant feature maps before each
convolution and as a plain vector before each dense layer. With 28x28x1 images the
discriminator has 3,769,479 trainable parameters and the generator 7,065,211, as in the tables.
The thesis's generator is stepped twice per discriminator step (so that the discriminator loss
does not collapse to zero) and ends in a sigmoid, so images are in [0, 1].
"""

import keras
from keras import layers

from trainer.models import check_image_size, discriminator_inputs, generator_inputs, label_maps
from trainer.models.dcgan import batch_norm, conv, deconv, dense

# Square images whose side is a multiple of 4 (two stride-2 stages), e.g. 28.
IMAGE_SIZE_RULE = (4, 28)
OUTPUT_ACTIVATION = "sigmoid"
DEFAULTS = dict(
    batch_size=64, lr=2e-4, beta1=0.5, latent_dim=100, d_steps=1, g_steps=2,
    loss="bce", jit_compile=False,
)


def with_label(features, label):
    if len(features.shape) == 2:
        return layers.Concatenate()([features, label])
    return layers.Concatenate()([features, label_maps(label, *features.shape[1:3])])


def build_generator(latent_dim, image_shape, num_classes):
    check_image_size("cdcgan-sony", image_shape, *IMAGE_SIZE_RULE)
    quarter = image_shape[0] // 4
    latent, label = generator_inputs(latent_dim, num_classes, True)
    hidden = with_label(latent, label)
    hidden = layers.ReLU()(batch_norm()(dense(1024)(hidden)))
    hidden = with_label(hidden, label)
    hidden = layers.ReLU()(batch_norm()(dense(quarter * quarter * 128)(hidden)))
    hidden = with_label(layers.Reshape((quarter, quarter, 128))(hidden), label)
    hidden = layers.ReLU()(batch_norm()(deconv(128)(hidden)))
    hidden = with_label(hidden, label)
    image = deconv(image_shape[-1], activation="sigmoid", dtype="float32")(hidden)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes):
    check_image_size("cdcgan-sony", image_shape, *IMAGE_SIZE_RULE)
    image, label = discriminator_inputs(image_shape, num_classes, True)
    hidden = with_label(image, label)
    hidden = layers.LeakyReLU(0.2)(conv(image_shape[-1] + num_classes)(hidden))
    hidden = with_label(hidden, label)
    hidden = layers.LeakyReLU(0.2)(batch_norm()(conv(64 + num_classes)(hidden)))
    hidden = with_label(layers.Flatten()(hidden), label)
    hidden = layers.LeakyReLU(0.2)(batch_norm()(dense(1024)(hidden)))
    hidden = with_label(hidden, label)
    logit = dense(1, dtype="float32")(hidden)
    return keras.Model([image, label], logit, name="discriminator")
