"""Two workers on 127.0.0.1 (MultiWorkerMirroredStrategy, CPU only) train what one worker does,
write one run directory, resume, stop together, and end when the other dies."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, train, wait_for
from trainer.rundir import RunDirectory
from trainer.workers import worker_environments

pytestmark = pytest.mark.slow  # each test starts two or three TensorFlow processes

TINY = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50")


def cli(*args, environment=None, **options):
    environment = {**(environment or os.environ), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "trainer", *map(str, args)], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def launch(runs_dir, name, *train_options, scratch=None):
    environment = {**os.environ, "TMPDIR": str(scratch)} if scratch else None
    return finish(cli("launch", "--workers", "2", "--", "train", "--runs-dir", runs_dir, "--run-name", name,
                      *train_options, environment=environment))


def assert_close_histories(first, second):
    assert [record["epoch"] for record in first] == [record["epoch"] for record in second]
    for one, two in zip(first, second):
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert one[key] == pytest.approx(two[key], rel=2e-3), (key, one, two)


@pytest.mark.parametrize("model", ["cgan", "cdcgan"])
def test_two_workers_train_what_one_does_into_one_run_directory(tmp_path, model):
    runs, scratch = tmp_path / "runs", tmp_path / "scratch"
    scratch.mkdir()
    # Without XLA on one worker too: XLA draws other noise from the same seed (trainer/steps.py).
    # One worker in this process: a fresh Python would spend most of the run importing TensorFlow.
    train(runs, *TINY, "--model", model, "--epochs", "2", "--no-jit-compile", run_name="one")
    code, stdout, stderr = launch(runs, "two", *TINY, "--model", model, "--epochs", "2", scratch=scratch)
    assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert "multiworker strategy: 2 replicas" in stdout and "epoch 2/2" in stdout
    assert sorted(path.name for path in runs.iterdir()) == ["one", "two"]
    assert not list(scratch.iterdir())  # the other worker's checkpoints went with it
    two = RunDirectory(runs / "two")
    assert two.status()["state"] == "finished" and json.loads(two.config_path.read_text())["strategy"] == "multiworker"
    assert_close_histories(RunDirectory(runs / "one").history(), two.history())


def test_two_workers_stop_together_refuse_a_second_training_and_resume(tmp_path):
    runs = tmp_path / "runs"
    long = (*TINY, "--model", "cgan", "--epochs", "400", "--steps-per-call", "1")
    launcher = cli("launch", "--workers", "2", "--", "train", "--runs-dir", runs, "--run-name", "run", *long)
    run = RunDirectory(runs / "run")
    wait_for(lambda: run.status().get("epoch", 0) >= 1, timeout=180, what="the first epoch of two workers")
    # The lock holds with two workers: another training into the run is refused.
    code, _, stderr = finish(cli("train", "--runs-dir", runs, "--run-name", "run", "--resume"))
    assert code == 2 and "being trained" in stderr, stderr[-2000:]
    launcher.send_signal(signal.SIGINT)  # Ctrl-C: the launcher hands it to both workers
    code, stdout, stderr = finish(launcher, timeout=120)
    assert code == 130 and "Traceback" not in stdout + stderr, stdout[-2000:] + stderr[-2000:]
    assert run.status()["state"] == "stopped"
    done = run.status()["epoch"]
    code, stdout, stderr = launch(runs, "run", "--resume", "--epochs", str(done + 1))
    assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert "resuming from" in stdout
    assert [record["epoch"] for record in run.history()] == list(range(1, done + 2))
    assert run.status()["state"] == "finished"


def test_a_worker_that_dies_stops_the_other_within_the_timeout(tmp_path):
    runs = tmp_path / "runs"
    environments = worker_environments(2)
    command = ("train", "--runs-dir", runs, "--run-name", "run", *TINY, "--model", "cgan", "--epochs", "400",
               "--steps-per-call", "1", "--strategy", "multiworker", "--worker-timeout", "10")
    chief, other = (cli(*command, environment=environment) for environment in environments)
    run = RunDirectory(runs / "run")
    try:
        wait_for(lambda: run.status().get("epoch", 0) >= 1, timeout=180, what="the first epoch of two workers")
        other.kill()
        killed = time.time()
        code, _, stderr = finish(chief, timeout=120)
        assert time.time() - killed < 10 + 30, "the chief waited far past --worker-timeout"
    finally:
        for process in (chief, other):
            process.kill()
    last = stderr.strip().splitlines()[-1]
    assert code == 1 and last.startswith("error: another worker stopped answering") and "--resume" in last, \
        stderr[-3000:]
    assert run.status()["state"] == "failed"
    done = run.status()["epoch"]
    code, stdout, stderr = launch(runs, "run", "--resume", "--epochs", str(done + 1))
    assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert [record["epoch"] for record in run.history()] == list(range(1, done + 2))


def test_the_launcher_refuses_what_it_cannot_start():
    for arguments, message in ((["--workers", "0", "--", "train"], "--workers must be at least 1"),
                               (["--", "sample", "--run", "x"], "launch starts `ganvas train`")):
        code, _, stderr = finish(cli("launch", *arguments), timeout=60)
        assert code == 2 and message in stderr and "Traceback" not in stderr, stderr


def test_a_worker_whose_address_is_taken_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as taken, socket.socket() as other:
        taken.bind(("127.0.0.1", 0))
        taken.listen()  # another program, as on a shared host
        other.bind(("127.0.0.1", 0))
        addresses = [f"127.0.0.1:{taken.getsockname()[1]}", f"127.0.0.1:{other.getsockname()[1]}"]
        environment = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                                              "task": {"type": "worker", "index": 0}})}
        code, _, stderr = finish(cli("train", "--runs-dir", tmp_path, "--strategy", "multiworker", *TINY,
                                     environment=environment), timeout=120)
    assert code == 2 and "Traceback" not in stderr, stderr
    assert f"address {addresses[0]} (TF_CONFIG's worker 0) is already in use" in stderr
