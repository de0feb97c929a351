"""The run directory, `runs/<name>/`: the only thing the exporter and the app read.

    config.json      the TrainConfig, resolved
    history.jsonl    one JSON object per finished epoch
    steps.jsonl      one JSON object every 100 iterations or so: the live curves
    status.json      state (running, finished, failed, stopped), pid, epoch, epochs, updated, error
    samples/         epoch_0001.png ...: the fixed-noise grid, one row per label
    checkpoints/     tf.train.CheckpointManager files, numbered by epoch; interrupted/ after a stop
                     mid-epoch
    generator.keras  the final generator
    tb/              TensorBoard scalars and sample images
    metrics.json     `trainer eval`'s report (metrics_epoch_0005.json for --epoch 5), tstr.json `tstr`'s
    launch.json      pid and command of the last training the app started, train.log its output
    eval.job.json    pid and command of the app's background `eval` (tstr.job.json: `tstr`),
                     eval.log (tstr.log) its output

and `classifiers/<dataset>-<arch>/` holds each data set's judge: classifier.keras and info.json.
This module names every one of these files and folders; the other modules ask it for their paths.

Every file is replaced atomically (write a temporary file, then rename) so that a reader, or a
`kill -9` at any moment, never leaves half a file behind; steps.jsonl, which grows all along, is
appended a line at a time instead, and its readers skip a last line cut short.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import json
import os
import re
import shlex
import tempfile
import time
from pathlib import Path

from trainer.judges import ARCHITECTURES, ARCHITECTURES_HELP, DEFAULT_ARCH

STATES = ("running", "finished", "failed", "stopped")
# Run names become directory names: no separators, no leading dot, nothing that can climb out.
RUN_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_RUN_NAME_LENGTH = 255  # NAME_MAX of Linux and macOS file systems; a run name is ASCII
CLASSIFIERS_DIR = "classifiers"
CLASSIFIER_MODEL_FILE = "classifier.keras"  # in a classifier's folder, beside its info.json
CLASSIFIER_INFO_FILE = "info.json"
LAUNCH_FILE = "launch.json"  # pid and command of the last training the app started in a run
TRAINING_LOG = "train.log"  # that training's output
# The commands the app runs in the background on a run, and the report each writes.
JOB_REPORTS = {"eval": "metrics", "tstr": "tstr"}
SAMPLE_NAME = re.compile(r"epoch_(\d+)\.png")  # a grid in samples/, by its epoch
UMASK = os.umask(0)
os.umask(UMASK)


class RunError(Exception):
    """A problem with a run directory that the user can fix; the message says how."""


def check_run_name(name) -> None:
    """RunError unless `name` can be a run's directory: the CLI and the app ask before anything
    is loaded or made."""
    if not isinstance(name, str) or not RUN_NAME_PATTERN.fullmatch(name):
        raise RunError(f"run name {name!r} must start with a letter or digit and use only letters, "
                       f"digits, '.', '_' and '-'")
    if len(name) > MAX_RUN_NAME_LENGTH:  # the file system refuses longer names with an OSError
        raise RunError(f"a run name may have at most {MAX_RUN_NAME_LENGTH} characters, not {len(name)}")


def default_run_stem(dataset: str) -> str:
    """How a run is named when the user names none (the CLI adds the model, the app a number too):
    the data set, or a folder's own name with what a run name cannot hold (spaces, accents) replaced."""
    if not dataset.startswith("folder:"):
        return dataset
    name = Path(dataset.removeprefix("folder:").strip()).name
    # What RUN_NAME_PATTERN refuses becomes '-'; 200 characters leave room for "-<model>-<number>".
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:200] or "folder"


