"""What the app does to run directories: list them with their real state, start, stop, resume
and delete trainings, and run the slower commands (`eval`, `tstr`) in the background.

Plain Python over the run directory format of trainer/rundir.py, with no Streamlit and no
TensorFlow, so that the pages which only read files start at once and the tests can call it
directly. Every training or job is a `python -m trainer ...` process of its own, in a new
session, so it outlives the page, the browser tab and the app itself.

A name that comes from the user always goes through `run_path`, which allows only a plain
directory name directly inside the runs directory: nothing outside it can be read, written or
deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from trainer.config import TrainConfig
from trainer.data import short_name
from trainer.launch import prepare
from trainer.rundir import (CLASSIFIERS_DIR, JOB_REPORTS, RUN_NAME_PATTERN, RunDirectory, RunError, atomic_write,
                            check_run_name, read_json)
from trainer.rundir import LAUNCH_FILE, TRAINING_LOG  # noqa: F401  (the tests name them through this module)

REPOSITORY = Path(__file__).resolve().parents[1]


def runs_dir() -> Path:
    """GANVAS_RUNS_DIR, or `runs/` under the current directory as for the trainer."""
    return Path(os.environ.get("GANVAS_RUNS_DIR", "runs")).resolve()


def classifiers_dir() -> Path:
    return Path(os.environ.get("GANVAS_CLASSIFIERS_DIR", CLASSIFIERS_DIR)).resolve()


def run_path(root: Path, name: str) -> Path:
    """The directory of run `name`, refusing anything but a plain name inside `root` (also a
    symbolic link that points elsewhere)."""
    check_run_name(name)
    root = Path(root).resolve()
    path = root / name
    if path.resolve().parent != root:
        raise RunError(f"{name!r} points outside {root}")
    return path


def process_alive(pid, marker: str = "trainer") -> bool:
    """Whether `pid` is still a live `python -m trainer` process. A process this app started
    and that has ended is reaped here, or it would linger as a zombie that looks alive; the
    command line check keeps a recycled pid from passing for the trainer."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    except ChildProcessError:
        pass  # not our child: the kernel answers below
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the signal
    return marker.encode() in command


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    # Progress bars redraw a line with carriage returns; keep only what was drawn last.
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.splitlines()[-lines:])


