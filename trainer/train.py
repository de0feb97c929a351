"""One training loop for every GAN family.

Speed on a laptop CPU comes from keeping Python out of the inner loop: the data set lives in
memory as one uint8 tensor, each epoch's order is a permutation computed in the graph, and one
`tf.function` runs `steps_per_call` whole iterations (D steps, then G steps) before Python sees
a number again, for the progress bar, the stop signal and the NaN check.

Reproducibility comes from stateless randomness: the data order is keyed by (seed, epoch) and
every noise draw by (seed, global step). A resumed run therefore draws exactly what the
uninterrupted run would have, and a run split across replicas draws the same global batch
as a single device, each replica taking its slice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import sys
import time
from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from trainer.config import TrainConfig
from trainer.images import grid, save_png
from trainer.models import (OUTPUT_RANGES, build_discriminator, build_generator, check_family_options,
                            check_image_shape, get_family, is_conditional)
from trainer.rundir import RunDirectory, RunError, save_model
from trainer.sampling import generate, grid_inputs, to_model_range

if TYPE_CHECKING:
    from trainer.data import ImageDataset


# Each loss takes logits. "bce" is the non-saturating loss of Goodfellow et al.: the generator
# maximises log D(G(z)) rather than minimising log(1 - D(G(z))), whose gradient vanishes early.
def bce_discriminator(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def bce_generator(fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def hinge_discriminator(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


def hinge_generator(fake_logits):
    return -tf.reduce_mean(fake_logits)


LOSSES = {"bce": (bce_discriminator, bce_generator), "hinge": (hinge_discriminator, hinge_generator)}


def mode_seeking_loss(images, latent):
    """MSGAN (Mao et al. 2019): the batch's first and second halves are pairs with the same label
    (see `_replica_step`), and G minimises 1 / (image distance / noise distance) over the pairs.
    A generator that maps different noise to the same image, as GANs drift towards, pays for it.
    Why here: the class loss makes digits typical of their label, and a classifier trained on
    typical digits alone misses the real test set's odd ones (docs/recipes.md's train-on-synthetic)."""
    pairs = images.shape[0] // 2
    images = tf.cast(images, tf.float32)
    image_distance = tf.reduce_mean(tf.abs(images[:pairs] - images[pairs:2 * pairs]), axis=[1, 2, 3])
    latent_distance = tf.reduce_mean(tf.abs(latent[:pairs] - latent[pairs:2 * pairs]), axis=1)
    return tf.reduce_mean(1.0 / (image_distance / latent_distance + 1e-5))


# Named rather than "auto_select", which may pick another generator per device. (XLA's kernels
# still turn the same seed into other normal numbers, so a run with --jit-compile follows a
# different, equally valid path than one without; resuming keeps whichever the run uses.)
RANDOM = "philox"

# Slots of the running sums kept in the checkpoint, so that an epoch interrupted and resumed
# reports the same means as one run straight through.
D_LOSS, G_LOSS, D_REAL, D_FAKE, D_COUNT, G_COUNT = range(6)


class TrainingStopped(Exception):
    """Ctrl-C or SIGTERM: the run was saved and can be resumed."""


class TrainingFailed(Exception):
    """A non-finite loss: the run is marked failed and its last good checkpoint kept."""


@contextlib.contextmanager
def precision_policy(name: str):
    """Keras's precision policy while the models are built, and the caller's one again after.

    Keras reads the policy only when a layer is made, and keeps it process-wide: left set, it
    would turn every later model in the process (the app's, a test's) into mixed precision.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()  # every visible GPU
        # No GPU: one replica per logical CPU device (the tests split the CPU in two).
        return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # the cluster comes from TF_CONFIG
    raise ValueError(f"unknown strategy {name!r}; choose default, mirrored or multiworker")


