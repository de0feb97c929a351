"""web/train.html's families are the CLI's: on the same weights and inputs the page's networks
(web/js/train/networks.js: the layers model, the hand-written `generatorForward` it trains
through, the discriminator) compute what trainer/models builds, one training step of the page
(training.js with ops.js's losses and adam.js's Adam) gives the losses and weights of
trainer/steps.py's, its real batches are to_model_range's pixels, its grid is grid_inputs' layout,
and its defaults are the CLI's. Keras's weights, as the CLI initialises them, are copied into the
page."""

import base64

import numpy as np
import pytest

import test_train_page
from browser import module_page, require_pages

# test_train_page's fixtures, a browser and web/ served, one of each for this module too.
chromium, site = test_train_page.chromium, test_train_page.site

# Float32 work in two libraries (XNNPACK or TF.js's CPU kernels against Eigen), summing in other
# orders: what each comparison allows. Measured: at most 7e-7 forward and in the losses; in the
# weights after the step up to 2.6e-6 (cgan, WASM), since Adam's first step divides each gradient
# by its size plus 3.2e-6 and so multiplies a gradient's rounding by up to lr / 3.2e-6 (316 for cgan).
TOLERANCE = 1e-5
STEP_LEARNING_RATE = 2e-4  # the step's, on both sides (see the step test)
# The families the page trains, their data in the test (shape, labels) and the backends compared:
# WASM, the page's default, and the CPU backend (WebGL runs on a software GPU here, 3.7 s a step).
FAMILIES = {"cgan": ((28, 28, 1), 10), "cdcgan-small": ((32, 32, 3), 4)}
BACKENDS = ("wasm", "cpu")
BATCH = 8


@pytest.fixture(scope="module", autouse=True)
def pages_ready():
    require_pages()


LOAD = """async () => {
  tf.wasm.setWasmPaths(new URL("vendor/", location.href).href);
  const load = (path) => import(new URL(path, location.href).href);
  const [{ registerWasmConvGradients }, networks, training] = await Promise.all(
    ["js/train/wasm-conv-grads.js", "js/train/networks.js", "js/train/training.js"].map(load));
  registerWasmConvGradients(); // as worker.js does: the WASM backend's convolution gradients
  // Float32 arrays cross as base64: [base64, shape] to a tensor, and a tensor or array back.
  const decode = ([text, shape]) => tf.tensor(new Float32Array(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer), shape);
  const encode = (values) => {
    const bytes = new Uint8Array(Float32Array.from(values instanceof tf.Tensor ? values.dataSync() : values).buffer);
    let text = "";
    for (let start = 0; start < bytes.length; start += 0x8000) text += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
    return btoa(text);
  };
  window.parity = { ...networks, ...training, decode, encode };
}"""


@pytest.fixture(scope="module")
def lab(chromium, site):
    with module_page(chromium, site, LOAD) as page:
        yield page


def to_page(array) -> list:
    array = np.asarray(array, np.float32)
    return [base64.b64encode(array.tobytes()).decode(), list(array.shape)]


def from_page(text: str, shape=None) -> np.ndarray:
    values = np.frombuffer(base64.b64decode(text), np.float32)
    return values if shape is None else values.reshape(shape)


def cli_config(name: str, *options: str):
    """`trainer train --model NAME OPTIONS` as the CLI resolves it, before the data is read."""
    from trainer.__main__ import build_parser, config_from_args
    from trainer.models import get_family

    args = build_parser().parse_args(["train", "--model", name, *options])
    return config_from_args(args).resolve(get_family(name).DEFAULTS)


