"""Ganvas's default conditional conv GAN: small enough to train in minutes on a laptop CPU and
to run in a browser, strong enough that every sample shows the label that was asked for.

Choices, and why (the comparisons that decided each, with their figures, are in
docs/experiments.md, "The design of the default generator"):
- Generator: nearest-neighbour upsampling then convolution (no checkerboard artefacts;
  transposed convolutions and Keras's UpSampling2D are slow in TF.js's WASM backend); narrow
  convolutions, each at the lowest resolution that has room for it, the last one fused with its
  upsampling (NearestUpsamplingConv2D), so that a CPU trains it in minutes. With
  `--class-batch-norm` the label picks the scale and offset of each convolution's batch norm
  (ClassBatchNormalization): each class gets features of its own at almost no cost, which
  clothes need and digits do not (docs/experiments.md).
- Discriminator: a projection discriminator (Miyato & Koyama 2018), which conditions on the
  label far more strongly than a concatenated one-hot vector; no normalisation, since batch
  norm mixes real and fake statistics and spectral norm left it too weak to teach.
- Hinge loss, the projection discriminator's usual pairing; it beat the non-saturating loss.
- An auxiliary class head (AC-GAN, `--class-loss-weight`), trained on real images only, steadies
  label accuracy; an optional twin head (TAC-GAN, `--twin-class-head`) cancels its pull towards
  typical images, for a synthetic training set (docs/recipes.md).
- Adam 2e-4, beta1 0.5, one D step per G step, a constant rate, and no moving average of the
  generator's weights by default (it cost Fashion-MNIST label accuracy; the longer recipes turn
  it on).
"""

import keras
from keras import layers

from trainer.classifier import lenet_feature_maps
from trainer.models import check_image_size, check_layout, discriminator_inputs, generator_inputs
from trainer.models.layers import ClassBatchNormalization, NearestUpsampling2D, NearestUpsamplingConv2D, RowDot

# Square images whose side is a multiple of 4 (two stride-2 stages), e.g. 28.
IMAGE_SIZE_RULE = (4, 28)
OUTPUT_ACTIVATION = "tanh"
# Batches of 128 rather than DCGAN's 64: a CPU runs the bigger matrices faster per image.
DEFAULTS = dict(
    batch_size=128, lr=2e-4, beta1=0.5, latent_dim=64, d_steps=1, g_steps=1,
    loss="hinge", class_loss_weight=1.0, generator_width=1, discriminator_width=1, jit_compile=False,
    generator_layout=2,
)

# Channels of the generator's feature maps at 1/4, 1/4, 1/2 of the image size, and of the
# discriminator's two convolutions. Each generator convolution works at the lowest resolution
# that still has room for it: on a CPU the cost of a convolution is pixels x channels.
# `--generator-width 2` doubles the generator's channels (four times the multiply-adds): the
# longer MNIST recipe's Fréchet distance needs it, the browser's default model does not.
# `--discriminator-width 2` doubles the discriminator's channels, so that its class heads read
# twice the features; the twin head's synthetic-data recipes gained a little (docs/recipes.md).
GENERATOR_WIDTHS = (64, 32, 16)
DISCRIMINATOR_WIDTHS = (32, 64)
# With --classifier-features: the units of the discriminator's own layer on the LeNet's second stage.
SECOND_STAGE_WIDTH = 256


def build_generator(latent_dim, image_shape, num_classes, width=1, layout=2, class_batch_norm=False):
    check_image_size("cdcgan", image_shape, *IMAGE_SIZE_RULE)
    check_layout("cdcgan", "generator", layout)
    widths = [channels * width for channels in GENERATOR_WIDTHS]
    quarter = image_shape[0] // 4
    latent, label = generator_inputs(latent_dim, num_classes, True)
    hidden = layers.Concatenate()([latent, label])
    hidden = layers.Dense(quarter * quarter * widths[0], use_bias=False)(hidden)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((quarter, quarter, widths[0]))(hidden)
    for index, channels in enumerate(widths[1:]):
        if index:
            hidden = NearestUpsampling2D()(hidden)
        hidden = layers.Conv2D(channels, 3, padding="same", use_bias=False)(hidden)
        if class_batch_norm:
            hidden = ClassBatchNormalization()([hidden, label])
        else:
            hidden = layers.BatchNormalization()(hidden)
        hidden = layers.ReLU()(hidden)
    # The last upsampling and convolution as one layer: the same arithmetic, faster on a CPU.
    # Layout 1, the two as separate layers, is how runs before it were built: the same function
    # and weights, but their checkpoints name the convolution by its position after the other.
    if layout == 1:
        hidden = NearestUpsampling2D()(hidden)
        image = layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", dtype="float32")(hidden)
    else:
        image = NearestUpsamplingConv2D(image_shape[-1], activation="tanh", dtype="float32")(hidden)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes, class_head=False, twin_head=False, width=1,
                        classifier_features=False, widths=DISCRIMINATOR_WIDTHS):
    """`widths`: the channels of its two convolutions (cdcgan-small's are half of these)."""
    check_image_size("cdcgan", image_shape, *IMAGE_SIZE_RULE)
    image, label = discriminator_inputs(image_shape, num_classes, True)
    if classifier_features:
        features = read_classifier_features(image, image_shape, num_classes, width)
    else:
        hidden = image
        for filters in widths:
            filters *= width
            hidden = layers.Conv2D(filters, 3, strides=2, padding="same")(hidden)
            hidden = layers.LeakyReLU(0.2)(hidden)
        features = layers.Flatten()(hidden)
    unconditional = layers.Dense(1)(features)
    class_embedding = layers.Dense(features.shape[-1], use_bias=False)(label)
    projection = RowDot()([class_embedding, features])
    logit = layers.Add(dtype="float32")([unconditional, projection])
    if not class_head:
        return keras.Model([image, label], logit, name="discriminator")
    heads = [layers.Dense(num_classes, dtype="float32", name="class_logits")(features)]
    if twin_head:
        heads.append(layers.Dense(num_classes, dtype="float32", name="twin_class_logits")(features))
    return keras.Model([image, label], [logit, *heads], name="discriminator")


def read_classifier_features(image, image_shape, num_classes, width=1):
    """Projected GAN (Sauer et al. 2021) on the data set's LeNet: a discriminator that reads the
    classifier's frozen convolutions need not learn to see first, so it teaches the generator from
    the first steps. Its own layer on each stage is non-linear because a linear read of frozen
    features tells the generator only their mean (docs/experiments.md, "The discriminator reads
    the classifier")."""
    first, second = lenet_feature_maps(image_shape, num_classes)(layers.Rescaling(0.5, offset=0.5)(image))
    first = layers.Conv2D(DISCRIMINATOR_WIDTHS[0] * width, 3, strides=2, padding="same")(first)
    first = layers.LeakyReLU(0.2)(first)
    second = layers.Dense(SECOND_STAGE_WIDTH * width)(layers.Flatten()(second))
    second = layers.LeakyReLU(0.2)(second)
    return layers.Concatenate()([layers.Flatten()(first), second])
