"""Layers of our own, registered so that a saved `generator.keras` loads them back."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="ganvas")
class NearestUpsampling2D(keras.layers.Layer):
    """Doubles height and width by copying each pixel into a 2x2 block, as UpSampling2D(2) does.

    Keras builds UpSampling2D from two `repeat`s, which TF.js runs as Tile ops: in the WASM
    backend they took about 120 of the 145 ms the default generator needed for 100 samples.
    A nearest-neighbour resize gives the same pixels as a single ResizeNearestNeighbor op,
    which every TF.js backend has a fast kernel for, and it is cheaper on a CPU too."""

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        return ops.image.resize(images, (2 * height, 2 * width), interpolation="nearest")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return batch, 2 * height, 2 * width, channels


@keras.saving.register_keras_serializable(package="ganvas")
class ClassBatchNormalization(keras.layers.Layer):
    """Batch normalisation whose scale and offset the label picks (conditional batch norm, de Vries
    et al. 2017, as in the generators paired with projection discriminators): each class draws from
    features scaled its own way, which plain concatenation of the label at the input cannot give
    every layer. Called on [features, one-hot label]; a mixture of two labels mixes their scales,
    so the page's morph stays smooth. Starts as plain batch norm (scales 1, offsets 0)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.normalization = keras.layers.BatchNormalization(center=False, scale=False)

    def build(self, input_shapes):
        feature_shape, label_shape = input_shapes
        self.normalization.build(feature_shape)
        shape = (label_shape[-1], feature_shape[-1])
        self.class_scale = self.add_weight(shape=shape, initializer="ones", name="class_scale")
        self.class_offset = self.add_weight(shape=shape, initializer="zeros", name="class_offset")

    def call(self, inputs, training=None):
        features, label = inputs
        normalized = self.normalization(features, training=training)
        label = ops.cast(label, self.compute_dtype)
        per_pixel = (-1,) + (1,) * (len(features.shape) - 2) + (features.shape[-1],)

        def for_label(weight):  # one row per class, mixed as the label mixes them
            return ops.reshape(ops.matmul(label, ops.cast(weight, self.compute_dtype)), per_pixel)

        return normalized * for_label(self.class_scale) + for_label(self.class_offset)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


@keras.saving.register_keras_serializable(package="ganvas")
class RowDot(keras.layers.Layer):
    """The inner product of two batches of vectors, row by row: what Dot(axes=1) computes.

    Keras's Dot runs it as a batch of 1xN by Nx1 matrix products, which a CPU computes one small
    product at a time: its forward and backward pass over cdcgan's 128 x 3136 features took 656
    microseconds against 159 for a multiply and a sum, and the whole discriminator's 8.2-8.6 ms
    instead of 9.7-10.2. An MNIST epoch gains less, about 1.5 % (23.4 against 23.7 s, two runs of
    each on a busy 2-core AMD EPYC), as the multiply's own gradient costs a little. It has no
    weights, so runs written with Dot resume as they were (the same history, checked on a run
    stopped after one epoch)."""

    def call(self, inputs):
        first, second = inputs
        return ops.sum(first * second, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0][0], 1


# Which of a 3x3 kernel's rows (or columns) reach which row of the small map, for each of the
# two output rows that a pixel of the small map becomes: TAPS[phase, offset + 1, tap] is 1
# when kernel row `tap` of an output row of that phase reads small-map row `offset` (-1, 0, +1).
# After a nearest-neighbour upsampling, output row 2i reads upsampled rows 2i-1, 2i, 2i+1, that
# is small-map rows i-1, i, i; output row 2i+1 reads rows 2i, 2i+1, 2i+2, that is i, i, i+1.
TAPS = np.zeros((2, 3, 3), "float32")
TAPS[0, 0, 0] = TAPS[0, 1, 1] = TAPS[0, 1, 2] = 1
TAPS[1, 1, 0] = TAPS[1, 1, 1] = TAPS[1, 2, 2] = 1


@keras.saving.register_keras_serializable(package="ganvas")
class NearestUpsamplingConv2D(keras.layers.Conv2D):
    """NearestUpsampling2D followed by a 3x3 "same" Conv2D, computed without upsampling.

    Each pixel of the small map becomes a 2x2 block whose four outputs are each a 3x3
    convolution of the small map with a kernel folded from this layer's own (TAPS): one
    convolution with four times the filters at a quarter of the pixels, then a depth-to-space
    that lays the four out as the 2x2 block. Same weights, same numbers (to float rounding)
    as the two layers, but a CPU runs a convolution with one output channel over 28x28 pixels
    badly, and the upsampling's gradient is a slow op of its own. As the default generator's
    last layer it took an MNIST epoch from 42 to 39-40 s on a 2-core AMD EPYC (bench.train), and
    100 samples in the page's WASM backend from 33 to 28 ms. (In the middle of the generator,
    32 channels at 7x7 to 16 at 14x14, it gained nothing, so the two plain layers stay there.)"""

    # The Conv2D settings the folding assumes: fixed, so neither the constructor nor the saved
    # config takes them.
    FIXED = dict(kernel_size=3, strides=1, padding="same", data_format="channels_last", dilation_rate=1, groups=1)

    def __init__(self, filters, **kwargs):
        super().__init__(filters, **{**kwargs, **self.FIXED})

    def call(self, images):
        taps = ops.convert_to_tensor(TAPS, self.compute_dtype)
        kernel = ops.cast(self.kernel, self.compute_dtype)
        # folded[r, c, in, a, b, out]: the kernel of output phase (a, b) at small-map offset (r, c)
        folded = ops.einsum("ary,bcx,yxio->rciabo", taps, taps, kernel)
        folded = ops.reshape(folded, (3, 3, kernel.shape[2], 4 * self.filters))
        outputs = ops.depth_to_space(ops.conv(images, folded, padding="same"), 2)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return batch, 2 * height, 2 * width, self.filters

    def get_config(self):
        return {key: value for key, value in super().get_config().items() if key not in self.FIXED}
