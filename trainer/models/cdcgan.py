"""Ganvas's default conditional conv GAN: small enough to train in minutes on a laptop CPU and
to run in a browser, strong enough that every sample shows the label that was asked for.

Choices, and why:
- Generator: upsample-then-convolve instead of transposed convolutions. It avoids their
  checkerboard artefacts, and in TF.js's WASM backend a transposed convolution runs about ten
  times slower than a convolution of the same work. The upsampling is a nearest-neighbour
  resize (layers.py) rather than Keras's UpSampling2D, whose Tile ops made the WASM backend
  seven times slower (125 against 17 ms for 100 samples). The convolutions stay narrow, and each
  works at the lowest resolution that still has room for it: about 2 million multiply-adds
  per sample, so an epoch of MNIST takes about 20 s on two CPU cores. The last upsampling and
  its convolution run as one layer (NearestUpsamplingConv2D): the same function and weights,
  computed at half the resolution, which saves 5 to 10 % of an epoch on a CPU.
- Discriminator: a projection discriminator (Miyato & Koyama 2018). The label enters as the
  inner product of a learned class embedding with the image features, which conditions far
  more strongly than concatenating a one-hot vector, so samples follow their label early.
- No normalisation in the discriminator: batch norm would mix the statistics of real and fake
  batches, and spectral normalisation, tried first, left this small discriminator too weak to
  teach the generator within a few epochs (67 % label accuracy after 6 epochs against 96 %
  after 3 without it).
- Hinge loss, the pairing with a projection discriminator that SN-GAN and BigGAN use; it beat
  the non-saturating loss here (95.8 % against 92.6 % label accuracy after 3 epochs).
- An auxiliary classification loss beside the projection (AC-GAN, Odena et al. 2017;
  `--class-loss-weight`, 1 by default): D's head learns to name the label of real images, and G
  is rewarded when D names its fakes as asked. The projection alone left label accuracy
  swinging from epoch to epoch (95.3 % after 6 MNIST epochs on one machine, 97.9 % on another);
  with the head, 98.3 % and 98.7 % for two seeds, Fréchet distance 60 against 114 and
  diversity 0.90 against 0.82. The head learns from real images only: trained on fakes as well
  (the original AC-GAN), D could lower its loss by pushing fakes towards easy classes. The
  price is some variety: on Fashion-MNIST label accuracy rose from 88.3 % to 92.6 % after 8
  epochs, diversity fell from 0.94 to 0.86.
- A twin class head (TAC-GAN, Gong et al. 2019; `--twin-class-head`, off by default): a second
  head learns to name the label of fakes, and G is rewarded when it cannot. The class loss alone
  rewards fakes that are easy to name, so a generator drifts to each class's typical images and
  away from the borders between classes; subtracting the twin's loss cancels that pull, leaving
  the class head's teaching. What it buys is a data set to train a classifier on: the README's
  longer MNIST recipe with mode seeking trained a LeNet to 97.7 % on real test digits with it,
  96.9 to 97.2 % without; the samples follow their label a little less (97.2 % against 98.1 %).
  On Fashion-MNIST it took the gap between LeNets trained on synthetic and on real clothes
  from 5.96 to 4.40 points; with half the mode-seeking weight and 40 epochs, to 3.18 points
  at 90.0 % label accuracy. A discriminator twice as wide (`--discriminator-width 2`) is meant to
  give the twin head more to tell fakes apart by (its accuracy was not measured): the MNIST gap
  went from 0.84 to 0.68 points on the mean of three LeNet seeds, the Fashion-MNIST gap from 3.18
  to 2.88 (each no more than the spread between seeds), at 1.5 times the time per epoch.
- Adam 2e-4 with beta1 0.5 (the DCGAN recipe) and one D step per G step, at a constant rate:
  letting it fall to zero over the last 10 of 30 epochs (`--lr-decay-epochs`) changed little
  (Fréchet distance 23.9 against 23.0).
- No moving average of the generator's weights by default (`--average-decay`): at 0.999 it
  lowered MNIST's Fréchet distance after 6 epochs (47.5 against 54.2) at the same label
  accuracy (97.9 %), but on Fashion-MNIST label accuracy fell (86.9 % against 88.3 % after 8
  epochs) and diversity with it (0.89 against 0.94) (both before the class loss). The README's
  longer recipes, 30 epochs, turn it on.
"""

import keras
from keras import layers

from trainer.models import check_image_size, discriminator_inputs, generator_inputs
from trainer.models.layers import NearestUpsampling2D, NearestUpsamplingConv2D, RowDot

CONDITIONAL = True
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
# twice the features; the twin head's synthetic-data recipes gained a little (see the README).
GENERATOR_WIDTHS = (64, 32, 16)
DISCRIMINATOR_WIDTHS = (32, 64)


def build_generator(latent_dim, image_shape, num_classes, width=1, layout=2):
    check_image_size("cdcgan", image_shape, *IMAGE_SIZE_RULE)
    if layout not in (1, 2):
        raise ValueError(f"cdcgan has generator layouts 1 and 2, not {layout}: was the run written by a newer Ganvas?")
    widths = [channels * width for channels in GENERATOR_WIDTHS]
    quarter = image_shape[0] // 4
    latent, label = generator_inputs(latent_dim, num_classes, CONDITIONAL)
    hidden = layers.Concatenate()([latent, label])
    hidden = layers.Dense(quarter * quarter * widths[0], use_bias=False)(hidden)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((quarter, quarter, widths[0]))(hidden)
    for index, channels in enumerate(widths[1:]):
        if index:
            hidden = NearestUpsampling2D()(hidden)
        hidden = layers.Conv2D(channels, 3, padding="same", use_bias=False)(hidden)
        hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    # The last upsampling and convolution as one layer: the same arithmetic, faster on a CPU.
    # Layout 1, the two as separate layers, is how runs before it were built: the same function
    # and weights, but their checkpoints name the convolution by its position after the other.
    if layout == 1:
        hidden = NearestUpsampling2D()(hidden)
        image = layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", dtype="float32")(hidden)
    else:
        image = NearestUpsamplingConv2D(image_shape[-1], activation="tanh", dtype="float32")(hidden)
    return keras.Model([latent, label], image, name="generator")


def build_discriminator(image_shape, num_classes, class_head=False, twin_head=False, width=1):
    check_image_size("cdcgan", image_shape, *IMAGE_SIZE_RULE)
    image, label = discriminator_inputs(image_shape, num_classes, CONDITIONAL)
    hidden = image
    for filters in DISCRIMINATOR_WIDTHS:
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
