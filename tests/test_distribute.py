"""The loop under MirroredStrategy on two logical CPU devices matches one device."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from trainer.rundir import RunDirectory

pytestmark = pytest.mark.slow  # trainings under tf.distribute strategies

# Logical devices must be set before TensorFlow starts, hence a fresh process.
SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from trainer.__main__ import main
for strategy in ("default", "mirrored"):
    # Without XLA on one device too: XLA draws other noise from the same seed (trainer/steps.py).
    code = main(["train", "--runs-dir", sys.argv[1], "--run-name", strategy, "--strategy", strategy,
                 "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50",
                 "--model", "cgan", "--epochs", "2", "--no-jit-compile"])
    assert code == 0, code
# Mode seeking pairs samples within each replica: a global batch of 2 leaves each replica one.
code = main(["train", "--runs-dir", sys.argv[1], "--run-name", "pairless", "--strategy", "mirrored",
             "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "2", "--model", "cgan",
             "--epochs", "1", "--mode-seeking-weight", "1"])
assert code == 2, code
# Refused before --overwrite empties the run: "mirrored" is checked whole below.
code = main(["train", "--runs-dir", sys.argv[1], "--run-name", "mirrored", "--overwrite", "--strategy", "mirrored",
             "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "51", "--model", "cgan"])
assert code == 2, code
"""


def test_mirrored_on_two_cpus_matches_the_single_device_losses(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mirrored strategy: 2 replicas" in result.stdout
    assert "needs pairs of samples on each of the 2 replicas: a --batch-size of at least 4" in result.stderr
    assert "--batch-size 51 must divide evenly over 2 replicas" in result.stderr
    single = RunDirectory(tmp_path / "default").history()
    mirrored = RunDirectory(tmp_path / "mirrored").history()
    assert len(single) == len(mirrored) == 2
    for one, two in zip(single, mirrored):
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert one[key] == pytest.approx(two[key], rel=2e-3), (key, one, two)
    config = json.loads((tmp_path / "mirrored" / "config.json").read_text())
    assert config["strategy"] == "mirrored"