def page_weights(name: str, network) -> list[np.ndarray]:
    """A Keras network's weights in the page's order and layout: its generator's setWeights, its
    discriminator's variables (networks.js)."""
    import keras

    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    if name == "cgan":
        # Layout 2 computes Dense(concatenation) as one Dense per input, summed, the first
        # (image or noise) with the bias: the page's one kernel is theirs stacked in that order.
        hidden = [layer for layer in dense if layer.units == 128]
        data_part, label_part = sorted(hidden, key=lambda layer: not layer.use_bias)
        output = next(layer for layer in dense if layer.units != 128)
        kernel = np.concatenate([np.asarray(data_part.kernel), np.asarray(label_part.kernel)])
        return [kernel, *(np.asarray(weight) for weight in (data_part.bias, output.kernel, output.bias))]
    convolutions = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]
    if network.name == "generator":  # [dense, its bias, then each convolution's kernel and bias]
        return [np.asarray(weight) for layer in dense + convolutions for weight in (layer.kernel, layer.bias)]
    unconditional = next(layer for layer in dense if layer.units == 1)
    embedding = next(layer for layer in dense if not layer.use_bias)
    head = network.get_layer("class_logits")
    weights = [*(weight for layer in convolutions for weight in (layer.kernel, layer.bias)),
               unconditional.kernel, unconditional.bias, embedding.kernel, head.kernel, head.bias]
    return [np.asarray(weight) for weight in weights]


@pytest.mark.parametrize("name", FAMILIES)
def test_the_page_defaults_are_the_cli_defaults(lab, name):
    from trainer.models import FAMILIES as CLI_FAMILIES
    from trainer.models import OUTPUT_RANGES, get_family

    # Every family the page trains is a conditional family of the CLI's, and is tested here.
    assert sorted(lab.evaluate("Object.keys(window.parity.FAMILIES)")) == sorted(FAMILIES)
    assert CLI_FAMILIES[name].conditional
    page = lab.evaluate("(name) => window.parity.family(name).defaults", name)
    config = cli_config(name)
    cli = dict(batchSize=config.batch_size, learningRate=config.lr, beta1=config.beta1, latentDim=config.latent_dim,
               dSteps=config.d_steps, gSteps=config.g_steps, loss=config.loss,
               classLossWeight=config.class_loss_weight or 0,  # unset (None) is no class loss
               averageDecay=config.average_decay or 0)  # unset (None) is no moving average
    assert page == cli
    # The page scales pixels to [-1, 1] and its generators end in tanh.
    assert OUTPUT_RANGES[get_family(name).OUTPUT_ACTIVATION] == (-1.0, 1.0)


def test_the_page_grid_lays_out_grid_inputs(lab):
    """One latent vector per column, reused on every row, and row r asks for label r: the grid of
    every epoch of a CLI run (trainer/sampling.py's grid_inputs), for the same seed."""
    from trainer.config import TrainConfig
    from trainer.sampling import GRID_COLUMNS, grid_inputs

    config = TrainConfig(model="cdcgan-small", seed=3, latent_dim=5, label_names=["a", "b", "c", "d"])
    latent, one_hot, rows = grid_inputs(config)
    page = lab.evaluate("""() => {
      const { latent, labels } = window.parity.gridInputs(3, 4, 5);
      return { latent: Array.from(latent), labels: Array.from(labels) };
    }""")
    page_latent = np.array(page["latent"], np.float32).reshape(rows, GRID_COLUMNS, 5)
    assert (page_latent == page_latent[:1]).all(), "cells of one column have different noise"
    assert np.unique(page_latent[0], axis=0).shape == (GRID_COLUMNS, 5), "the columns' noise repeats"
    np.testing.assert_allclose(page_latent.reshape(-1, 5), np.asarray(latent), rtol=0, atol=1e-6)
    assert page["labels"] == list(np.argmax(np.asarray(one_hot), 1)) == list(np.repeat(np.arange(4), GRID_COLUMNS))


