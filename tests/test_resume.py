"""Resuming: exactly where a run stopped, after a stop, Ctrl-C or kill -9, from runs that older
versions wrote, and the step records across a resume."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, SMALL, assert_same_generator, assert_same_history, train, wait_for
from trainer.rundir import RunDirectory

pytestmark = pytest.mark.slow  # straight runs beside interrupted ones, processes killed and restarted


def test_resume_continues_exactly(runs_dir):
    straight = train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "3", run_name="straight")
    train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "1", run_name="resumed")
    resumed = train(runs_dir, "--epochs", "3", "--resume", run_name="resumed")
    assert_same_history(RunDirectory(straight).history(), RunDirectory(resumed).history())
    assert_same_generator(straight, resumed)
    assert RunDirectory(resumed).status()["state"] == "finished"


def test_a_run_from_before_the_class_loss_resumes_without_it(runs_dir):
    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--class-loss-weight", "0", "--epochs", "1")
    config = json.loads((path / "config.json").read_text())
    del config["class_loss_weight"], config["lr_decay_epochs"]  # as an older version wrote it
    (path / "config.json").write_text(json.dumps(config))
    train(runs_dir, "--resume", "--epochs", "2")  # a class head now would not match the checkpoint
    assert json.loads((path / "config.json").read_text())["class_loss_weight"] == 0
    assert len(RunDirectory(path).history()) == 2


def train_as_an_earlier_version(runs_dir, model, layouts, written_as):
    """A one-epoch run of `model` whose networks have `layouts` (e.g. generator_layout=1), as a
    version before a layout change trained it, and whose config.json `written_as` edits into what
    that version wrote. Returns the run and the config a new run gets."""
    from trainer import data
    from trainer.config import TrainConfig
    from trainer.models import get_family
    from trainer.rundir import atomic_write
    from trainer.launch import validate_for
    from trainer.train import GANTrainer

    dataset = data.load("mnist", limit_per_class=30)
    config = TrainConfig(model=model, runs_dir=str(runs_dir), run_name="run", epochs=1, limit_per_class=30,
                         batch_size=50, average_decay=0.9)
    new = validate_for(config.resolve(get_family(model).DEFAULTS), dataset, replicas=1)
    config = dataclasses.replace(new, **layouts)
    run = RunDirectory(config.run_dir)
    run.path.mkdir(parents=True)
    written = json.loads(config.to_json())
    written_as(written)
    atomic_write(run.config_path, json.dumps(written))
    GANTrainer(config, dataset, run, log=lambda *_: None).fit()
    return run, new


def assert_samples_as_its_checkpoint_and_resumes(runs_dir, run):
    """The run's final generator draws what its epoch-1 checkpoint does, and it resumes: every
    checkpointed weight must find its layer. Returns the final generator and its config."""
    from trainer.sampling import generate, grid_inputs, load_generator

    final, config = load_generator(run.path)
    from_checkpoint, _ = load_generator(run.path, epoch=1)
    latent, labels, _ = grid_inputs(config)
    np.testing.assert_allclose(generate(final, config, latent, labels),
                               generate(from_checkpoint, config, latent, labels), atol=1e-6)
    train(runs_dir, "--resume", "--epochs", "2")  # restores the averaged generator too
    assert len(run.history()) == 2
    return final, config


def test_a_run_from_before_the_one_layer_upsampling_samples_and_resumes_with_its_layout(runs_dir):
    """cdcgan's last upsampling and convolution became one layer after runs had been written;
    their checkpoints name the convolution by its position, so they keep the two layers."""
    from trainer.config import TrainConfig

    def as_written_before_layouts(written):
        del written["generator_layout"]

    run, _ = train_as_an_earlier_version(runs_dir, "cdcgan", dict(generator_layout=1), as_written_before_layouts)
    _, config = assert_samples_as_its_checkpoint_and_resumes(runs_dir, run)
    assert config.generator_layout == 1 and TrainConfig.load(run.path).generator_layout == 1


def test_an_mlp_cgan_run_from_before_its_split_first_layers_samples_and_resumes_with_them(runs_dir):
    """cgan's first layers became one Dense per input (layout 2) after runs had been written with
    the label concatenated to a single Dense (layout 1), which their checkpoints hold; those runs
    recorded no layouts (null, or nothing), and read as layout 1."""
    from trainer.config import TrainConfig

    def as_written_before_cgan_had_layouts(written):
        written["generator_layout"] = None
        del written["discriminator_layout"]

    run, new = train_as_an_earlier_version(runs_dir, "cgan", dict(generator_layout=1, discriminator_layout=1),
                                           as_written_before_cgan_had_layouts)
    assert new.generator_layout == new.discriminator_layout == 2  # a new run's
    final, config = assert_samples_as_its_checkpoint_and_resumes(runs_dir, run)
    assert config.generator_layout == config.discriminator_layout == 1
    assert any(layer.__class__.__name__ == "Concatenate" for layer in final.layers)
    assert TrainConfig.load(run.path).discriminator_layout == 1


def start_training(runs_dir, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "trainer", "train", "--runs-dir", str(runs_dir), "--run-name", "run", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# A few hundred iterations per epoch, one per graph call, so that signals land mid-epoch.
SLOW = ("--dataset", "mnist", "--limit-per-class", "100", "--batch-size", "10", "--model", "cgan",
        "--steps-per-call", "1", "--epochs", "3", "--average-decay", "0.9", "--lr-decay-epochs", "2")


def test_sigterm_mid_epoch_saves_and_resume_matches_an_uninterrupted_run(runs_dir):
    straight = train(runs_dir, *SLOW, run_name="straight")
    process = start_training(runs_dir, *SLOW)
    run = RunDirectory(runs_dir / "run")
    wait_for(lambda: run.status().get("epoch", 0) >= 1)  # epoch 2 is under way
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert run.status()["state"] == "stopped" and "--resume" in stderr
    assert (run.checkpoints_dir / "interrupted" / "checkpoint").exists()
    train(runs_dir, "--resume", run_name="run")
    assert_same_history(RunDirectory(straight).history(), run.history())
    assert_same_generator(straight, run.path)
    # --lr-decay-epochs 2 of 3: the rate is still 1e-3 after epoch 1, half after 2, zero at the end.
    import tensorflow as tf

    rates = [tf.train.load_variable(str(run.checkpoints_dir / f"ckpt-{epoch}"),
                                    "g_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE") for epoch in (1, 2, 3)]
    np.testing.assert_allclose(rates, [1e-3, 5e-4, 0.0], atol=1e-9)


def test_ctrl_c_while_the_models_are_built_stops_the_run_rather_than_failing_it(runs_dir):
    # Ctrl-C between "training ..." and the first step printed a traceback and marked the run
    # failed, with the error "KeyboardInterrupt: ".
    # Epochs enough that a signal late on a busy machine, landing in the training itself, still
    # stops it rather than arriving after the end (either way the run must end up stopped).
    process = start_training(runs_dir, *SMALL, "--model", "cgan", "--epochs", "500")
    assert process.stdout.readline().startswith("training cgan")  # config.json is written; the models are not built
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr and "--resume" in stderr, stderr
    run = RunDirectory(runs_dir / "run")
    assert run.status()["state"] == "stopped" and "error" not in run.status()
    done = run.status()["epoch"]
    train(runs_dir, "--resume", "--epochs", str(done + 1), run_name="run")
    assert run.status()["state"] == "finished" and len(run.history()) == done + 1


def test_kill_9_loses_at_most_the_epoch_in_progress(runs_dir):
    import tensorflow as tf

    # Enough epochs (0.5-0.8 s each on a 2-core machine, where a kill lands at most three past the
    # one waited for: here after epochs 3 and 4) that both kills land before the training ends on
    # a machine twice as fast.
    long = (*SLOW, "--epochs", "16")
    straight = train(runs_dir, *long, run_name="straight")
    run = RunDirectory(runs_dir / "run")
    rng = np.random.default_rng(0)
    straight_history = RunDirectory(straight).history()
    epochs_done = 0
    for attempt in range(2):  # kill at a random moment of a fresh run, then of a resumed one
        process = start_training(runs_dir, *long, *(["--resume"] if attempt else []))
        # Kill once this process has put an epoch on disk, so that every kill has something to lose
        # (the status the last kill left says "running" too, with the last process's pid).
        wait_for(lambda: (status := run.status()).get("pid") == process.pid and status.get("state") == "running"
                 and status.get("epoch", 0) > epochs_done)
        time.sleep(rng.uniform(0.3, 1.5))  # a few epochs in: anywhere in an epoch
        assert process.poll() is None, process.communicate()
        process.kill()
        process.wait()
        # An epoch's record is written, then its checkpoint, then the status that counts it: a
        # kill between any two leaves the record of the epoch in progress at most one ahead.
        epochs_done = run.status()["epoch"]
        history = run.history()
        assert epochs_done >= 1 and epochs_done <= len(history) <= epochs_done + 1, (epochs_done, len(history))
        checkpoint = tf.train.latest_checkpoint(run.checkpoints_dir)
        assert int(tf.train.load_variable(checkpoint, "epoch/.ATTRIBUTES/VARIABLE_VALUE")) in (epochs_done, epochs_done + 1)
        # Nothing written half or out of order: what was kept is what the straight run recorded.
        assert_same_history(straight_history[:len(history)], history)
    train(runs_dir, "--resume", run_name="run")
    assert run.status()["state"] == "finished"
    assert_same_history(RunDirectory(straight).history(), run.history())
    assert_same_generator(straight, run.path)


# Step records: 100 iterations an epoch in calls of 7, a record once 30 have passed since the last.
STEPPED = ("--dataset", "mnist", "--limit-per-class", "100", "--batch-size", "10", "--model", "cgan",
           "--steps-per-call", "7", "--epochs", "2")


STEP_KEYS = {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"}


@pytest.fixture
def record_every_30(monkeypatch):
    from trainer.recorder import StepLog

    monkeypatch.setattr(StepLog, "every", 30)


def tensorboard_steps(path, tag):
    import tensorflow as tf

    return sorted(event.step for file in (path / "tb").glob("events.*")
                  for event in tf.compat.v1.train.summary_iterator(str(file))
                  for value in event.summary.value if value.tag == tag)


def test_step_records_come_every_few_calls_and_at_each_epochs_end(runs_dir, record_every_30):
    path = train(runs_dir, *STEPPED)
    records = RunDirectory(path).step_records()
    # After the call that reaches 30 iterations since the last record (35, 70), and the epoch's last (100).
    assert [(record["epoch"], record["step"]) for record in records] == [
        (1, 35), (1, 70), (1, 100), (2, 135), (2, 170), (2, 200)]
    assert all(set(record) == STEP_KEYS and record["seconds"] > 0 and record["images_per_second"] > 0
               for record in records)
    # Each record holds the means of its own iterations: weighted by them, an epoch's records
    # give the epoch's means, which history.jsonl takes from the running sums.
    for epoch in RunDirectory(path).history():
        ends = [0 if epoch["epoch"] == 1 else 100] + [record["step"] for record in records
                                                      if record["epoch"] == epoch["epoch"]]
        ours = [record for record in records if record["epoch"] == epoch["epoch"]]
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            weighted = sum(record[key] * (end - start) for record, start, end in zip(ours, ends, ends[1:])) / 100
            assert weighted == pytest.approx(epoch[key], rel=1e-9), key
    assert len({record["d_loss"] for record in records}) == 6  # not one epoch mean repeated
    assert tensorboard_steps(path, "steps/d_loss") == [35, 70, 100, 135, 170, 200]
    assert tensorboard_steps(path, "d_loss") == [1, 2]  # the epoch scalars stay by epoch


def stop_after(monkeypatch, stops):
    """SIGTERM to this process, as the app's Stop sends it, once training reaches each global
    iteration in `stops` (the signal handler of the training loop saves and stops)."""
    from trainer.recorder import EpochRecorder

    update = EpochRecorder.update

    def update_then_stop(self, done):
        update(self, done)
        if int(self.state.global_step) in stops:
            stops.remove(int(self.state.global_step))
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(EpochRecorder, "update", update_then_stop)


def test_step_records_resume_without_repeats_or_gaps(runs_dir, record_every_30, monkeypatch):
    straight = RunDirectory(train(runs_dir, *STEPPED, run_name="straight")).step_records()
    run = RunDirectory(runs_dir / "run")
    # Stopped between two records (49: after the one at 35), then exactly at one (170).
    stop_after(monkeypatch, [49, 170])
    train(runs_dir, *STEPPED, expect=130)
    assert [record["step"] for record in run.step_records()] == [35]
    # What a process killed after writing a record but before its checkpoint leaves behind: a
    # record past the saved position, then a line cut short by the kill.
    with open(run.steps_path, "a") as file:
        file.write(json.dumps(dict(straight[1], d_loss=99.0)) + "\n" + '{"step": 105, "epoch": 2, "d_lo')
    assert [record["step"] for record in run.step_records()] == [35, 70]  # the cut line is skipped
    train(runs_dir, "--resume", expect=130)
    assert [record["step"] for record in run.step_records()] == [35, 70, 100, 135, 170]
    train(runs_dir, "--resume")
    lines = run.steps_path.read_text().splitlines()
    resumed = [json.loads(line) for line in lines]  # every line whole: the cut one is gone
    assert [record["step"] for record in resumed] == [35, 70, 100, 135, 170, 200]
    for ours, theirs in zip(resumed, straight, strict=True):
        assert ours["epoch"] == theirs["epoch"]
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-6), (ours["step"], key)
    assert tensorboard_steps(run.path, "steps/d_loss")[-1] == 200


def test_a_step_file_cut_short_anywhere_is_read_up_to_the_cut(tmp_path):
    run = RunDirectory(tmp_path)
    assert run.step_records() == []  # a run from before step records
    records = [dict(step=step, epoch=1, d_loss=0.5) for step in (100, 200)]
    run.write_step_records(records)
    whole = run.steps_path.read_text()
    for cut in range(len(whole) - 1, len(whole.splitlines()[0]), -1):
        run.steps_path.write_text(whole[:cut])
        assert run.step_records() == (records if cut >= len(whole) - 1 else records[:1]), cut
    run.append_step_record(dict(step=300, epoch=2, d_loss=0.4))  # appended after a whole file
    assert [record["step"] for record in run.step_records()] == [100, 300]
