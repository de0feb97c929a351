"""Every family builds, takes its inputs by name, and the thesis models have the thesis's sizes."""

import numpy as np
import pytest

from trainer.models import FAMILIES, get_family, is_conditional


def trainable_parameters(model):
    return sum(int(np.prod(variable.shape)) for variable in model.trainable_weights)


def test_sony_conditional_dcgan_matches_tables_5_1_and_5_2():
    family = get_family("cdcgan-sony")
    assert trainable_parameters(family.build_discriminator((28, 28, 1), 10)) == 3_769_479
    assert trainable_parameters(family.build_generator(100, (28, 28, 1), 10)) == 7_065_211


def test_sony_rgb_dcgan_matches_tables_5_3_and_5_4():
    family = get_family("dcgan")
    assert trainable_parameters(family.build_discriminator((64, 64, 3), 0)) == 4_316_545
    assert trainable_parameters(family.build_generator(100, (64, 64, 3), 0)) == 5_135_363


def test_both_cgan_layouts_compute_the_report_s_function_with_the_same_weights():
    """Layout 2 splits each first kernel by input (image or noise, then label): the same
    function, the report's parameter count, and rows drawn from the whole kernel's Glorot range."""
    family = get_family("cgan")
    for build, args, limit in ((family.build_generator, (100, (28, 28, 1), 10), (6 / (110 + 128)) ** 0.5),
                               (family.build_discriminator, ((28, 28, 1), 10), (6 / (794 + 128)) ** 0.5)):
        concatenated, split = build(*args, layout=1), build(*args)
        assert trainable_parameters(split) == trainable_parameters(concatenated)
        first, second = split.weights[0], split.weights[2]  # the input's kernel (bias between), the label's
        assert max(np.abs(first.numpy()).max(), np.abs(second.numpy()).max()) <= limit
        kernel, bias, *rest = concatenated.get_weights()
        split.set_weights([kernel[:first.shape[0]], bias, kernel[first.shape[0]:], *rest])
        rng = np.random.default_rng(0)
        inputs = [rng.normal(size=(4, *tensor.shape[1:])).astype("float32") for tensor in concatenated.inputs]
        np.testing.assert_allclose(np.asarray(split(inputs)), np.asarray(concatenated(inputs)), atol=1e-5)
        with pytest.raises(ValueError, match="layouts 1 and 2, not 3"):
            build(*args, layout=3)


def test_dcgan_adapts_to_image_size():
    generator = get_family("dcgan").build_generator(100, (32, 32, 3), 0)
    assert generator.output_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="multiple of 16"):
        get_family("dcgan").build_generator(100, (28, 28, 1), 0)


@pytest.mark.parametrize("name", [name for name, family in FAMILIES.items() if not family.image_conditioned])
def test_family_shapes_and_output_range(name):  # colorize's: tests/test_colorize.py
    family = get_family(name)
    shape = (32, 32, 3) if name == "dcgan" else (28, 28, 1)
    generator = family.build_generator(16, shape, 10)
    discriminator = family.build_discriminator(shape, 10)
    # The registry, which the app and the CLI read without TensorFlow, says what the layers take.
    takes_labels = is_conditional(name)
    assert sorted(tensor.name for tensor in generator.inputs) == (["label", "latent"] if takes_labels else ["latent"])
    assert sorted(tensor.name for tensor in discriminator.inputs) == (["image", "label"] if takes_labels else ["image"])
    inputs = {"latent": np.random.normal(size=(4, 16)).astype("float32")}
    if takes_labels:
        inputs["label"] = np.eye(10, dtype="float32")[:4]
    images = np.asarray(generator(inputs, training=False))
    assert images.shape == (4, *shape)
    low, high = {"tanh": (-1, 1), "sigmoid": (0, 1)}[family.OUTPUT_ACTIVATION]
    assert images.min() >= low and images.max() <= high
    d_inputs = {"image": images, **({"label": inputs["label"]} if takes_labels else {})}
    assert np.asarray(discriminator(d_inputs, training=False)).shape == (4, 1)


def test_unknown_family_lists_choices():
    with pytest.raises(ValueError, match="cdcgan-sony"):
        get_family("stylegan")


