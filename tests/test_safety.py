"""Nothing a run saved is lost, and the user reads one line instead of a traceback: two
trainings started together, a damaged checkpoint, a full disk, a history line cut short."""

import errno
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import train
from trainer.rundir import RunDirectory, RunError

SMALL = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50", "--model", "cgan")


def files_of(path):
    """Every file's bytes under `path`, to show that a refused command changed nothing."""
    return {str(file.relative_to(path)): file.read_bytes() for file in sorted(path.rglob("*")) if file.is_file()
            and file.name != ".lock"}


def losses(run):
    return [(record["epoch"], record["d_loss"], record["g_loss"]) for record in run.history()]


def assert_same_losses(first, second):
    assert [epoch for epoch, *_ in first] == [epoch for epoch, *_ in second]
    np.testing.assert_allclose([values for _, *values in first], [values for _, *values in second], rtol=1e-4)


def test_a_training_that_prepared_while_another_made_the_run_is_refused(runs_dir):
    """Two terminals start one new run name together: both find the name free, the first locks,
    trains and finishes; the second, locking after it, found the run replaced by a 1-epoch one."""
    from trainer.launch import prepare, run

    late = prepare(dict(dataset="mnist", limit_per_class=30, batch_size=50, model="cgan", epochs=1,
                        runs_dir=str(runs_dir), run_name="run"))
    path = train(runs_dir, *SMALL, "--epochs", "2")
    before = files_of(path)
    with pytest.raises(RunError, match="started by another training while this one was preparing"):
        run(late, log=lambda *_: None)
    assert files_of(path) == before and RunDirectory(path).status()["state"] == "finished"


