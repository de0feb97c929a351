"""What more workers cost and give: images per second of one worker, of two local workers
(`trainer launch`, MultiWorkerMirroredStrategy over gRPC on 127.0.0.1) and of the mirrored
strategy on two logical devices of one process, the same model, data and global batch.

    python -m bench.workers [--model cdcgan] [--limit-per-class 1000] [--epochs 3]

Each setting trains in a fresh process; the first epoch (tracing, and for the workers the
cluster's start) is reported apart, the rest averaged. On a machine with 2 cores expect no
speed-up: the workers share the cores, and what is left is the cost of their exchanges.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from trainer.rundir import RunDirectory

ROOT = Path(__file__).resolve().parents[1]
# Two logical CPUs must be made before TensorFlow starts, hence this small program.
MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from trainer.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def measure(name: str, command: list[str], runs: Path) -> tuple[float, float]:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{name} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    history = RunDirectory(runs / name).history()
    steady = [record["images_per_second"] for record in history[1:]] or [history[0]["images_per_second"]]
    return history[0]["seconds"], float(np.mean(steady))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cdcgan")
    parser.add_argument("--limit-per-class", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        runs = Path(directory)
        train = ["train", "--runs-dir", str(runs), "--model", args.model, "--limit-per-class",
                 str(args.limit_per_class), "--epochs", str(args.epochs)]
        settings = {
            "one-worker": [sys.executable, "-m", "trainer", *train, "--run-name", "one-worker"],
            "two-workers": [sys.executable, "-m", "trainer", "launch", "--workers", "2", "--", *train,
                            "--run-name", "two-workers"],
            "mirrored-2-devices": [sys.executable, "-c", MIRRORED, *train, "--run-name", "mirrored-2-devices",
                                   "--strategy", "mirrored"],
        }
        print(f"{args.model}, {args.limit_per_class * 10} MNIST images, {os.cpu_count()} CPU cores")
        print(f"{'setting':22s} {'first epoch s':>13s} {'images/s':>9s}")
        for name, command in settings.items():
            first, speed = measure(name, command, runs)
            print(f"{name:22s} {first:13.1f} {speed:9.0f}", flush=True)


if __name__ == "__main__":
    main()