def atomic_write(path: Path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "w" if isinstance(data, str) else "wb"
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, mode) as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~UMASK)  # mkstemp makes files private; these are for readers
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_model(model, path: Path) -> None:
    """A Keras model saved the same all-or-nothing way: to a hidden file, then renamed."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}")  # Keras wants the .keras ending kept
    model.save(temporary)
    temporary.replace(path)


MAX_CLASSIFIER_NAME = 160  # bytes of a classifier folder's data-set part, well under a file name's 255


def classifier_dir(dataset: str, arch: str = DEFAULT_ARCH, root: str | Path = CLASSIFIERS_DIR,
                   image_size: int | None = None) -> Path:
    """`classifiers/<dataset>-<arch>/`, where a data set's classifier keeps classifier.keras and
    info.json; `<dataset>-<size>px-<arch>/` for images of another size than the data set's own
    (emoji at 64 px), so that each size has its judge. Here, free of TensorFlow, because the app
    reads info.json without loading it."""
    from trainer.data import default_image_size

    name = dataset.replace("folder:", "folder-").replace("/", "_").strip("_")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_CLASSIFIER_NAME:
        # A file name takes at most 255 bytes: a deep folder's path is cut in the middle, and a
        # digest of the whole keeps two such folders apart.
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        name = f"{name[:40]}-{digest}-{name[-60:]}"
    if image_size is not None and image_size != default_image_size(dataset):
        name += f"-{image_size}px"
    return Path(root) / f"{name}-{arch}"


def trained_classifier_dir(dataset: str, arch: str = DEFAULT_ARCH, root: str | Path = CLASSIFIERS_DIR,
                           image_size: int | None = None) -> Path:
    """`classifier_dir`, or a RunError that names the judge it lacks and the command that trains
    it; free of TensorFlow, so that the app's start form refuses a training that needs one at once."""
    directory = classifier_dir(dataset, arch, root, image_size)
    if not (directory / CLASSIFIER_MODEL_FILE).exists():
        needs = (" (it tests on a split of its own: lay the folder out as PATH/train/<label>/ and "
                 "PATH/test/<label>/)" if dataset.startswith("folder:") else "")
        raise RunError(f"no {arch} classifier for {dataset} in {directory}; train one with "
                       f"`{shlex.join(classifier_train_command(dataset, arch, root, image_size))}`{needs}")
    return directory


def classifier_train_command(dataset: str, arch: str = DEFAULT_ARCH, root: str | Path = CLASSIFIERS_DIR,
                             image_size: int | None = None) -> list[str]:
    """The command that trains the judge `classifier_dir` names, for the errors and the app to
    show: --image-size only for a judge of another size than the data set's own."""
    command = ["ganvas", "classifier", "train", "--dataset", dataset]
    if classifier_dir(dataset, arch, root, image_size) != classifier_dir(dataset, arch, root):
        command += ["--image-size", str(image_size)]
    if arch != DEFAULT_ARCH:
        command += ["--arch", arch]
    return command


# The failed writes that mean "the disk, not the training": errno, what strerror says (which
# TensorFlow's errors carry in their text) and how the user is told.
WRITE_FAILURES = {errno.ENOSPC: "no space left on", errno.EDQUOT: "the disk quota is used up on",
                  errno.EROFS: "a read-only file system at", errno.EIO: "an input/output error on"}


def describe_write_failure(error: BaseException, path: Path) -> str | None:
    """One line for an error that a full, read-only or failing disk caused while saving into
    `path` (an OSError, or TensorFlow's error of a checkpoint write); None for any other error."""
    code = error.errno if isinstance(error, OSError) else None
    text = str(getattr(error, "message", None) or error)
    if code not in WRITE_FAILURES:
        code = next((number for number in WRITE_FAILURES if os.strerror(number) in text), None)
    if code is None:
        return None
    # TensorFlow names the file among op names that have slashes too: the one in the run.
    file = getattr(error, "filename", None) or next(
        (word.rstrip(";:,") for word in text.split() if str(Path(path).resolve()) in word), str(path))
    file = str(file).split("_temp/")[0]  # a checkpoint is written to ckpt-N_temp/ first
    return f"{WRITE_FAILURES[code]} {mount_point(path)} while saving {file}"


