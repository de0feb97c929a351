"""What each epoch leaves behind: a history record, the fixed-noise grid, TensorBoard scalars,
the checkpoint and the status, and on the terminal a progress bar or one line per epoch.

The order is what makes a crash harmless: samples and history first, the checkpoint last, so a
process that dies in between leaves a history one epoch ahead of the checkpoint, which the
resumed run trims and then redoes identically.
"""

from __future__ import annotations

import contextlib
import sys
import time

import tensorflow as tf

from trainer.config import TrainConfig
from trainer.images import grid, save_png
from trainer.rundir import RunDirectory, save_model
from trainer.sampling import generate, grid_inputs
from trainer.state import TrainingState

SCALARS = ("d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second")
SCORES = ("label_accuracy", "frechet_distance", "diversity")


class EpochRecorder:
    def __init__(self, config: TrainConfig, run: RunDirectory, state: TrainingState, iterations_per_epoch: int,
                 evaluator=None, log=print, source: RunDirectory | None = None):
        """Writes into `run`; takes the history up from `source` (default: `run`), as the state
        restores from it."""
        self.config, self.run, self.state, self.evaluator, self.log = config, run, state, evaluator, log
        self.source = source or run
        self.iterations_per_epoch = iterations_per_epoch
        self.progress = Progress(iterations_per_epoch, log)
        self.history: list[dict] = []
        self.writer = None

    def missing_epochs(self) -> list[int]:
        """Finished epochs, as the restored checkpoint counts them, without a history record."""
        recorded = {record.get("epoch") for record in self.source.history()}
        return [epoch for epoch in range(1, int(self.state.epoch) + 1) if epoch not in recorded]

    def open(self) -> None:
        """Take up the history where the restored checkpoint stands."""
        done = int(self.state.epoch)
        # Drops epochs written after the checkpoint a crash left; keeps one record per epoch.
        self.history = [record for record in self.source.history() if record.get("epoch", done + 1) <= done]
        lost = self.missing_epochs()
        if lost:
            self.log(f"history.jsonl has no record of epochs {', '.join(map(str, lost))} and no earlier checkpoint "
                     f"is kept to train them again: they are marked lost")
            self.history += [dict(epoch=epoch, **dict.fromkeys(SCALARS), lost=True) for epoch in lost]
            self.history.sort(key=lambda record: record["epoch"])
        self.run.write_history(self.history)
        if done < self.config.epochs:
            # A finished run trained on: its old generator.keras would pass for the newest (sample,
            # eval and export prefer it); until the new one is saved they read the checkpoints.
            self.run.generator_path.unlink(missing_ok=True)
        self.writer = tf.summary.create_file_writer(str(self.run.tensorboard_dir))

    def close(self) -> None:
        if self.writer is not None:
            # TensorBoard's last events are the least of what a full disk costs: the error that
            # stopped the run, not this one, is what the user must read.
            with contextlib.suppress(tf.errors.OpError, OSError):
                self.writer.close()

    def start_epoch(self, epoch: int) -> None:
        self.run.write_status("running", epoch - 1, self.config.epochs)
        self.progress.start(epoch, self.config.epochs, int(self.state.step_in_epoch))

    def end_epoch(self, epoch: int) -> dict:
        """The epoch's record, written out with its samples; then the checkpoint that counts it."""
        seconds = float(self.state.epoch_seconds)
        images = self.iterations_per_epoch * self.config.batch_size * self.config.d_steps
        record = dict(epoch=epoch, **self.state.means(), seconds=round(seconds, 4),
                      images_per_second=round(images / max(seconds, 1e-9), 1))
        self.progress.finish(record)
        if self.evaluator is not None and epoch % self.config.eval_every == 0:
            record.update(self._scores())
            self.log("         " + "  ".join(f"{key} {record[key]}" for key in SCORES if key in record))
        latent, labels, rows = grid_inputs(self.config)
        picture = grid(generate(self.state.sampler, self.config, latent, labels), rows, 10)
        save_png(self.run.sample_path(epoch), picture)
        self.history.append(record)
        self.run.write_history(self.history)
        with self.writer.as_default(step=epoch):
            for name in SCALARS:
                tf.summary.scalar(name, record[name])
            tf.summary.image("samples", picture[None])
        self.state.end_epoch(epoch)
        self.run.write_status("running", epoch, self.config.epochs)
        return record

    def _scores(self) -> dict:
        metrics = self.evaluator(self.state.sampler)
        scores = dict(frechet_distance=round(metrics["frechet_distance"], 4),
                      diversity=round(metrics["diversity_mean"], 4))
        if "label_accuracy" in metrics:
            scores["label_accuracy"] = round(metrics["label_accuracy"], 4)
        return scores

    def finish(self) -> None:
        save_model(self.state.sampler, self.run.generator_path)
        self.state.forget_interrupted()
        self.run.write_status("finished", int(self.state.epoch), self.config.epochs)


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
