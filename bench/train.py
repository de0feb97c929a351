"""Training speed: Ganvas's loop against a plain TF2 port of the SJTU report's loop.

    python -m bench.train [--epochs 3] [--models cgan,cdcgan] [--limit-per-class N]

For each model it prints seconds per epoch, images per second and peak memory for
- "ganvas": the trainer's loop (data in the graph, many iterations per graph call);
- "plain":  the SJTU report's loop ported straight to TF2: each batch sliced in NumPy and fed
            from Python, one `tf.function` call for the D step and one for the G step.
Both run in this one process, one after the other, so the ratio is honest on a noisy machine.
The first epoch of each includes tracing and is reported apart; the rest are averaged.
Peak memory is the process's resident high-water mark after each measurement.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import trainer  # noqa: E402, F401  (before TensorFlow: its CPU settings, see trainer/__init__.py)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from trainer import data  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.models import get_family  # noqa: E402
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


if __name__ == "__main__":
    main()