STEP = """async ({ model, backend, shape, classes, data, labels, generator, discriminator, latent, latentLabels, images, learningRate }) => {
  const { Training, family, decode, encode } = window.parity;
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend`);
  const dataset = { name: "parity", images: Uint8Array.from(atob(data), (c) => c.charCodeAt(0)), labels: Uint8Array.from(labels),
    count: labels.length, imageShape: shape, labelNames: Array.from({ length: classes }, (_, label) => String(label)) };
  const training = new Training({ model, dataset: "parity", seed: 0, batchSize: labels.length,
    learningRate, dSteps: 1, gSteps: 1 }, dataset);
  training.generator.setWeights(generator.map(decode));
  if (training.average) training.resetAverage(); // as the CLI's sampler starts: the generator's weights
  discriminator.forEach((weight, index) => training.discriminator.variables[index].assign(decode(weight)));
  const out = tf.tidy(() => {
    const z = decode(latent);
    const y = tf.oneHot(tf.tensor1d(latentLabels, "int32"), classes);
    const judged = training.discriminator.forward(decode(images), y);
    return { layers: encode(training.generator.predict([z, y])), fast: encode(training.generate(z, y)),
      logits: encode(judged.logits), classLogits: judged.classLogits ? encode(judged.classLogits) : null };
  });
  out.grid = encode(await training.grid());
  // The first step's real batch (the epoch's order, scaled), and its D and G noise.
  const chunk = training.realChunk(0, 0);
  out.order = Array.from(training.order(0));
  out.real = encode(chunk.images[0]);
  tf.dispose([...chunk.images, ...chunk.labels]);
  out.dLatent = encode(training.noise("d").latent);
  const g = training.noise("g");
  out.gLatent = encode(g.latent);
  out.gLabels = Array.from(tf.tidy(() => g.labels.argMax(1)).dataSync());
  g.labels.dispose();
  training.discriminatorStep();
  training.generatorStep();
  out.stats = await training.read();
  out.generatorAfter = training.generator.getWeights().map(encode);
  out.discriminatorAfter = training.discriminator.variables.map(encode);
  training.dispose();
  return out;
}"""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", FAMILIES)
def test_the_page_computes_the_cli_networks_and_training_step(lab, tmp_path, name, backend):
    import tensorflow as tf

    from trainer.data import ImageDataset
    from trainer.launch import validate_for
    from trainer.rundir import RunDirectory
    from trainer.sampling import generate, grid_inputs, to_model_range
    from trainer.state import TrainingState
    from trainer.steps import TrainSteps

    shape, classes = FAMILIES[name]
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (BATCH, *shape), np.uint8)
    images.reshape(-1)[:256] = np.arange(256)  # every pixel level, for the scaling
    labels = rng.integers(0, classes, BATCH).astype(np.int32)
    dataset = ImageDataset(images, labels, tuple(map(str, range(classes))), "parity")
    # One step at a small learning rate: Adam's first step multiplies the two libraries' rounding by
    # about lr / 3.2e-6, and D's step feeds G's, so at the recipe's 1.6e-3 a few near-zero
    # gradients of G end up a whole step apart (measured: 92 of 40,960 weights on WASM).
    config = validate_for(cli_config(name, "--batch-size", str(BATCH), "--lr", str(STEP_LEARNING_RATE),
                                     "--runs-dir", str(tmp_path)), dataset, 1)
    strategy = tf.distribute.get_strategy()
    state = TrainingState(config, RunDirectory(tmp_path / "run"), strategy)  # the CLI's networks and seeded weights
    generator, discriminator = state.generator, state.discriminator
    latent = rng.normal(size=(6, config.latent_dim)).astype(np.float32)
    latent_labels = np.arange(6) % classes
    one_hot = np.eye(classes, dtype=np.float32)[latent_labels]
    scaled = np.asarray(to_model_range(images[:6], config.output_range))

    page = lab.evaluate(STEP, dict(
        model=name, backend=backend, shape=list(shape), classes=classes,
        data=base64.b64encode(images.tobytes()).decode(), labels=labels.tolist(),
        generator=[to_page(weight) for weight in page_weights(name, generator)],
        discriminator=[to_page(weight) for weight in page_weights(name, discriminator)],
        latent=to_page(latent), latentLabels=latent_labels.tolist(), images=to_page(scaled), learningRate=config.lr))
    differences = {}

    def compare(what, page_values, expected, tolerance=TOLERANCE):
        expected = np.asarray(expected, np.float32)
        difference = float(np.abs(page_values.reshape(expected.shape) - expected).max())
        differences[what] = difference
        assert difference <= tolerance, f"{name} on {backend}: {what} differs by {difference:.2e}"

    # Forward: the layers model (saved, sampled) and the function training runs, then D.
    fake = np.asarray(generator({"latent": latent, "label": one_hot}, training=False))
    compare("generator (layers model)", from_page(page["layers"]), fake)
    compare("generator (generatorForward)", from_page(page["fast"]), fake)
    judged = discriminator({"image": scaled, "label": one_hot}, training=False)
    logits, *heads = judged if isinstance(judged, (list, tuple)) else [judged]
    compare("discriminator logits", from_page(page["logits"]), logits)
    assert (page["classLogits"] is None) == (not heads)
    if heads:
        compare("class logits", from_page(page["classLogits"]), heads[0])
    # The grid of seed 0, in [0, 1], as the CLI's epoch grid draws it.
    grid_latent, grid_labels, _ = grid_inputs(config)
    compare("grid", from_page(page["grid"]), generate(state.sampler, config, grid_latent, grid_labels))

    # One step: D on the epoch's first real batch and the page's noise, then G, as the CLI's _update.
    order = np.array(page["order"])  # labels drawn evenly (the few images leave some labels out)
    assert order.shape == (BATCH,) and 0 <= order.min() and order.max() < BATCH
    real = to_model_range(images[order], config.output_range)
    # x / 127.5 - 1 against x * (2 / 255) - 1: at most one float32 rounding apart.
    compare("real batch pixels", from_page(page["real"]), real, tolerance=1e-6)
    d_latent = from_page(page["dLatent"], (BATCH, config.latent_dim))
    g_latent = from_page(page["gLatent"], (BATCH, config.latent_dim))
    steps = TrainSteps(config, state, dataset, strategy)
    d_loss, g_loss, d_real, d_fake = np.asarray(steps._update(
        [real], [tf.constant(labels[order])], [tf.constant(d_latent)], [tf.constant(g_latent)],
        [tf.constant(page["gLabels"], tf.int32)]))
    stats = page["stats"]
    for what, value, expected in (("D loss", stats["dLoss"], d_loss), ("G loss", stats["gLoss"], g_loss),
                                  ("D(x)", stats["dReal"], d_real), ("D(G(z))", stats["dFake"], d_fake)):
        compare(what, np.float32(value), expected)
    for network, after in ((generator, page["generatorAfter"]), (discriminator, page["discriminatorAfter"])):
        for index, weight in enumerate(page_weights(name, network)):
            compare(f"{network.name} weight {index} after the step", from_page(after[index]), weight)
    print(f"{name} on {backend}: " + ", ".join(f"{what} {value:.1e}" for what, value in differences.items()))


FIRST_NOISE = """async () => {
  const { Training, encode } = window.parity;
  const dataset = { name: "seeded", images: new Uint8Array(8 * 28 * 28), labels: Uint8Array.from({ length: 8 }, (_, i) => i % 2),
    count: 8, imageShape: [28, 28, 1], labelNames: ["0", "1"] };
  const draw = () => {
    const training = new Training({ model: "cgan", dataset: "seeded", seed: 0, batchSize: 4 }, dataset);
    const noise = encode(training.noise("d").latent);
    training.dispose();
    return noise;
  };
  return [draw(), draw()];
}"""


def test_a_trainings_first_noise_is_drawn_from_its_seed(lab):
    """The page trains with seed 0, whose first D step's noise seed works out to 0, which TF.js's
    randomNormal reads as no seed: two trainings must still draw the same first batch."""
    first, again = lab.evaluate(FIRST_NOISE)
    assert first == again
