"""What each epoch leaves behind: a history record, the fixed-noise grid, TensorBoard scalars,
the checkpoint and the status, and on the terminal a progress bar or one line per epoch; and,
every hundred iterations or so within it, a step record for the live curves.

The order is what makes a crash harmless: samples and history first, the checkpoint last, so a
process that dies in between leaves a history one epoch ahead of the checkpoint, which the
resumed run trims and then redoes identically. Step records are trimmed the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time

import tensorflow as tf

from trainer.config import TrainConfig
from trainer.images import save_png
from trainer.rundir import RunDirectory, save_model
from trainer.sampling import epoch_grid
from trainer.state import TrainingState

MEANS = ("d_loss", "g_loss", "d_real", "d_fake")  # TrainingState.means()
SCALARS = (*MEANS, "seconds", "images_per_second")
SCORES = ("label_accuracy", "frechet_distance", "diversity")
COLOUR_SCORES = ("psnr", "ssim", "colourfulness", "frechet_distance")  # a colorizer's (trainer/metrics.py)


class EpochRecorder:
    def __init__(self, config: TrainConfig, run: RunDirectory, state: TrainingState, iterations_per_epoch: int,
                 evaluator=None, log=print, source: RunDirectory | None = None, dataset=None):
        """Writes into `run`; takes the history up from `source` (default: `run`), as the state
        restores from it. `dataset`: the training set, whose images a colorize run's grid shows."""
        self.config, self.run, self.state, self.evaluator, self.log = config, run, state, evaluator, log
        self.dataset = dataset
        self.source = source or run
        self.iterations_per_epoch = iterations_per_epoch
        self.progress = Progress(iterations_per_epoch, log)
        self.steps = StepLog(config, run, state, iterations_per_epoch, self.source)
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
        self.steps.open(self.writer)

    def close(self) -> None:
        if self.writer is not None:
            # TensorBoard's last events are the least of what a full disk costs: the error that
            # stopped the run, not this one, is what the user must read.
            with contextlib.suppress(tf.errors.OpError, OSError):
                self.writer.close()

    def start_epoch(self, epoch: int) -> None:
        self.run.write_status("running", epoch - 1, self.config.epochs)
        self.progress.start(epoch, self.config.epochs, int(self.state.step_in_epoch))

    def update(self, done: int) -> None:
        """After each graph call: `done` iterations of the epoch have trained."""
        means = self.state.means()
        self.progress.update(done, means)
        self.steps.update(done, means)

    def end_epoch(self, epoch: int) -> dict:
        """The epoch's record, written out with its samples; then the checkpoint that counts it."""
        seconds = float(self.state.epoch_seconds)
        record = dict(epoch=epoch, **self.state.means(), seconds=round(seconds, 4),
                      images_per_second=images_per_second(self.config, self.iterations_per_epoch, seconds))
        self.progress.finish(record)
        if self.evaluator is not None and epoch % self.config.eval_every == 0:
            record.update(self._scores())
            self.log("         " + "  ".join(f"{key} {record[key]}" for key in dict.fromkeys(SCORES + COLOUR_SCORES)
                                               if key in record))
        picture = epoch_grid(self.state.sampler, self.config, self.dataset)
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
        if "psnr" in metrics:  # a colorizer's fidelity and colour
            return {key: round(metrics[key], 4) for key in COLOUR_SCORES if key in metrics}
        scores = dict(frechet_distance=round(metrics["frechet_distance"], 4),
                      diversity=round(metrics["diversity_mean"], 4))
        if "label_accuracy" in metrics:
            scores["label_accuracy"] = round(metrics["label_accuracy"], 4)
        return scores

    def finish(self) -> None:
        save_model(self.state.sampler, self.run.generator_path)
        self.state.forget_interrupted()
        self.run.write_status("finished", int(self.state.epoch), self.config.epochs)


def images_per_second(config: TrainConfig, iterations: int, seconds: float) -> float:
    """Real images the discriminator read per second of training."""
    return round(iterations * config.batch_size * config.d_steps / max(seconds, 1e-9), 1)


class StepLog:
    """steps.jsonl and TensorBoard's `steps/` scalars: the mean losses and D outputs over the
    iterations since the previous record, so that the curves move while an epoch trains.

    A record is written after the graph call that brings the iterations since the previous one to
    `every` or more, and after an epoch's last call. Those places depend on the iteration alone,
    never on the clock, so a run stopped and resumed writes exactly the records of a run that went
    straight through. 100 iterations is a point every 5 to 10 s of the main job (cdcgan, 468
    iterations an epoch on MNIST: five points an epoch), each a mean over 12,800 images, smooth
    enough to read; slower families and bigger images get fewer points per minute.
    """

    every = 100

    def __init__(self, config: TrainConfig, run: RunDirectory, state: TrainingState, iterations_per_epoch: int,
                 source: RunDirectory):
        self.config, self.run, self.state, self.source = config, run, state, source
        self.iterations_per_epoch = iterations_per_epoch
        self.writer = None
        self.mark = Mark()

    def open(self, writer) -> None:
        """Keep the records up to the position the state was restored to (a crash or a stop may
        have left some past it, and a `kill -9` a last line cut short) and go on from the last."""
        self.writer = writer
        position = int(self.state.global_step)
        kept = [record for record in self.source.step_records()
                if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= position]
        self.run.write_step_records(kept)
        epoch_start = position - int(self.state.step_in_epoch)
        self.mark = Mark.after([record for record in kept if record["step"] > epoch_start], epoch_start)

    def update(self, done: int, means: dict) -> None:
        """After a graph call, `done` iterations into the epoch, with the epoch's running `means`."""
        iterations = done - self.mark.iterations
        epoch_over = done == self.iterations_per_epoch
        if iterations < self.every and not epoch_over:
            return
        seconds = float(self.state.epoch_seconds) - self.mark.seconds
        record = dict(step=int(self.state.global_step), epoch=int(self.state.epoch) + 1,
                      **self.mark.means_since(done, means), seconds=round(seconds, 4),
                      images_per_second=images_per_second(self.config, iterations, seconds))
        self.run.append_step_record(record)
        with self.writer.as_default(step=record["step"]):
            for name in SCALARS:
                tf.summary.scalar(f"steps/{name}", record[name])
        self.writer.flush()  # TensorBoard, like the app, shows it now rather than in two minutes
        self.mark = Mark() if epoch_over else Mark(done, {key: means[key] * done for key in MEANS},
                                                   float(self.state.epoch_seconds))


@dataclasses.dataclass
class Mark:
    """Where the previous step record left the epoch: its iterations, the running means times
    the iterations (the sums the next record's means are taken from), and its seconds."""
    iterations: int = 0
    totals: dict = dataclasses.field(default_factory=lambda: dict.fromkeys(MEANS, 0.0))
    seconds: float = 0.0

    def means_since(self, done: int, means: dict) -> dict:
        """The means over the iterations from this mark to `done`, from the epoch's running means."""
        return {key: (means[key] * done - self.totals[key]) / (done - self.iterations) for key in MEANS}

    @classmethod
    def after(cls, records: list[dict], epoch_start: int) -> "Mark":
        """The mark of the last of an epoch's step records, rebuilt from them (a resumed run)."""
        mark = cls()
        for record in sorted(records, key=lambda record: record["step"]):
            iterations = record["step"] - epoch_start - mark.iterations
            mark.iterations += iterations
            mark.seconds += record["seconds"]
            for key in MEANS:
                mark.totals[key] += record[key] * iterations
        return mark


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