def error_line(log: str) -> str:
    """What a failed command said last: its `error: ...` line, or else its last line (TensorFlow's
    start-up noise comes first in a log, the reason last)."""
    lines = [line for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") or line.split(":")[0].endswith("Error")]
    return (errors or lines or ["(no output)"])[-1]


def run_state(path: Path) -> dict:
    """The run's status.json, corrected for what the file cannot say by itself:
    - `starting`: the app launched a training that has not written its status yet;
    - `interrupted`: the status says running but the process is gone (`kill -9`, a crash,
      a reboot): the last finished epoch is safe and the run can be resumed;
    - `failed` with the log's last lines, for a training that died before writing anything;
    - `unknown`: a run directory without status.json (an older version, or copied files), or
      with a damaged one."""
    run = RunDirectory(path)
    status = read_dict(run.status_path)
    launch = read_dict(run.launch_path)
    launched_after_status = (number(launch.get("started")) or 0) > (number(status.get("updated")) or 0)
    if launched_after_status and process_alive(launch.get("pid")):
        # Until the new process writes its own status, the file still describes the last one.
        return {**status, "state": "starting", "pid": launch["pid"]}
    state = status.get("state")
    if state == "running" and not process_alive(status.get("pid")):
        return {**status, "state": "interrupted",
                "error": "the training process ended without saying why (killed, or the machine "
                         "restarted); the last finished epoch is kept: resume it"}
    if launched_after_status:
        return {**status, "state": "failed",
                "error": "the training ended before its first epoch: "
                         + error_line(log_tail(run.training_log_path, 200))}
    if state is None:
        if run.status_path.exists():  # there, but cut short or not a status: named, left as it is
            return {"state": "unknown", "error": f"{run.status_path} is damaged (not a run's status); the next "
                                                 f"training of the run rewrites it"}
        return {"state": "unknown", "error": "no status.json: written by an older version, or copied"}
    return status


def load_config(path: Path) -> TrainConfig | None:
    try:
        return TrainConfig.load(path)
    except (OSError, ValueError, TypeError):
        return None


def latest_label_accuracy(path: Path, history: list[dict]) -> float | None:
    """From metrics.json (`trainer eval`) when it is newer than the last evaluated epoch in
    the history (`--eval-every`), else from the history."""
    metrics = read_dict(RunDirectory(path).job_report_path("eval"))
    evaluated = [record for record in history if "label_accuracy" in record]
    if evaluated and (number(evaluated[-1].get("epoch")) or 0) > (number(metrics.get("epoch")) or 0):
        return evaluated[-1]["label_accuracy"]
    return metrics.get("label_accuracy")


def summary(path: Path) -> dict:
    """One row of the Runs table."""
    config = load_config(path)
    state = run_state(path)
    history = RunDirectory(path).history()
    return dict(
        name=path.name,
        dataset=short_name(config.dataset) if config else "?",
        model=config.model if config else "?",
        state=state.get("state"),
        epoch=number(state.get("epoch", len(history))),
        epochs=number(state.get("epochs", config.epochs if config else None)),
        updated=number(state.get("updated")),
        label_accuracy=number(latest_label_accuracy(path, history)),
    )


def read_dict(path: Path) -> dict:
    """A JSON object from a file; {} when it is missing, cut short or something else."""
    value = read_json(path, default={})
    return value if isinstance(value, dict) else {}


def number(value):
    """A figure read from a file, or None when the file holds something else (another version)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def list_runs(root: Path) -> list[dict]:
    """Every run directory under `root`, most recently updated first."""
    root = Path(root)
    if not root.is_dir():
        return []
    rows = [summary(path) for path in root.iterdir()
            if path.is_dir() and RUN_NAME_PATTERN.fullmatch(path.name)
            and (RunDirectory(path).exists() or RunDirectory(path).launch_path.exists())]
    return sorted(rows, key=lambda row: row["updated"] or 0, reverse=True)


def _spawn(command: list[str], log_path: Path) -> int:
    # The command hides TensorFlow's C++ log lines itself, unless the app was started with
    # TF_CPP_MIN_LOG_LEVEL set, which the training then inherits.
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process.pid


def start_training(root: Path, name: str, options: dict) -> int:
    """Launch `python -m trainer train` into a new run `name`; returns its pid. `options` maps
    TrainConfig fields to values; None or "" keeps the default (or the family's)."""
    path = run_path(root, name)
    if path.exists():
        raise RunError(f"a run named {name!r} already exists; choose another name")
    chosen = {key: value for key, value in options.items() if value not in (None, "")}
    # The trainer runs in the repository, not where the app was started: paths the user typed
    # are made absolute here, and the classifier is the app's own.
    paths = {"runs_dir": str(Path(root).resolve()), "run_name": name,
             "classifiers_dir": str(chosen.get("classifiers_dir") or classifiers_dir())}
    dataset = str(chosen.get("dataset", ""))
    if dataset.startswith("folder:") and dataset.removeprefix("folder:").strip():
        paths["dataset"] = "folder:" + str(Path(dataset.removeprefix("folder:")).expanduser().resolve())
    if chosen.get("data_dir"):
        paths["data_dir"] = str(Path(str(chosen["data_dir"])).expanduser().resolve())
    # The trainer's own refusals that need neither TensorFlow nor the data, before a directory
    # and a process exist; it asks the rest itself and the run's log shows them.
    plan = prepare({**chosen, **paths}, load=False)
    command = [sys.executable, "-m", "trainer", "train", *plan.config.to_argv()]
    try:
        path.mkdir(parents=True)
    except FileExistsError:  # another tab started a run of this name since the check above
        raise RunError(f"a run named {name!r} already exists; choose another name") from None
    return _record_launch(path, command)


def resume_training(root: Path, name: str, epochs: int | None = None) -> int:
    path = run_path(root, name)
    state = run_state(path)["state"]
    if state in ("running", "starting"):
        raise RunError(f"{name} is already training")
    options = {"runs_dir": str(Path(root).resolve()), "run_name": name}
    if epochs:
        options["epochs"] = int(epochs)
    prepare(options, resume=True, load=False)  # the trainer's refusals that need no TensorFlow
    command = [sys.executable, "-m", "trainer", "train", "--runs-dir", options["runs_dir"], "--run-name", name,
               "--resume"]
    if epochs:
        command += ["--epochs", str(int(epochs))]
    return _record_launch(path, command)


def _record_launch(path: Path, command: list[str]) -> int:
    run = RunDirectory(path)
    pid = _spawn(command, run.training_log_path)
    atomic_write(run.launch_path, json.dumps(dict(pid=pid, command=command, started=time.time())))
    return pid


def finished_epochs(path: Path) -> int:
    """Epochs the run has trained, as its last checkpoint holds them."""
    return number(read_dict(RunDirectory(path).status_path).get("epoch")) or 0


def stop_training(root: Path, name: str) -> None:
    """SIGTERM, as Ctrl-C would: the trainer saves a checkpoint mid-epoch and marks the run
    stopped; it takes a moment, so the state changes shortly after. Not while the run is still
    starting: the trainer handles the signal from the moment it says it is running, and a
    process stopped before would leave nothing to resume."""
    path = run_path(root, name)
    state = run_state(path)
    if state["state"] == "starting":
        raise RunError(f"{name} is still starting: it can be stopped in a few seconds, once it is running")
    if state["state"] != "running":
        raise RunError(f"{name} is not training (it is {state['state']})")
    os.kill(state["pid"], signal.SIGTERM)


def delete_run(root: Path, name: str) -> None:
    path = run_path(root, name)
    if not path.is_dir():
        raise RunError(f"there is no run {name!r}")
    if run_state(path)["state"] in ("running", "starting"):
        raise RunError(f"{name} is training: stop it before deleting it")
    # A job still running would write its output into a new directory of the same name: a run
    # that no page lists, and whose name a new training is refused.
    for job in JOB_REPORTS:
        if job_state(path, job)["state"] == "running":
            raise RunError(f"`ganvas {job}` is running on {name}: delete it once that has finished")
    # The run's own lock, held while the files go: a training started from a terminal a moment
    # ago, which no status shows yet, makes this refuse, and one starting now is refused.
    run = RunDirectory(path)
    run.lock()
    try:
        shutil.rmtree(path)
    finally:
        run.unlock()


def job_state(path: Path, job: str) -> dict:
    """`{"state": "running" | "finished" | "failed" | "none", "log": ...}` of a background job."""
    run = RunDirectory(path)
    record = read_dict(run.job_record_path(job))
    if not record:
        return {"state": "none"}
    if process_alive(record.get("pid")):
        return {"state": "running", **record}
    output = run.job_report_path(job)
    finished = output.exists() and output.stat().st_mtime >= (number(record.get("started")) or 0)
    return {"state": "finished" if finished else "failed", "log": log_tail(run.job_log_path(job)), **record}


def start_job(root: Path, name: str, job: str, arguments: list[str] = ()) -> int:
    """Run `python -m trainer <job> --run <name> ...` in the background (`eval` writes
    metrics.json, `tstr` writes tstr.json)."""
    if job not in JOB_REPORTS:
        raise RunError(f"unknown job {job!r}")
    path = run_path(root, name)
    if job_state(path, job)["state"] == "running":
        raise RunError(f"{job} is already running for {name}")
    command = [sys.executable, "-m", "trainer", job, "--run", str(path), *map(str, arguments)]
    if job == "eval":
        command += ["--classifiers-dir", str(classifiers_dir())]
    run = RunDirectory(path)
    run.job_log_path(job).unlink(missing_ok=True)
    pid = _spawn(command, run.job_log_path(job))
    atomic_write(run.job_record_path(job), json.dumps(dict(pid=pid, command=command, started=time.time())))
    return pid
