"""Everything a training is at one moment, and how it is saved and restored.

The networks (and the moving average that samples come from), both optimizers, and the counters
that say where the run stands live in one `tf.train.Checkpoint`. Restoring it puts a stopped or
crashed run back where it was, down to the iteration inside an epoch and the running sums of the
losses, which is what lets a resumed run draw exactly what an uninterrupted one would have.
"""

from __future__ import annotations

import contextlib
import shutil

import keras
import tensorflow as tf

from trainer.config import TrainConfig
from trainer.judges import FEATURES_ARCH
from trainer.models import build_discriminator, build_generator
from trainer.rundir import RunDirectory, RunError

# Slots of the running sums kept in the checkpoint, so that an epoch interrupted and resumed
# reports the same means as one run straight through.
D_LOSS, G_LOSS, D_REAL, D_FAKE, D_COUNT, G_COUNT = range(6)


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


def saved_value(path: str, name: str, otherwise):
    """A counter as a checkpoint saved it, or `otherwise` if the checkpoint cannot say."""
    try:
        return int(tf.train.load_variable(path, f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))
    except (tf.errors.OpError, ValueError):
        return otherwise


def first_line(error: Exception) -> str:
    """An error's gist for a one-line message: TensorFlow's run to many lines."""
    text = str(getattr(error, "message", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {(text or [''])[0][:160]}"


def counter(dtype=tf.int64, value=0):
    return tf.Variable(value, dtype=dtype, trainable=False)


class TrainingState:
    def __init__(self, config: TrainConfig, run: RunDirectory, strategy: tf.distribute.Strategy,
                 source: RunDirectory | None = None):
        """Saves into `run`, restores from `source` (default: `run`): a worker other than the
        chief saves into a scratch folder of its own but resumes from the chief's checkpoints."""
        self.config = config
        keras.utils.set_random_seed(config.seed)  # the same initial weights for the same seed
        with strategy.scope(), precision_policy(config.precision):
            self.generator = build_generator(config)
            # The generator that samples, checkpoints and generator.keras show: a moving average
            # of the trained one's weights when --average-decay is on, else the trained one.
            self.sampler = self.generator
            if config.average_decay:
                self.sampler = build_generator(config)
                self.sampler.set_weights(self.generator.get_weights())
            self.discriminator = build_discriminator(config)
            if config.classifier_features:
                self._copy_classifier_features()
            self.g_optimizer = self._optimizer()
            self.d_optimizer = self._optimizer()
            # Built now, not on the first step, so that a checkpoint restores into them at once.
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
        self.epoch = counter()  # epochs finished
        self.step_in_epoch = counter()
        self.global_step = counter()
        self.sums = tf.Variable(tf.zeros(6, tf.float64), trainable=False)
        self.epoch_seconds = counter(tf.float64, 0.0)
        self.first_bad_step = counter(value=-1)  # not saved: a checkpoint is only written when finite
        # The names are the checkpoint's keys: every run ever written restores by them.
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
        self.interrupted_dir = run.interrupted_dir
        self.interrupted_checkpoints = tf.train.CheckpointManager(
            self.checkpoint, self.interrupted_dir, max_to_keep=1)
        source = source or run
        self.sources = (self.epoch_checkpoints, self.interrupted_checkpoints) if source is run else (
            tf.train.CheckpointManager(self.checkpoint, source.checkpoints_dir, max_to_keep=None),
            tf.train.CheckpointManager(self.checkpoint, source.interrupted_dir, max_to_keep=None))

    def _copy_classifier_features(self) -> None:
        """A new run's discriminator starts from the data set's trained LeNet (`prepare` refused
        a run without one); a resumed run then restores the copy its checkpoints carry, so that
        a classifier trained again in between does not change the run under it."""
        from trainer.classifier import Classifier, copy_feature_weights

        with contextlib.suppress(RunError):  # gone since the run began: the checkpoint has it
            classifier = Classifier.for_run(self.config, self.config.classifiers_dir, FEATURES_ARCH)
            copy_feature_weights(classifier.model, self.discriminator.get_layer("classifier_features"))

    def _optimizer(self):
        optimizer = keras.optimizers.Adam(self.config.lr, beta_1=self.config.beta1)
        if self.config.precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    @property
    def optimizers(self):
        return self.g_optimizer, self.d_optimizer

    def kept_checkpoints(self) -> list[str]:
        """Every kept checkpoint, the epochs' and a stop's mid-epoch one, furthest along first
        (one too damaged to say how far it got first of all: it is tried, and reported)."""
        epochs, interrupted = self.sources
        paths = list(epochs.checkpoints)
        if interrupted.latest_checkpoint:
            paths.append(interrupted.latest_checkpoint)
        return sorted(paths, key=lambda path: saved_value(path, "global_step", float("inf")), reverse=True)

    def restore(self, log, before_epoch: int | None = None) -> str | None:
        """Load the furthest kept checkpoint that restores (with `before_epoch`, the furthest
        that had finished fewer epochs); its path, or None for a run that has none yet. A
        damaged one is skipped and named; a RunError when every one is damaged."""
        damaged = []
        for path in self.kept_checkpoints():
            if before_epoch is not None and saved_value(path, "epoch", before_epoch) >= before_epoch:
                continue
            try:
                self.checkpoint.restore(path).assert_consumed()
            except (tf.errors.OpError, AssertionError, ValueError) as error:
                damaged.append(f"{path} ({first_line(error)})")
                continue
            for note in damaged:
                log(f"skipped damaged checkpoint {note}")
            return path
        if damaged:
            raise RunError(f"cannot resume: {'; '.join(damaged)} {'is' if len(damaged) == 1 else 'are'} damaged "
                           f"and no other kept checkpoint restores; start the run again with --overwrite, or "
                           f"put back a copy of {self.sources[0].directory}")
        return None

    def end_epoch(self, epoch: int) -> None:
        """Count the epoch as finished and save it: the last step of an epoch's outputs."""
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(0)
        self.sums.assign(tf.zeros_like(self.sums))
        self.epoch_seconds.assign(0.0)
        self.epoch_checkpoints.save(checkpoint_number=epoch)

    def saved_epochs(self) -> int:
        """Epochs finished as the newest complete epoch checkpoint holds them (a save that
        failed half-way is not one)."""
        latest = self.epoch_checkpoints.latest_checkpoint
        return saved_value(latest, "epoch", 0) if latest else 0

    def save_interrupted(self) -> None:
        self.interrupted_checkpoints.save()

    def forget_interrupted(self) -> None:
        """Once the run has finished, the mid-epoch checkpoint lies behind it."""
        shutil.rmtree(self.interrupted_dir, ignore_errors=True)

    def means(self) -> dict:
        """The epoch's mean losses and D outputs so far."""
        sums = self.sums.numpy()
        d_count, g_count = max(sums[D_COUNT], 1), max(sums[G_COUNT], 1)
        return dict(d_loss=sums[D_LOSS] / d_count, g_loss=sums[G_LOSS] / g_count,
                    d_real=sums[D_REAL] / d_count, d_fake=sums[D_FAKE] / d_count)

    def update_average(self) -> None:
        """sampler = decay * sampler + (1 - decay) * generator, batch-norm statistics included.
        GAN weights orbit a good solution rather than settle on it; their average sits nearer
        the middle (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN training").
        The decay ramps up as in tf.train.ExponentialMovingAverage with num_updates, so that the
        first epochs are not dragged back towards the random initial weights. Runs in the graph."""
        step = tf.cast(self.global_step, tf.float32)
        decay = tf.minimum(self.config.average_decay, (1.0 + step) / (10.0 + step))
        for average, current in zip(self.sampler.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * tf.cast(current, average.dtype))