def distribution_strategy(config: TrainConfig) -> tf.distribute.Strategy:
    """The run's strategy, once its replicas are known to split the batch. The trainer's main
    asks before --overwrite empties the run directory, so a refusal leaves the run as it was."""
    strategy = make_strategy(config.strategy)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise RunError(f"--batch-size {config.batch_size} must divide evenly over {replicas} replicas")
    if config.mode_seeking_weight and config.batch_size // replicas < 2:  # pairs live within a replica
        raise RunError(f"--mode-seeking-weight needs pairs of samples on each of the {replicas} replicas: "
                       f"a --batch-size of at least {2 * replicas}")
    return strategy


class GANTrainer:
    def __init__(self, config: TrainConfig, dataset: ImageDataset, run: RunDirectory, log=print, evaluator=None,
                 strategy: tf.distribute.Strategy | None = None):
        self.config, self.run, self.log, self.evaluator = config, run, log, evaluator
        self.family = get_family(config.model)
        self.conditional = is_conditional(config.model)
        self.num_classes = len(config.label_names)
        self.discriminator_loss, self.generator_loss = LOSSES[config.loss]
        self.strategy = strategy if strategy is not None else distribution_strategy(config)
        self.replicas = self.strategy.num_replicas_in_sync
        if config.strategy != "default":
            log(f"{config.strategy} strategy: {self.replicas} replicas")

        # The whole data set in memory as variables: no per-step Python or NumPy work. Variables,
        # not constants, so the graph passes them by reference instead of embedding 47 MB of
        # pixels in every traced function (which XLA would then spend minutes compiling).
        with tf.device("/cpu:0"):
            self.images = tf.Variable(dataset.images, trainable=False, name="images")
            self.labels = tf.Variable(dataset.labels.astype("int32"), trainable=False, name="labels")
        self.iterations_per_epoch = len(dataset.labels) // (config.batch_size * config.d_steps)

        keras.utils.set_random_seed(config.seed)  # the same initial weights for the same seed
        with self.strategy.scope(), precision_policy(config.precision):
            self.generator = build_generator(config)
            # The generator that samples, checkpoints and generator.keras show: a moving average
            # of the trained one's weights when --average-decay is on, else the trained one.
            self.sampler = self.generator
            if config.average_decay:
                self.sampler = build_generator(config)
                self.sampler.set_weights(self.generator.get_weights())
            self.discriminator = build_discriminator(config)
            self.g_optimizer = self._optimizer()
            self.d_optimizer = self._optimizer()
            # Built now, not on the first step, so that a checkpoint restores into them at once.
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # epochs finished
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.sums = tf.Variable(tf.zeros(6, tf.float64), trainable=False)
        self.epoch_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.first_bad_step = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            generator=self.generator, discriminator=self.discriminator,
            **({"average_generator": self.sampler} if config.average_decay else {}),
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            epoch=self.epoch, step_in_epoch=self.step_in_epoch, global_step=self.global_step,
            sums=self.sums, epoch_seconds=self.epoch_seconds,
        )
        self.epoch_checkpoints = tf.train.CheckpointManager(
            self.checkpoint, run.checkpoints_dir, max_to_keep=config.keep_checkpoints)
        # A stop in the middle of an epoch is saved apart from the per-epoch checkpoints, whose
        # numbers mean "epochs finished"; resuming continues from whichever is further along.
        self.interrupted_checkpoints = tf.train.CheckpointManager(
            self.checkpoint, run.checkpoints_dir / "interrupted", max_to_keep=1)

        # XLA compiles the whole call, loop, gathers and noise included: for the MLP families
        # that is 1.6x faster than compiling the update alone (per-op overhead dominates their
        # small matrices). Not under a distribution strategy, whose all-reduce XLA cannot hold.
        jit = bool(config.jit_compile) and self.replicas == 1 and config.strategy == "default"
        self.train_steps = tf.function(self._train_steps, jit_compile=jit)
        self.epoch_order = tf.function(self._epoch_order)

    def _optimizer(self):
        optimizer = keras.optimizers.Adam(self.config.lr, beta_1=self.config.beta1)
        if self.config.precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    # ---- the graph -------------------------------------------------------------------------

    def _epoch_order(self, epoch):
        keys = tf.random.stateless_uniform([tf.shape(self.labels)[0]], seed=(self.config.seed, epoch), alg=RANDOM)
        return tf.argsort(keys)

    def _noise(self, step, salt, local_batch, replica):
        """This replica's slice of the global batch of latent vectors and random labels."""
        global_batch = self.config.batch_size
        seed = tf.stack([tf.cast(self.config.seed, tf.int64), step * 64 + salt])
        latent = tf.random.stateless_normal((global_batch, self.config.latent_dim), seed=seed, alg=RANDOM)
        labels = tf.random.stateless_uniform((global_batch,), seed=seed + 1, maxval=self.num_classes, dtype=tf.int32,
                                             alg=RANDOM)
        # tf.slice with a constant size keeps shapes static, which XLA needs.
        start = replica * local_batch
        return (tf.slice(latent, tf.stack([start, 0]), [local_batch, self.config.latent_dim]),
                tf.slice(labels, tf.reshape(start, [1]), [local_batch]))

    def _inputs(self, first, labels):
        if not self.conditional:
            return [first]
        return [first, tf.one_hot(labels, self.num_classes)]

    def _scaled(self, optimizer, loss):
        # Each replica's loss is its share of the global mean, so the gradients that the
        # optimizer sums over replicas equal those of one device on the whole batch. (The
        # optimizer's own loss scale matters only for mixed_float16.)
        return optimizer.scale_loss(loss / self.replicas)

    def _apply(self, optimizer, model, tape, scaled_loss):
        gradients = tape.gradient(scaled_loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    def _replica_step(self, order, iteration, step):
        """Gather this replica's slice of the data and noise, then update both networks."""
        context = tf.distribute.get_replica_context()
        replica = tf.cast(context.replica_id_in_sync_group, tf.int64)
        local_batch = self.config.batch_size // self.replicas
        real_batches, real_labels, d_latents, g_latents, g_labels = [], [], [], [], []
        for d_step in range(self.config.d_steps):
            # Each D step sees the next real batch: an epoch is one pass of the discriminator.
            start = (iteration * self.config.d_steps + d_step) * self.config.batch_size + replica * local_batch
            indices = tf.slice(order, tf.reshape(start, [1]), [local_batch])
            real_batches.append(to_model_range(tf.gather(self.images, indices), self.config.output_range))
            real_labels.append(tf.gather(self.labels, indices))
            d_latents.append(self._noise(step, d_step, local_batch, replica)[0])
        for g_step in range(self.config.g_steps):
            # Fresh noise and fresh random labels, as in the SJTU report's generator step.
            latent, labels = self._noise(step, 32 + g_step, local_batch, replica)
            if self.config.mode_seeking_weight:  # the second half repeats the first's labels: pairs
                pairs = local_batch // 2
                labels = tf.concat([labels[:pairs], labels[:local_batch - pairs]], 0)
            g_latents.append(latent)
            g_labels.append(labels)
        return self._update(real_batches, real_labels, d_latents, g_latents, g_labels)

    def _discriminate(self, images, labels):
        """D's real-or-fake logits, and the weighted class losses for `labels` of its AC-GAN head
        and of its twin head (0 for a head the run does not have)."""
        outputs = self.discriminator(self._inputs(images, labels), training=True)
        if not self.config.class_loss_weight:
            return tf.cast(outputs, tf.float32), 0.0, 0.0
        logits, *heads = outputs

        def class_loss(head):
            return self.config.class_loss_weight * tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(head, tf.float32)))

        twin_loss = class_loss(heads[1]) if self.config.twin_class_head else 0.0
        return tf.cast(logits, tf.float32), class_loss(heads[0]), twin_loss

    def _update(self, real_batches, real_labels, d_latents, g_latents, g_labels):
        """The D steps, then the G steps, on tensors only: the part XLA may compile."""
        d_loss = d_real = d_fake = g_loss = tf.constant(0.0)
        for real, labels, latent in zip(real_batches, real_labels, d_latents):
            with tf.GradientTape() as tape:
                fake = self.generator(self._inputs(latent, labels), training=True)
                # The class head learns from real images only; the twin head, if any, from fakes only.
                real_logits, class_loss, _ = self._discriminate(real, labels)
                fake_logits, _, twin_loss = self._discriminate(fake, labels)
                loss = self.discriminator_loss(real_logits, fake_logits) + class_loss + twin_loss
                scaled_loss = self._scaled(self.d_optimizer, loss)
            self._apply(self.d_optimizer, self.discriminator, tape, scaled_loss)
            d_loss += loss
            d_real += tf.reduce_mean(tf.sigmoid(real_logits))
            d_fake += tf.reduce_mean(tf.sigmoid(fake_logits))
        for latent, labels in zip(g_latents, g_labels):
            with tf.GradientTape() as tape:
                fake = self.generator(self._inputs(latent, labels), training=True)
                fake_logits, class_loss, twin_loss = self._discriminate(fake, labels)
                # TAC-GAN (Gong et al. 2019): minus the twin's loss cancels the class loss's reward
                # for fakes far from other classes, so G matches each class's real spread.
                loss = self.generator_loss(fake_logits) + class_loss - twin_loss
                if self.config.mode_seeking_weight:
                    loss += self.config.mode_seeking_weight * mode_seeking_loss(fake, latent)
                scaled_loss = self._scaled(self.g_optimizer, loss)
            self._apply(self.g_optimizer, self.generator, tape, scaled_loss)
            g_loss += loss
        # Means over this replica's batch divided by the replica count: summed over replicas
        # they give the global mean.
        share = 1.0 / self.replicas
        return tf.stack([d_loss, g_loss, d_real, d_fake]) * share

    def _train_steps(self, order, start, count):
        # A while loop, not `for ... in tf.range(count)`: XLA wants a range's bounds as constants
        # and compiled the graph again for every new value.
        iteration = start
        while iteration < start + count:
            per_replica = self.strategy.run(self._replica_step, args=(order, iteration, self.global_step))
            totals = tf.cast(self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None), tf.float64)
            finite = tf.reduce_all(tf.math.is_finite(totals))
            self.first_bad_step.assign(
                tf.where(finite | (self.first_bad_step >= 0), self.first_bad_step, iteration))
            counts = tf.constant([self.config.d_steps, self.config.g_steps], tf.float64)
            self.sums.assign_add(tf.concat([totals, counts], 0))
            self.global_step.assign_add(1)
            if self.config.lr_decay_epochs:
                self._decay_learning_rate()
            if self.config.average_decay:
                self._update_average()
            iteration += 1

    def _decay_learning_rate(self):
        """Linear decay to zero over the last lr_decay_epochs epochs. GAN weights keep circling
        a good solution at a constant rate; shrinking the steps lets them settle near it."""
        decay_steps = self.config.lr_decay_epochs * self.iterations_per_epoch
        start = (self.config.epochs - self.config.lr_decay_epochs) * self.iterations_per_epoch
        progress = tf.cast(self.global_step - start, tf.float32) / decay_steps
        rate = self.config.lr * (1.0 - tf.clip_by_value(progress, 0.0, 1.0))
        for optimizer in (self.g_optimizer, self.d_optimizer):
            optimizer.learning_rate.assign(rate)

    def _update_average(self):
        """sampler = decay * sampler + (1 - decay) * generator, batch-norm statistics included.
        GAN weights orbit a good solution rather than settle on it; their average sits nearer
        the middle (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN training").
        The decay ramps up as in tf.train.ExponentialMovingAverage with num_updates, so that the
        first epochs are not dragged back towards the random initial weights."""
        step = tf.cast(self.global_step, tf.float32)
        decay = tf.minimum(self.config.average_decay, (1.0 + step) / (10.0 + step))
        for average, current in zip(self.sampler.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * tf.cast(current, average.dtype))

    # ---- the epochs ------------------------------------------------------------------------

    def restore(self) -> None:
        """Continue from the furthest checkpoint: an epoch's end, or a stop mid-epoch."""
        candidates = [manager.latest_checkpoint for manager in (self.epoch_checkpoints, self.interrupted_checkpoints)]
        candidates = [path for path in candidates if path]
        if not candidates:
            return
        latest = max(candidates, key=lambda path: tf.train.load_variable(path, "global_step/.ATTRIBUTES/VARIABLE_VALUE"))
        self.checkpoint.restore(latest).assert_consumed()
        for optimizer in (self.g_optimizer, self.d_optimizer):
            optimizer.learning_rate.assign(self.config.lr)  # config.json, not the checkpoint, rules
        if self.config.lr_decay_epochs:
            self._decay_learning_rate()  # where the schedule stands, perhaps moved by a new --epochs
        self.log(f"resuming from {latest}: epoch {int(self.epoch) + 1}, "
                 f"iteration {int(self.step_in_epoch)} of {self.iterations_per_epoch}")

    def fit(self) -> None:
        config, run = self.config, self.run
        history = [record for record in run.history() if record["epoch"] <= int(self.epoch)]
        run.write_history(history)  # drops epochs written after the checkpoint a crash left
        if int(self.epoch) < config.epochs:
            # A finished run trained on: its old generator.keras would pass for the newest (sample,
            # eval and export prefer it); until the new one is saved they read the checkpoints.
            run.generator_path.unlink(missing_ok=True)
        writer = tf.summary.create_file_writer(str(run.tensorboard_dir))
        progress = Progress(self.iterations_per_epoch, self.log)
        self._stop_requested = False
        previous_handlers = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while int(self.epoch) < config.epochs:
                epoch = int(self.epoch) + 1
                run.write_status("running", epoch - 1, config.epochs)
                record = self._run_epoch(epoch, progress)
                history.append(record)
                self._write_epoch_outputs(record, history, writer)
            save_model(self.sampler, run.generator_path)
            shutil.rmtree(run.checkpoints_dir / "interrupted", ignore_errors=True)
            run.write_status("finished", int(self.epoch), config.epochs)
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            writer.close()

    def _request_stop(self, signum, frame):
        self._stop_requested = True

    def _run_epoch(self, epoch: int, progress) -> dict:
        order = self.epoch_order(tf.constant(epoch, tf.int64))
        progress.start(epoch, self.config.epochs, int(self.step_in_epoch))
        while int(self.step_in_epoch) < self.iterations_per_epoch:
            began = time.perf_counter()
            start = int(self.step_in_epoch)
            count = min(self.config.steps_per_call, self.iterations_per_epoch - start)
            self.train_steps(order, tf.constant(start, tf.int64), tf.constant(count, tf.int64))
            self.step_in_epoch.assign(start + count)
            self.epoch_seconds.assign_add(time.perf_counter() - began)
            if int(self.first_bad_step) >= 0:
                raise TrainingFailed(
                    f"non-finite loss in epoch {epoch} at step {int(self.first_bad_step) + 1} of "
                    f"{self.iterations_per_epoch}; the last good checkpoint is kept. Try a lower --lr.")
            progress.update(start + count, self._means())
            if self._stop_requested:
                self.interrupted_checkpoints.save()
                raise TrainingStopped(f"stopped in epoch {epoch} and saved; continue with --resume")
        seconds = float(self.epoch_seconds)
        images = self.iterations_per_epoch * self.config.batch_size * self.config.d_steps
        record = dict(epoch=epoch, **self._means(), seconds=round(seconds, 4),
                      images_per_second=round(images / max(seconds, 1e-9), 1))
        progress.finish(record)
        return record

    def _means(self) -> dict:
        sums = self.sums.numpy()
        d_count, g_count = max(sums[D_COUNT], 1), max(sums[G_COUNT], 1)
        return dict(d_loss=sums[D_LOSS] / d_count, g_loss=sums[G_LOSS] / g_count,
                    d_real=sums[D_REAL] / d_count, d_fake=sums[D_FAKE] / d_count)

    def _write_epoch_outputs(self, record, history, writer) -> None:
        """Samples and history first, checkpoint last: if the process dies in between, the
        resumed run trims history back to the checkpoint and redoes the epoch identically."""
        epoch = record["epoch"]
        if self.evaluator is not None and epoch % self.config.eval_every == 0:
            metrics = self.evaluator(self.sampler)
            record.update(frechet_distance=round(metrics["frechet_distance"], 4),
                          diversity=round(metrics["diversity_mean"], 4))
            if "label_accuracy" in metrics:
                record["label_accuracy"] = round(metrics["label_accuracy"], 4)
            self.log("         " + "  ".join(f"{key} {record[key]}" for key in
                                              ("label_accuracy", "frechet_distance", "diversity") if key in record))
        latent, labels, rows = grid_inputs(self.config)
        picture = grid(generate(self.sampler, self.config, latent, labels), rows, 10)
        save_png(self.run.sample_path(epoch), picture)
        self.run.write_history(history)
        with writer.as_default(step=epoch):
            for name in ("d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"):
                tf.summary.scalar(name, record[name])
            tf.summary.image("samples", picture[None])
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(0)
        self.sums.assign(tf.zeros_like(self.sums))
        self.epoch_seconds.assign(0.0)
        self.epoch_checkpoints.save(checkpoint_number=epoch)
        self.run.write_status("running", epoch, self.config.epochs)