def test_one_layer_upsampling_convolution_is_an_upsampling_then_a_convolution(tmp_path):
    import keras
    from keras import layers

    from trainer.models.layers import NearestUpsampling2D, NearestUpsamplingConv2D

    small = keras.Input((7, 7, 5))
    one_layer = keras.Model(small, NearestUpsamplingConv2D(3, activation="tanh")(small))
    two_layers = keras.Model(small, layers.Conv2D(3, 3, padding="same", activation="tanh")(NearestUpsampling2D()(small)))
    rng = np.random.default_rng(0)
    two_layers.set_weights([rng.normal(0, 0.3, weight.shape).astype("float32") for weight in two_layers.get_weights()])
    one_layer.set_weights(two_layers.get_weights())  # the same kernel and bias, shape for shape
    images = rng.normal(size=(4, 7, 7, 5)).astype("float32")
    expected = np.asarray(two_layers(images))
    assert expected.shape == (4, 14, 14, 3) and one_layer.output_shape == (None, 14, 14, 3)
    np.testing.assert_allclose(np.asarray(one_layer(images)), expected, atol=1e-5)
    one_layer.save(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "model.keras")(images)), expected, atol=1e-5)


def test_both_cdcgan_generator_layouts_have_the_same_weights():
    family = get_family("cdcgan")
    current, earlier = (family.build_generator(64, (28, 28, 1), 10, layout=layout) for layout in (2, 1))
    assert [tuple(weight.shape) for weight in current.weights] == [tuple(weight.shape) for weight in earlier.weights]
    assert "NearestUpsamplingConv2D" in [type(layer).__name__ for layer in current.layers]


def test_class_batch_norm_replaces_the_generators_convolution_batch_norms():
    from trainer.config import TrainConfig
    from trainer.models import build_generator

    config = TrainConfig(model="cdcgan", class_batch_norm=True, latent_dim=64, image_shape=[28, 28, 1],
                         label_names=[str(digit) for digit in range(10)], generator_layout=2)
    kinds = [type(layer).__name__ for layer in build_generator(config).layers]
    assert kinds.count("ClassBatchNormalization") == 2 and kinds.count("BatchNormalization") == 1


def test_class_batch_normalization_scales_and_shifts_by_the_label(tmp_path):
    import keras
    from keras import layers

    from trainer.models.layers import ClassBatchNormalization

    features, label = keras.Input((3, 3, 4)), keras.Input((2,))
    model = keras.Model([features, label], ClassBatchNormalization()([features, label]))
    layer = model.layers[-1]
    rng = np.random.default_rng(0)
    images = rng.normal(2.0, 3.0, (6, 3, 3, 4)).astype("float32")
    one_hot = np.eye(2, dtype="float32")[[0, 1, 0, 1, 0, 1]]
    plain = layers.BatchNormalization(center=False, scale=False)
    # It starts as batch norm without a scale or offset of its own, in training and in inference.
    for training in (True, False):
        np.testing.assert_allclose(np.asarray(model([images, one_hot], training=training)),
                                   np.asarray(plain(images, training=training)), atol=1e-5)
    scale, offset = rng.normal(size=(2, 4)).astype("float32"), rng.normal(size=(2, 4)).astype("float32")
    layer.class_scale.assign(scale)
    layer.class_offset.assign(offset)
    normalized = np.asarray(plain(images, training=False))
    expected = normalized * scale[[0, 1, 0, 1, 0, 1], None, None] + offset[[0, 1, 0, 1, 0, 1], None, None]
    np.testing.assert_allclose(np.asarray(model([images, one_hot], training=False)), expected, atol=1e-5)
    # Half of each label gets half of each scale and offset: the sampler's morph.
    halves = np.full((6, 2), 0.5, "float32")
    np.testing.assert_allclose(np.asarray(model([images, halves], training=False)),
                               normalized * scale.mean(0) + offset.mean(0), atol=1e-5)
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "model.keras")([images, one_hot])),
                               expected, atol=1e-5)


def test_row_dot_is_keras_dot_over_the_feature_axis():
    import keras
    import tensorflow as tf
    from keras import layers

    from trainer.models.layers import RowDot

    rng = np.random.default_rng(0)
    first, second = (tf.constant(rng.normal(size=(6, 50)).astype("float32")) for _ in range(2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([first, second])
        ours, keras_dot = RowDot()([first, second]), layers.Dot(axes=1)([first, second])
    assert tuple(ours.shape) == tuple(keras_dot.shape) == (6, 1)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(keras_dot), rtol=1e-5, atol=1e-5)
    for gradients in zip(tape.gradient(ours, [first, second]), tape.gradient(keras_dot, [first, second])):
        np.testing.assert_allclose(*map(np.asarray, gradients), rtol=1e-5, atol=1e-6)
    features = keras.Input((50,))
    assert keras.Model(features, RowDot()([features, features])).output_shape == (None, 1)
