"""The unconditional RGB DCGAN of the Sony thesis (Tables 5.3 and 5.4), for image folders.

At 64x64x3 the discriminator has 4,316,545 parameters and the generator 5,135,363, as in the
tables (trainable parameters: the tables count a batch norm's scale and offset, not its moving
statistics). Other sizes keep the four stride-2 stages and scale the first feature map.

The layer conventions below are those of the DCGAN code the thesis trained with (Radford et
al.'s recipe): 5x5 kernels with stride 2, weights drawn from N(0, 0.02) (truncated for
convolutions, plain for transposed convolutions and dense layers), batch norm with momentum
0.9 and epsilon 1e-5, and Adam 2e-4 with beta1 0.5. The conditional DCGAN reuses them.
"""

import keras
from keras import layers

from trainer.models import check_image_size, discriminator_inputs, generator_inputs

# Square images whose side is a multiple of 16 (four stride-2 stages), e.g. 64.
IMAGE_SIZE_RULE = (16, 64)
OUTPUT_ACTIVATION = "tanh"
DEFAULTS = dict(
    batch_size=64, lr=2e-4, beta1=0.5, latent_dim=100, d_steps=1, g_steps=1,
    loss="bce", jit_compile=False, image_size=64,
)


def conv(filters):
    return layers.Conv2D(
        filters, 5, strides=2, padding="same",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
    )


def deconv(filters, **kwargs):
    return layers.Conv2DTranspose(
        filters, 5, strides=2, padding="same",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), **kwargs,
    )


def dense(units, **kwargs):
    return layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), **kwargs)


def batch_norm():
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def build_generator(latent_dim, image_shape, num_classes):
    check_image_size("dcgan", image_shape, *IMAGE_SIZE_RULE)
    start = image_shape[0] // 16
    inputs = generator_inputs(latent_dim, num_classes, False)
    hidden = dense(start * start * 512)(inputs[0])
    hidden = layers.Reshape((start, start, 512))(hidden)
    hidden = layers.ReLU()(batch_norm()(hidden))
    for filters in (256, 128, 64):
        hidden = layers.ReLU()(batch_norm()(deconv(filters)(hidden)))
    image = deconv(image_shape[-1], activation="tanh", dtype="float32")(hidden)
    return keras.Model(inputs, image, name="generator")


def build_discriminator(image_shape, num_classes):
    check_image_size("dcgan", image_shape, *IMAGE_SIZE_RULE)
    inputs = discriminator_inputs(image_shape, num_classes, False)
    hidden = layers.LeakyReLU(0.2)(conv(64)(inputs[0]))
    for filters in (128, 256, 512):
        hidden = layers.LeakyReLU(0.2)(batch_norm()(conv(filters)(hidden)))
    logit = dense(1, dtype="float32")(layers.Flatten()(hidden))
    return keras.Model(inputs, logit, name="discriminator")
