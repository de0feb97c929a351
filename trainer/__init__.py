"""Ganvas's training library: data sets, GAN families, the training loop, metrics.

Every entry point (`python -m trainer`, `python -m export`, the app, the benchmarks, the tests)
imports this package before TensorFlow, so the setting below is in place when TensorFlow reads
it, once, as it starts; the commands and the app start TensorFlow with `start_tensorflow()`.
"""

import contextlib
import os
import re
import sys
import tempfile

# TensorFlow turns on its oneDNN kernels by itself only on CPUs with AVX-512 VNNI, BF16 or AMX;
# elsewhere (AMD Zen 3, older Intel) it runs Eigen's convolutions, and a cdcgan epoch took 70 s
# instead of 44 s on a 2-core AMD EPYC (Zen 3). TF_ENABLE_ONEDNN_OPTS=0 still keeps Eigen's.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# TensorFlow 2.19 writes its start-up lines through absl before absl is initialised, where
# TF_CPP_MIN_LOG_LEVEL does not reach (tensorflow/tensorflow#100442): on a machine without a GPU
# every command began with ten lines like "E0000 ... Unable to register cuDNN factory" and
# "failed call to cuInit", harmless and alarming to a newcomer. These are those lines, exactly.
NATIVE_START_UP_NOISE = re.compile("|".join((
    r"Unable to register cu(FFT|DNN|BLAS) factory",
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"computation placer already registered",
    r"failed call to cuInit",  # no NVIDIA driver: TensorFlow runs on the CPU, as the trainer says
    r"Could not find cuda drivers on your machine",
    r"XLA service 0x[0-9a-f]+ initialized for platform Host",
    r"StreamExecutor device \(\d+\): Host, Default Version",
    r"Compiled cluster using XLA",
)))


@contextlib.contextmanager
def native_start_up_noise_filtered():
    """Hold back what the process writes to its standard error (file descriptor 2, where C++
    writes too) while the block runs, then pass on every line but NATIVE_START_UP_NOISE's."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # standard error is closed: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not NATIVE_START_UP_NOISE.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def start_tensorflow(first=None):
    """Import TensorFlow with its one-time native start-up behind the filter above: the import,
    the devices' discovery (cuInit) and XLA's service, which announces itself at the first
    compilation (a trivial one here, about 0.1 s). The runtime is up afterwards: a script that
    configures devices (logical CPUs, GPU memory growth) does so before calling it, and what must
    come before any operation (a multi-worker strategy) is `first`, whose result is returned."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:  # started already; its lines, if any, have been written
        return first() if first else None
    with native_start_up_noise_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices()
        result = first() if first else None
        tf.function(lambda value: value + 1, jit_compile=True)(tf.constant(0.0))
    return result