def mount_point(path: Path) -> Path:
    """The folder where the file system holding `path` is mounted: what a user frees space on."""
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    device = path.stat().st_dev
    while path.parent != path and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def take_lock(directory: Path):
    """An exclusive lock on `directory` (made if need be), as the open file that holds it, or
    None if another process holds it. One atomic step, so two processes that try at the same
    moment cannot both win; the kernel drops the lock when its process dies, even by `kill -9`,
    so a crash never leaves a stale one."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock_file = open(directory / ".lock", "w")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        return None
    return lock_file


def read_json(path: Path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock_file = None

    config_path = property(lambda self: self.path / "config.json")
    history_path = property(lambda self: self.path / "history.jsonl")
    steps_path = property(lambda self: self.path / "steps.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    generator_path = property(lambda self: self.path / "generator.keras")
    tensorboard_dir = property(lambda self: self.path / "tb")

    interrupted_dir = property(lambda self: self.checkpoints_dir / "interrupted")  # a stop mid-epoch
    launch_path = property(lambda self: self.path / LAUNCH_FILE)
    training_log_path = property(lambda self: self.path / TRAINING_LOG)

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch_{epoch:04d}.png"

    def sample_paths(self) -> dict[int, Path]:
        """Every epoch's grid in samples/, by epoch, in order; another file there is left out."""
        try:
            files = list(self.samples_dir.iterdir())
        except FileNotFoundError:
            return {}
        matches = ((SAMPLE_NAME.fullmatch(file.name), file) for file in files)
        return dict(sorted((int(match.group(1)), file) for match, file in matches if match))

    def report_path(self, name: str, epoch: int | None = None) -> Path:
        """Where `eval` and `tstr` write: metrics.json and tstr.json describe the run's final
        generator (the app and the export read them), so scoring an earlier checkpoint with
        --epoch writes metrics_epoch_0005.json beside them instead of replacing them."""
        return self.path / (f"{name}.json" if epoch is None else f"{name}_epoch_{epoch:04d}.json")

    def job_record_path(self, job: str) -> Path:
        """The pid and command of the app's background `job` (a JOB_REPORTS key)."""
        return self.path / f"{job}.job.json"

    def job_log_path(self, job: str) -> Path:
        return self.path / f"{job}.log"

    def job_report_path(self, job: str) -> Path:
        """What `job` writes when it succeeds: the report on the final generator."""
        return self.report_path(JOB_REPORTS[job])

    def exists(self) -> bool:
        return self.config_path.exists()

    def lock(self) -> None:
        """Hold the run's lock until `unlock` or the process ends: a second training into the
        same directory, or the app deleting it meanwhile, is refused."""
        self._lock_file = take_lock(self.path)
        if self._lock_file is None:
            pid = self.status().get("pid")
            holder = f"process {pid}" if isinstance(pid, int) else "another process"
            raise RunError(f"{self.path} is being trained by {holder}; stop it first")

    # What only the training, which holds the lock, writes half-way: atomic_write's temporaries
    # of its own files and save_model's of the generator. A `kill -9` mid-write leaves one behind.
    TRAINING_TEMPORARIES = ("samples/.epoch_*.tmp", ".config.json.*.tmp", ".history.jsonl.*.tmp",
                            ".steps.jsonl.*.tmp", ".status.json.*.tmp", ".generator.keras")

    def sweep_temporaries(self) -> list[Path]:
        """Remove what a training killed mid-write left; call with the lock held."""
        swept = [path for pattern in self.TRAINING_TEMPORARIES for path in self.path.glob(pattern)]
        for path in swept:
            path.unlink(missing_ok=True)
        return swept

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def status(self) -> dict:
        return read_json(self.status_path, default={})

    def write_status(self, state: str, epoch: int, epochs: int, error: str | None = None) -> None:
        assert state in STATES, state
        status = dict(state=state, pid=os.getpid(), epoch=epoch, epochs=epochs, updated=time.time())
        if error:
            status["error"] = error
        atomic_write(self.status_path, json.dumps(status, indent=2))

    def history(self) -> list[dict]:
        """Every complete epoch record."""
        return read_records(self.history_path)

    def write_history(self, records: list[dict]) -> None:
        atomic_write(self.history_path, json_lines(records))

    def step_records(self) -> list[dict]:
        """Every complete step record (the recorder's `StepLog` writes them)."""
        return read_records(self.steps_path)

    def write_step_records(self, records: list[dict]) -> None:
        atomic_write(self.steps_path, json_lines(records))

    def append_step_record(self, record: dict) -> None:
        """One line added in one write: a reader sees the line whole, or cut short by a crash,
        which `read_records` skips and the next training's `write_step_records` removes."""
        with open(self.steps_path, "a") as file:
            file.write(json_lines([record]))


def read_records(path: Path) -> list[dict]:
    """The JSON objects of a file of one per line; a line cut short (by a `kill -9` while it was
    appended, a file from a crashed older version, or one copied mid-write) is skipped rather than
    failing the reader."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        # Valid JSON that is no record (`null`, a list: a hand edit, a damaged copy) is skipped
        # as a cut line is: every reader expects objects, and one odd line broke every page.
        if isinstance(record, dict):
            records.append(record)
    return records


def json_lines(records: list[dict]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def resolve_run(name_or_path: str, runs_dir: str) -> Path:
    """A run directory's path, or the name of a run in `runs_dir`."""
    for path in (Path(name_or_path), Path(runs_dir) / name_or_path):
        if RunDirectory(path).exists():
            return path
    raise RunError(f"{name_or_path} is not a run directory, nor a run in {runs_dir}/ (no config.json in either)")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that reads a trained run."""
    parser.add_argument("--run", required=True, help="run directory, or a run name under --runs-dir")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--epoch", type=int, help="a kept checkpoint's epoch (default: the final generator, "
                                                  "or the latest checkpoint while training)")


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that judges with a kept classifier (`eval`, the export):
    which of the data set's classifiers, and where `classifier train` keeps them."""
    parser.add_argument("--classifier-arch", choices=ARCHITECTURES, default=DEFAULT_ARCH,
                        help=f"the judge: {ARCHITECTURES_HELP}, as `ganvas classifier train --arch` trained it "
                             f"(default: {DEFAULT_ARCH})")
    parser.add_argument("--classifiers-dir", default=CLASSIFIERS_DIR)
