"""Training on several workers: who the chief is, and `python -m trainer launch`.

With `--strategy multiworker` every worker runs the same `trainer train` command with its own
`TF_CONFIG` (TensorFlow's cluster description: every worker's address, and which one this is).
Each trains its share of every global batch; only the chief writes the run directory, and the
other workers keep the checkpoints that TensorFlow makes them write in a temporary folder of their
own, removed at the end (TensorFlow's multi-worker guide). The launcher starts N such workers on
this machine, on free ports of 127.0.0.1, and shows the chief's progress.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def task() -> tuple[str, int, dict]:
    """(task type, index, cluster) from TF_CONFIG; ("worker", 0, {}) without one."""
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error})") from None
    own = tf_config.get("task") or {}
    return own.get("type", "worker"), int(own.get("index", 0)), tf_config.get("cluster") or {}


def is_chief() -> bool:
    """The chief, as TensorFlow counts it: the "chief" task, or worker 0 of a cluster without one."""
    task_type, index, cluster = task()
    return task_type == "chief" or (task_type == "worker" and index == 0 and "chief" not in cluster)


def free_ports(count: int) -> list[int]:
    """Ports that nothing listens on now (the workers bind them a moment later)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def worker_environments(workers: int) -> list[dict]:
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    return [{**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                                    "task": {"type": "worker", "index": index}}),
             "PYTHONUNBUFFERED": "1"} for index in range(workers)]


def launch(workers: int, train_arguments: list[str], grace_seconds: float = 30.0) -> int:
    """Start `workers` local workers of `trainer train ARGUMENTS --strategy multiworker`; print the
    chief's output as it comes and the others' only when they fail; forward Ctrl-C and SIGTERM.
    The exit code is the chief's, or the first failing worker's."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, not {workers}")
    arguments = [argument for argument in train_arguments if argument != "--"]
    if arguments[:1] != ["train"]:
        raise ValueError("launch starts `ganvas train`: ganvas launch --workers N -- train [OPTIONS]")
    if "--strategy" not in arguments:
        arguments += ["--strategy", "multiworker"]
    command = [sys.executable, "-m", "trainer", *arguments]
    processes = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
                 for environment in worker_environments(workers)]
    outputs = [[] for _ in processes]

    def relay(index, process):
        for line in process.stdout:
            outputs[index].append(line)
            if index == 0:
                sys.stdout.write(line)
                sys.stdout.flush()

    readers = [threading.Thread(target=relay, args=item, daemon=True) for item in enumerate(processes)]
    for reader in readers:
        reader.start()

    def forward(signum, frame):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        failed = None
        while any(process.poll() is None for process in processes):
            failed = next((index for index, process in enumerate(processes) if process.poll() not in (None, 0)), None)
            if failed is not None:
                break
            time.sleep(0.2)
        if failed is not None:
            # The others find out at their next exchange (their --worker-timeout); give them a
            # moment to stop on their own and save, then end them.
            deadline = time.time() + grace_seconds
            while time.time() < deadline and any(process.poll() is None for process in processes):
                time.sleep(0.2)
            for process in processes:
                if process.poll() is None:
                    process.kill()
        for process in processes:
            process.wait()
        for reader in readers:
            reader.join(timeout=5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for index, process in enumerate(processes):
        if index and process.returncode:
            sys.stderr.write(f"worker {index} ended with exit code {process.returncode}:\n"
                             + "".join(outputs[index][-5:]))
    codes = [process.returncode for process in processes]
    return codes[0] if codes[0] else next((code for code in codes if code), 0)
