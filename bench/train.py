"""Training speed: Ganvas's loop against a plain TF2 port of the SJTU report's loop.

    python -m bench.train [--epochs 3] [--models cgan,cdcgan] [--limit-per-class N]

For each model it prints seconds per epoch, images per second and peak memory for
- "ganvas": the trainer's loop (data in the graph, many iterations per graph call);
- "plain":  the SJTU report's loop ported straight to TF2: each batch sliced in NumPy and fed
            from Python, one `tf.function` call for the D step and one for the G step.
Both run in this one process, one after the other, so the ratio is honest on a noisy machine.
The first epoch of each includes tracing and is reported apart; the rest are averaged.
Peak memory is the process's resident high-water mark after each measurement. For the MLP
families it then prints this machine's floor: the seconds that just the epoch's matrix products
take at their shapes (fastest of XLA and TensorFlow's own kernels), and Ganvas's ratio to it.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import tempfile
import time

import trainer  # noqa: E402  (before TensorFlow: its CPU settings, see trainer/__init__.py)

trainer.start_tensorflow()  # its start-up lines held back, its C++ log lines hidden (TF_CPP_MIN_LOG_LEVEL=0 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from trainer import data  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.models import build_discriminator, build_generator, get_family  # noqa: E402
from trainer.rundir import RunDirectory  # noqa: E402
from trainer.launch import validate_for  # noqa: E402
from trainer.train import GANTrainer  # noqa: E402


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # kB on Linux


def ganvas_loop(config: TrainConfig, dataset, epochs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as runs:
        config.runs_dir, config.run_name, config.epochs = runs, "bench", epochs
        trainer = GANTrainer(config, dataset, RunDirectory(config.run_dir), log=lambda *_: None)
        trainer.fit()
        return [record["seconds"] for record in trainer.run.history()]


def plain_loop(config: TrainConfig, dataset, epochs: int) -> list[float]:
    """The SJTU report's Listing 14 in TF2: NumPy batches, two graph calls per iteration."""
    family = get_family(config.model)
    classes = len(config.label_names)
    generator = family.build_generator(config.latent_dim, config.image_shape, classes)
    discriminator = family.build_discriminator(config.image_shape, classes)
    g_optimizer = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
    d_optimizer = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
    low, high = config.output_range
    train_set = dataset.images.astype(np.float32) * ((high - low) / 255.0) + low
    onehot = np.eye(classes, dtype=np.float32)
    train_label = onehot[dataset.labels]

    @tf.function
    def d_step(x, y, z):
        with tf.GradientTape() as tape:
            fake = generator([z, y], training=True)
            real_logits = discriminator([x, y], training=True)
            fake_logits = discriminator([fake, y], training=True)
            loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        d_optimizer.apply_gradients(zip(tape.gradient(loss, discriminator.trainable_variables),
                                        discriminator.trainable_variables))
        return loss

    @tf.function
    def g_step(z, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softplus(-discriminator([generator([z, y], training=True), y], training=True)))
        g_optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                        generator.trainable_variables))
        return loss

    batch, seconds = config.batch_size, []
    for _ in range(epochs):
        began = time.perf_counter()
        for iteration in range(len(train_set) // batch):
            x_ = train_set[iteration * batch:(iteration + 1) * batch]
            y_ = train_label[iteration * batch:(iteration + 1) * batch]
            z_ = np.random.normal(0, 1, (batch, config.latent_dim)).astype(np.float32)
            d_step(x_, y_, z_)
            z_ = np.random.normal(0, 1, (batch, config.latent_dim)).astype(np.float32)
            y_ = onehot[np.random.randint(0, classes, batch)]
            g_step(z_, y_)
        seconds.append(time.perf_counter() - began)
    return seconds


# The families made of Dense layers only, whose every matrix product mlp_step_products lists.
MLP_FAMILIES = ("cgan", "gan")


def model_inputs_read(tensor) -> set[str]:
    """The names of the model inputs that `tensor` is a reshaping or concatenation of, or
    {"hidden"} for an activation computed from weights."""
    operation = tensor._keras_history.operation
    if isinstance(operation, keras.layers.InputLayer):
        return {operation.name}
    if isinstance(operation, (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Concatenate)):
        inputs = operation.input if isinstance(operation.input, list) else [operation.input]
        return set().union(*map(model_inputs_read, inputs))
    return {"hidden"}


def dense_layers(model) -> list[tuple[int, int, set[str]]]:
    """(inputs, units, what it reads: model_inputs_read) of each Dense layer, in order."""
    return [(layer.kernel.shape[0], layer.kernel.shape[1], model_inputs_read(layer.input)) for layer in model.layers
            if isinstance(layer, keras.layers.Dense)]


def mlp_step_products(config) -> list[tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """Every matrix product of one iteration of an MLP family (cgan, gan) as the trainer runs it,
    as (a's shape, b's shape, transpose a, transpose b): the D step's generator pass, its two
    discriminator passes (real, fake) and their backward passes (weight gradients, and input
    gradients where a gradient must flow on: into hidden layers, and in the G step into the
    image D reads); then the G step's generator and discriminator passes, the input gradients
    back through D, and G's backward pass."""
    batch = config.batch_size
    generator, discriminator = dense_layers(build_generator(config)), dense_layers(build_discriminator(config))

    def forward(layers):
        return [((batch, inputs), (inputs, units), False, False) for inputs, units, _ in layers]

    def weight_gradients(layers):  # x^T dy
        return [((batch, inputs), (batch, units), True, False) for inputs, units, _ in layers]

    def input_gradients(layers, flowing_into):  # dy W^T, where the gradient is wanted
        return [((batch, units), (inputs, units), False, True) for inputs, units, reads in layers
                if reads & flowing_into]

    d_step = (forward(generator) + 2 * (forward(discriminator) + weight_gradients(discriminator)
                                        + input_gradients(discriminator, {"hidden"})))
    g_step = (forward(generator) + forward(discriminator) + input_gradients(discriminator, {"hidden", "image"})
              + weight_gradients(generator) + input_gradients(generator, {"hidden"}))
    return config.d_steps * d_step + config.g_steps * g_step


def flops(products) -> int:
    """Floating-point operations of `products`: 2 m n k each."""
    return sum(2 * math.prod(a) * (b[0] if transpose_b else b[1]) for a, b, _, transpose_b in products)


def matmul_floor(products, iterations: int, jit_compile: bool) -> float:
    """Seconds this machine takes for just `products`, `iterations` times over, compiled in one
    graph loop: the floor under any training loop that has to compute them. Each iteration shifts
    its operands so that nothing can be computed once and reused."""
    operands = [(tf.random.normal(a), tf.random.normal(b)) for a, b, _, _ in products]

    @tf.function(jit_compile=jit_compile)
    def multiply(count):
        def body(step, total):
            shift = tf.cast(step, tf.float32) * 1e-7
            for (a, b), (_, _, transpose_a, transpose_b) in zip(operands, products):
                product = tf.matmul(a + shift, b, transpose_a=transpose_a, transpose_b=transpose_b)
                total += product[0, 0]
            return step + 1, total
        return tf.while_loop(lambda step, _: step < count, body, (tf.constant(0), tf.constant(0.0)))[1]

    multiply(tf.constant(2))  # traced and compiled outside the timing
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        multiply(tf.constant(iterations)).numpy()
        timings.append(time.perf_counter() - began)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (first one is warm-up)")
    parser.add_argument("--models", default="cgan,cdcgan")
    parser.add_argument("--limit-per-class", type=int, help="a smaller data set, for a quick look")
    args = parser.parse_args()
    dataset = data.load("mnist", limit_per_class=args.limit_per_class)
    images = len(dataset.labels)
    print(f"MNIST, {images} images, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    print(f"{'model':8s} {'loop':7s} {'first epoch s':>13s} {'s/epoch':>8s} {'images/s':>9s} {'peak GB':>8s}")
    for model in args.models.split(","):
        config = validate_for(TrainConfig(model=model).resolve(get_family(model).DEFAULTS), dataset, replicas=1)
        results = {}
        for name, loop in (("plain", plain_loop), ("ganvas", ganvas_loop)):
            seconds = loop(config, dataset, args.epochs)
            # What one loop leaves behind (models, traced graphs) would slow the next: a Ganvas
            # cdcgan epoch took 21-22 s after the plain loop, 18-19 s alone.
            keras.backend.clear_session()
            gc.collect()
            steady = float(np.mean(seconds[1:])) if len(seconds) > 1 else seconds[0]
            results[name] = steady
            print(f"{model:8s} {name:7s} {seconds[0]:13.2f} {steady:8.2f} {images / steady:9.0f} "
                  f"{peak_memory_gb():8.2f}", flush=True)
        print(f"{model:8s} speed-up of ganvas over plain: {results['plain'] / results['ganvas']:.2f}x")
        if model in MLP_FAMILIES:
            products = mlp_step_products(config)
            iterations = images // (config.batch_size * config.d_steps)
            epoch_flops = flops(products) * iterations
            floor = min(matmul_floor(products, iterations, jit) for jit in (True, False))
            print(f"{model:8s} matmul floor: {epoch_flops / 1e9:.1f} GFLOP per epoch in {floor:.2f} s "
                  f"({epoch_flops / floor / 1e9:.0f} GFLOP/s at its shapes); ganvas is "
                  f"{results['ganvas'] / floor:.2f}x the floor", flush=True)


if __name__ == "__main__":
    main()
