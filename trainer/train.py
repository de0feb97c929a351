"""One training loop for every GAN family.

Three parts, each in its own file: the training state (trainer/state.py: networks, optimizers,
counters, the checkpoint), the compiled steps (trainer/steps.py: one graph call runs many
iterations), and the epoch recorder (trainer/recorder.py: history, samples, TensorBoard,
status). This loop joins them: Python sees a number only between graph calls, for the progress
bar, the stop signal and the NaN check. A custom loop rather than `Model.fit` because it is what
makes exact resume possible: the state says where the run stands to the iteration.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import TYPE_CHECKING

import tensorflow as tf

from trainer.config import TrainConfig
from trainer.recorder import EpochRecorder
from trainer.rundir import RunDirectory, RunError
from trainer.state import TrainingState
from trainer.steps import TrainSteps

if TYPE_CHECKING:
    from trainer.data import ImageDataset


class TrainingStopped(Exception):
    """Ctrl-C or SIGTERM: the run was saved and can be resumed."""


class TrainingFailed(Exception):
    """A non-finite loss: the run is marked failed and its last good checkpoint kept."""


def make_strategy(config: TrainConfig) -> tf.distribute.Strategy:
    """Made before any other TensorFlow operation runs: MultiWorkerMirroredStrategy configures
    the process's collective operations, which can only happen at start-up."""
    if config.strategy == "default":
        return tf.distribute.get_strategy()
    if config.strategy == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()  # every visible GPU, all-reduced with NCCL
        # No GPU: one replica per logical CPU device (the tests split the CPU in two).
        return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
    if config.strategy == "multiworker":
        # The cluster comes from TF_CONFIG. Without a timeout a collective waits for a dead
        # worker forever; with one, the survivors stop with DeadlineExceededError.
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=config.worker_timeout)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ValueError(f"unknown strategy {config.strategy!r}; choose default, mirrored or multiworker")


class GANTrainer:
    def __init__(self, config: TrainConfig, dataset: ImageDataset, run: RunDirectory, log=print, evaluator=None,
                 strategy: tf.distribute.Strategy | None = None, source: RunDirectory | None = None):
        """Trains into `run`, resuming from `source` (default: `run`; a worker other than the
        chief writes a scratch folder and resumes from the chief's run)."""
        self.config, self.run, self.log = config, run, log
        strategy = strategy if strategy is not None else make_strategy(config)
        if config.strategy != "default":
            log(f"{config.strategy} strategy: {strategy.num_replicas_in_sync} replicas")
        self.state = TrainingState(config, run, strategy, source)
        self.steps = TrainSteps(config, self.state, dataset, strategy)
        self.iterations_per_epoch = self.steps.iterations_per_epoch
        self.recorder = EpochRecorder(config, run, self.state, self.iterations_per_epoch, evaluator, log, source,
                                      dataset)

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return int(self.state.epoch)

    def restore(self) -> None:
        """Continue from the furthest checkpoint that restores: an epoch's end, or a stop
        mid-epoch. An epoch whose history record is lost (a line cut short) is trained again
        from an earlier checkpoint, which draws exactly what it drew the first time."""
        latest = self.state.restore(self.log)
        if latest is None:
            return
        missing = self.recorder.missing_epochs()
        if missing:
            earlier = None
            with contextlib.suppress(RunError):
                earlier = self.state.restore(self.log, before_epoch=missing[0])
            if earlier is None:  # none kept from before the gap: the recorder marks the records lost
                self.state.restore(self.log)
            else:
                self.log(f"history.jsonl has no record of epoch {missing[0]} (a line cut short?): training "
                         f"it again from {earlier}")
                latest = earlier
        self.steps.apply_learning_rate()
        self.log(f"resuming from {latest}: epoch {self.epoch + 1}, "
                 f"iteration {int(self.state.step_in_epoch)} of {self.iterations_per_epoch}")

    def fit(self, stop_requested: bool = False) -> None:
        """Train to config.epochs; a stop asked for before (`stop_requested`) or during it saves
        after the next graph call and raises TrainingStopped."""
        self.recorder.open()
        self._stop_requested = stop_requested
        previous_handlers = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while self.epoch < self.config.epochs:
                self._run_epoch(self.epoch + 1)
            self.recorder.finish()
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            self.recorder.close()

    def _request_stop(self, signum, frame):
        self._stop_requested = True

    def _run_epoch(self, epoch: int) -> None:
        state = self.state
        order = self.steps.epoch_order(tf.constant(epoch, tf.int64))
        self.recorder.start_epoch(epoch)
        while int(state.step_in_epoch) < self.iterations_per_epoch:
            began = time.perf_counter()
            start = int(state.step_in_epoch)
            count = min(self.config.steps_per_call, self.iterations_per_epoch - start)
            self.steps.train_steps(order, tf.constant(start, tf.int64), tf.constant(count, tf.int64))
            state.step_in_epoch.assign(start + count)
            state.epoch_seconds.assign_add(time.perf_counter() - began)
            if int(state.first_bad_step) >= 0:
                raise TrainingFailed(
                    f"non-finite loss in epoch {epoch} at step {int(state.first_bad_step) + 1} of "
                    f"{self.iterations_per_epoch}; the last good checkpoint is kept. Try a lower --lr.")
            self.recorder.update(start + count)
            if self.steps.any_worker(self._stop_requested):
                state.save_interrupted()
                raise TrainingStopped(f"stopped in epoch {epoch} and saved; continue with --resume")
        self.recorder.end_epoch(epoch)