def test_two_trainings_started_at_once_into_one_new_name_leave_one_whole_run(runs_dir):
    command = [sys.executable, "-m", "trainer", "train", "--runs-dir", str(runs_dir), "--run-name", "run", *SMALL,
               "--epochs", "2"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(stderr for code, stderr in results if code == 2)
    assert "Traceback" not in refused and "run" in refused.splitlines()[-1], refused
    run = RunDirectory(runs_dir / "run")
    assert run.status()["state"] == "finished" and [record["epoch"] for record in run.history()] == [1, 2]


def damage(path):
    """Flip a byte in every 64 of a file, as a bad disk would: every tensor in it fails its
    checksum (TensorFlow checks only the tensors it reads)."""
    content = bytearray(path.read_bytes())
    for index in range(0, len(content), 64):
        content[index] ^= 0xFF
    path.write_bytes(bytes(content))


def test_resume_skips_a_damaged_newest_checkpoint_and_continues_exactly(runs_dir, capsys):
    straight = train(runs_dir, *SMALL, "--epochs", "3", run_name="straight")
    path = train(runs_dir, *SMALL, "--epochs", "2")
    damage(path / "checkpoints" / "ckpt-2.data-00000-of-00001")
    capsys.readouterr()
    train(runs_dir, "--resume", "--epochs", "3")
    output = capsys.readouterr()
    assert "ckpt-2" in output.out and "damaged" in output.out and "ckpt-1" in output.out, output
    assert_same_losses(losses(RunDirectory(path)), losses(RunDirectory(straight)))
    assert RunDirectory(path).status()["state"] == "finished"


def test_a_run_whose_every_checkpoint_is_damaged_is_refused_in_one_line(runs_dir, capsys):
    path = train(runs_dir, *SMALL, "--epochs", "1", "--keep-checkpoints", "1")
    damage(path / "checkpoints" / "ckpt-1.data-00000-of-00001")
    before = files_of(path)
    capsys.readouterr()
    train(runs_dir, "--resume", "--epochs", "2", expect=2)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "ckpt-1" in error and "--overwrite" in error, error
    assert RunDirectory(path).status()["state"] == "finished"
    after = files_of(path)
    assert {name: content for name, content in after.items() if name != "config.json"} == \
        {name: content for name, content in before.items() if name != "config.json"}


def test_readers_skip_a_damaged_checkpoint_or_name_it(runs_dir, capsys):
    from trainer.__main__ import main

    path = train(runs_dir, *SMALL, "--epochs", "2")
    (path / "generator.keras").unlink()  # as a run still training or stopped has none
    damage(path / "checkpoints" / "ckpt-2.data-00000-of-00001")
    capsys.readouterr()
    assert main(["sample", "--run", str(path), "--label", "3", "--out", str(runs_dir / "newest.png")]) == 0
    assert "ckpt-2" in capsys.readouterr().err and (runs_dir / "newest.png").exists()
    assert main(["sample", "--run", str(path), "--label", "3", "--epoch", "2", "--out", str(runs_dir / "two.png")]) == 2
    error = capsys.readouterr().err
    assert "ckpt-2" in error and "--epoch" in error and "Traceback" not in error


def no_space(manager, *_, **__):
    """What TensorFlow 2.19 raised when a checkpoint filled a 3 MB tmpfs."""
    import tensorflow as tf

    raise tf.errors.ResourceExhaustedError(
        None, None, f"{{{{function_node __wrapped__SaveV2_dtypes_35_device_/job:localhost/replica:0/task:0/device:"
                    f"CPU:0}}}} {manager.directory}/ckpt-2_temp/part-00000-of-00001.data-00000-of-00001.tempstate1; "
                    f"No space left on device [Op:SaveV2]")


@pytest.mark.parametrize("where", ["checkpoint", "history"])
def test_a_full_disk_stops_the_run_in_one_line_and_resume_continues(runs_dir, capsys, monkeypatch, where):
    import tensorflow as tf

    from trainer import rundir

    straight = train(runs_dir, *SMALL, "--epochs", "3", run_name="straight")
    path = train(runs_dir, *SMALL, "--epochs", "1")
    with monkeypatch.context() as patch:
        if where == "checkpoint":
            patch.setattr(tf.train.CheckpointManager, "save", no_space)
        else:
            real_write = rundir.atomic_write

            def full_for_history(file, data):
                if file.name == "history.jsonl":
                    raise OSError(errno.ENOSPC, "No space left on device", str(file))
                real_write(file, data)

            patch.setattr(rundir, "atomic_write", full_for_history)
        capsys.readouterr()
        train(runs_dir, "--resume", "--epochs", "3", expect=1)
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: no space left on "), error
    saving = "checkpoints/ckpt-2;" if where == "checkpoint" else "history.jsonl;"
    assert "--resume" in error[0] and f"{path}/{saving}" in error[0], error
    run = RunDirectory(path)
    assert run.status()["state"] == "failed" and run.status()["epoch"] == 1
    assert (path / "checkpoints" / "ckpt-1.index").exists()
    for file in path.rglob("*.json*"):  # every file a reader parses
        for line in file.read_text().splitlines() if file.suffix == ".jsonl" else [file.read_text()]:
            json.loads(line)
    train(runs_dir, "--resume", "--epochs", "3")  # space is back
    assert_same_losses(losses(run), losses(RunDirectory(straight)))


def test_a_history_line_cut_short_is_trained_again_on_resume(runs_dir, capsys):
    straight = train(runs_dir, *SMALL, "--epochs", "3", run_name="straight")
    path = train(runs_dir, *SMALL, "--epochs", "2")
    history = (path / "history.jsonl").read_text()
    (path / "history.jsonl").write_text(history[:len(history) - len(history.splitlines()[-1]) // 2 - 1])
    capsys.readouterr()
    train(runs_dir, "--resume", "--epochs", "3")
    assert "epoch 2" in capsys.readouterr().out
    run = RunDirectory(path)
    assert [record["epoch"] for record in run.history()] == [1, 2, 3]
    assert_same_losses(losses(run), losses(RunDirectory(straight)))
    shutil.rmtree(path)


@pytest.mark.slow
def test_a_really_full_disk_then_room_again(tmp_path):
    """The same on a real 3 MB file system, where the machine lets this test mount one (root)."""
    from conftest import require, run_cli

    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], capture_output=True)
    require(mounted.returncode == 0, "cannot mount a small tmpfs here (needs root)")
    try:
        result = run_cli("train", *SMALL, "--epochs", "4", "--runs-dir", small, "--run-name", "full")
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert last.startswith(f"error: no space left on {small} while saving {small}/full/checkpoints/ckpt-"), last
        run = RunDirectory(small / "full")
        assert run.status()["state"] == "failed" and json.loads(run.config_path.read_text())["epochs"] == 4
        done = run.status()["epoch"]
        assert done >= 1 and len(run.history()) >= done
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        result = run_cli("train", "--resume", "--runs-dir", small, "--run-name", "full")
        assert result.returncode == 0, result.stderr
        assert run.status()["state"] == "finished" and [record["epoch"] for record in run.history()] == [1, 2, 3, 4]
    finally:
        subprocess.run(["umount", str(small)])


def test_a_classifier_folder_takes_one_writer_and_a_damaged_one_says_how_to_redo_it(tmp_path, classifiers, capsys):
    from trainer.__main__ import main
    from trainer.classifier import Classifier
    from trainer.rundir import take_lock

    folder = tmp_path / "classifiers" / "mnist-lenet"
    holder = take_lock(folder)  # another `classifier train` at work on it
    try:
        assert main(["classifier", "train", "--limit-per-class", "10", "--epochs", "1",
                     "--classifiers-dir", str(tmp_path / "classifiers")]) == 2
        assert "another `classifier train` is writing" in capsys.readouterr().err
    finally:
        holder.close()
    assert not (folder / "classifier.keras").exists()
    shutil.copytree(classifiers / "mnist-lenet", folder, dirs_exist_ok=True)
    damage(folder / "classifier.keras")
    with pytest.raises(RunError, match=r"cannot load the classifier in .*classifier train --overwrite"):
        Classifier(folder)


def test_the_app_does_not_delete_a_run_whose_lock_is_held(tmp_path):
    from streamlit_app import runs as run_files

    (tmp_path / "young").mkdir()
    holder = RunDirectory(tmp_path / "young")
    holder.lock()  # a training started from a terminal, before it has written any status
    try:
        with pytest.raises(RunError, match="being trained"):
            run_files.delete_run(tmp_path, "young")
        assert (tmp_path / "young").is_dir()
    finally:
        holder.unlock()
    run_files.delete_run(tmp_path, "young")
    assert not (tmp_path / "young").exists()
