"""The `ganvas` command as the set-up installs it, TensorFlow's log lines kept from its users, and
a generator loaded in a user's own Python exactly as the README shows."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

# The console script pyproject.toml declares, beside the Python that runs the tests: in CI that is
# the environment scripts/setup.sh made, so a set-up that forgot to install it fails here.
GANVAS = Path(sys.executable).parent / "ganvas"
COMMANDS = {"train", "sample", "classifier", "eval", "colorize", "synth", "tstr", "launch", "data"}

# TensorFlow's C++ log lines: absl's, "E0000 00:00:1796635000.329688  31545 meta_optimizer.cc:967] …"
# (as TensorFlow 2.19 writes them, date 0000 and time 00:00:<seconds since 1970>; "E1207
# 09:23:05.891223 …" were absl initialised), and those of its older logging,
# "2026-12-07 09:23:05.891223: I tensorflow/core/util/port.cc:153] …".
NATIVE_LOG_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
                             r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] )", re.MULTILINE)


def users_environment() -> dict:
    """The environment of a user who set no TensorFlow logging variable (the tests' conftest sets one)."""
    return {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def ganvas(*args, cwd: Path) -> subprocess.CompletedProcess:
    """`ganvas ARGS` typed in the folder `cwd`."""
    return subprocess.run([str(GANVAS), *map(str, args)], cwd=cwd, env=users_environment(),
                          capture_output=True, text=True, timeout=600)


def shows_native_logs(stderr: str) -> bool:
    return bool(NATIVE_LOG_LINE.search(stderr)) or "absl::InitializeLog" in stderr


@pytest.fixture(scope="module")
def tiny_training(tmp_path_factory):
    """A cdcgan trained one epoch on 100 MNIST images by `ganvas train`, typed outside the
    repository: (the run directory, the finished command)."""
    folder = tmp_path_factory.mktemp("user")
    result = ganvas("train", "--dataset", "mnist", "--model", "cdcgan", "--limit-per-class", 10, "--batch-size", 50,
                    "--epochs", 1, "--runs-dir", folder / "runs", "--run-name", "tiny", cwd=folder)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return folder / "runs" / "tiny", result


def test_ganvas_is_installed_and_lists_every_command(tmp_path):
    assert GANVAS.is_file(), f"{GANVAS} is missing: scripts/setup.sh installs it with `pip install --no-deps -e .`"
    result = ganvas("--help", cwd=tmp_path)  # outside the checkout: the installed packages, not the folder's
    assert result.returncode == 0, result.stderr
    listed = set(re.search(r"\{([a-z,]+)\}", result.stdout).group(1).split(","))
    assert COMMANDS <= listed, result.stdout
    assert result.stdout.startswith("usage: ganvas ")
    # `python -m trainer` keeps working, with the very same parser.
    module = subprocess.run([sys.executable, "-m", "trainer", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert module.returncode == 0 and module.stdout == result.stdout


def test_importing_trainer_does_not_start_tensorflow():
    # `ganvas --help`, argument errors and the app's pages answer at once because of it.
    check = "import sys, trainer; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_a_cdcgan_training_shows_none_of_tensorflows_log_lines(tiny_training):
    # Without the hiding, every cdcgan training printed "E0000 … meta_optimizer.cc:967] remapper
    # failed: INVALID_ARGUMENT: Mutation::Apply error …" in its first epoch.
    _, result = tiny_training
    assert "finished: samples in" in result.stdout
    assert not shows_native_logs(result.stderr), result.stderr[-3000:]


def test_verbose_shows_them(tiny_training, tmp_path):
    run, _ = tiny_training
    result = ganvas("sample", "--run", run, "--label", 3, "--n", 4, "--out", tmp_path / "threes.png", "--verbose",
                    cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "threes.png").is_file(), result.stderr[-3000:]
    # Among them "I tensorflow/core/util/port.cc:153] oneDNN custom operations are on", which
    # every start prints, as trainer/__init__.py turns those operations on.
    assert shows_native_logs(result.stderr), result.stderr[-3000:]
    assert ganvas("--verbose", "data", "check", "--dataset", "mnist", cwd=tmp_path).returncode == 0


def readme_python(heading: str) -> str:
    """The Python block of the README's section `heading`."""
    section = (ROOT / "README.md").read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return code


def test_the_readmes_python_loads_a_generator_and_draws_a_labelled_batch(tiny_training, tmp_path):
    run, _ = tiny_training
    code = readme_python("Use a generator in your own Python")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "mnist-demo").symlink_to(run)  # where the README's code looks, unchanged
    # Run as written, in a fresh Python in the user's own folder, then looked at.
    looked_at = ("\nimport json, warnings\n"
                 "warnings.warn('a warning of the user\\'s own')\n"
                 "again, _ = trainer.load_generator('runs/mnist-demo/generator.keras')\n"
                 "print(json.dumps(dict(shape=pixels.shape, low=float(pixels.min()), high=float(pixels.max()),\n"
                 "                      label=config.label_names[label], weights=again.count_params(),\n"
                 "                      loaded=generator.count_params())))\n")
    result = subprocess.run([sys.executable, "-c", code + looked_at], cwd=tmp_path, env=users_environment(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = json.loads(result.stdout.strip().splitlines()[-1])
    assert drawn["shape"] == [16, 28, 28, 1] and drawn["label"] == "7"
    assert 0 <= drawn["low"] < drawn["high"] <= 1
    assert drawn["weights"] == drawn["loaded"]  # its generator.keras loads the same model
    # The user's Python shows its own warnings, and none of TensorFlow's C++ log lines.
    assert "UserWarning: a warning of the user's own" in result.stderr
    assert not shows_native_logs(result.stderr), result.stderr[-3000:]