class Progress:
    """A bar per epoch on a terminal; one summary line per epoch anywhere else (logs, CI)."""

    def __init__(self, total: int, log):
        self.total, self.log, self.bar = total, log, sys.stderr.isatty()

    def start(self, epoch, epochs, done):
        self.label, self.began = f"epoch {epoch}/{epochs}", time.perf_counter()

    def update(self, done, means):
        if not self.bar:
            return
        filled = int(30 * done / self.total)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} "
                         f"d_loss {means['d_loss']:.3f} g_loss {means['g_loss']:.3f}  ")
        sys.stderr.flush()

    def finish(self, record):
        if self.bar:
            sys.stderr.write("\r\033[K")
        self.log(f"{self.label}  d_loss {record['d_loss']:.4f}  g_loss {record['g_loss']:.4f}  "
                 f"D(x) {record['d_real']:.3f}  D(G(z)) {record['d_fake']:.3f}  "
                 f"{record['seconds']:.1f} s  {record['images_per_second']:.0f} img/s")


def record_dataset(config: TrainConfig, dataset: ImageDataset) -> TrainConfig:
    """The resolved config as it will be stored, with the data facts that readers need."""
    if config.loss not in LOSSES:
        raise RunError(f"unknown loss {config.loss!r}; choose one of: {', '.join(LOSSES)}")
    config.check()  # a ValueError, like an unknown family's
    if config.twin_class_head and not config.class_loss_weight:
        raise RunError("--twin-class-head needs a class loss: a --class-loss-weight above 0")
    if config.mode_seeking_weight and config.batch_size < 2:
        raise RunError("--mode-seeking-weight needs pairs of samples: a --batch-size of at least 2")
    check_family_options(config)
    check_image_shape(config.model, dataset.image_shape)
    if len(dataset.labels) < config.batch_size * config.d_steps:
        raise RunError(f"{len(dataset.labels)} images are fewer than one batch "
                       f"({config.batch_size} x {config.d_steps} D steps); lower --batch-size")
    return dataclasses.replace(
        config, image_shape=list(dataset.image_shape), label_names=list(dataset.label_names),
        output_range=list(OUTPUT_RANGES[get_family(config.model).OUTPUT_ACTIVATION]))
