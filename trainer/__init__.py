"""Ganvas's training library: data sets, GAN families, the training loop, metrics.

Every entry point (`ganvas`, which is `python -m trainer`; `python -m export`, the app, the
benchmarks, the tests) imports this package before TensorFlow, so the setting below is in place
when TensorFlow reads it, once, as it starts; the commands and the app start TensorFlow with
`start_tensorflow()`.

In your own Python, `trainer.load_generator("runs/NAME")` loads a run's generator and its
config (the README's "Use a generator in your own Python"). Importing this package stays cheap:
TensorFlow loads only when something needs it.
"""

import contextlib
import ctypes
import os
import re
import sys
import tempfile
from pathlib import Path

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
def native_start_up_noise_filtered(noise: re.Pattern = NATIVE_START_UP_NOISE):
    """Hold back what the process writes to its standard error (file descriptor 2, where C++
    writes too) while the block runs, then pass on every line but `noise`'s."""
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
                if not noise.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


# TF_CPP_MIN_LOG_LEVEL, which TensorFlow reads as it starts: 0 shows all of its C++ log lines,
# 1 hides the INFO ones, 2 the WARNING ones too, 3 the ERROR ones too (a FATAL one always shows).
SHOW_NATIVE_LOGS = "0"
HIDE_NATIVE_LOGS = "3"


def choose_native_logs(verbose: bool = False) -> None:
    """Before TensorFlow starts: show all of its C++ log lines with `verbose`, else hide them
    unless the user chose a TF_CPP_MIN_LOG_LEVEL. The processes this one starts (`launch`'s
    workers, the trainings the app starts) inherit the choice.

    Those lines are notes for TensorFlow's developers. Every cdcgan training printed
    `E0000 ... meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply error`:
    Grappler declining to fuse a convolution with its activation, which then runs unfused, with
    nothing for the user to do. A real failure reaches Python as an exception, which the commands
    print in one line; Python's own warnings are untouched."""
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = SHOW_NATIVE_LOGS
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", HIDE_NATIVE_LOGS)


# absl's SetMinLogLevel in TensorFlow's copy of absl, by its C++ (mangled) name, which contains
# absl's release: 2.19's is lts_20230802. A TensorFlow built with another leaves absl's lines
# showing, which tests/test_cli.py notices.
ABSL_SET_MIN_LOG_LEVEL = "_ZN4absl12lts_2023080214SetMinLogLevelENS0_18LogSeverityAtLeastE"


def apply_log_level_to_absl(level: str) -> bool:
    """Hold TensorFlow's absl log lines to TF_CPP_MIN_LOG_LEVEL as well; True if it could. Much of
    TensorFlow 2.19's C++ (Grappler's "remapper failed" among it) logs through absl, which does
    not read the variable; absl's severities (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL) match its
    values. Where the function cannot be found, those lines show as before."""
    try:
        severity = min(max(int(level), 0), 3)
    except ValueError:  # not a number: TensorFlow ignores it too
        return False
    import tensorflow as tf

    try:
        framework = ctypes.CDLL(str(Path(tf.__file__).parent / "libtensorflow_framework.so.2"))
        set_min_log_level = getattr(framework, ABSL_SET_MIN_LOG_LEVEL)
    except (OSError, AttributeError):  # another platform's library, or another absl release
        return False
    set_min_log_level(ctypes.c_int(severity))
    return True


def start_tensorflow(first=None):
    """Import TensorFlow with its one-time native start-up behind the filter above: the import,
    the devices' discovery (cuInit) and XLA's service, which announces itself at the first
    compilation (a trivial one here, about 0.1 s). The runtime is up afterwards: a script that
    configures devices (logical CPUs, GPU memory growth) does so before calling it, and what must
    come before any operation (a multi-worker strategy) is `first`, whose result is returned.
    TensorFlow's C++ log lines stay hidden unless `choose_native_logs(verbose=True)` or the
    user's TF_CPP_MIN_LOG_LEVEL asks for them (0 shows the start-up lines too)."""
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", HIDE_NATIVE_LOGS)
    if "tensorflow" in sys.modules:  # started already; its start-up lines, if any, have been written
        apply_log_level_to_absl(level)
        return first() if first else None
    held_back = contextlib.nullcontext() if level == SHOW_NATIVE_LOGS else native_start_up_noise_filtered()
    with held_back:
        import tensorflow as tf

        apply_log_level_to_absl(level)
        tf.config.list_physical_devices()
        result = first() if first else None
        tf.function(lambda value: value + 1, jit_compile=True)(tf.constant(0.0))
    return result


def load_generator(run, epoch: int | None = None):
    """(generator, config): a run's generator as a Keras model, and the run's TrainConfig, whose
    `label_names`, `latent_dim` and `output_range` say how to call it. `run` is a run directory
    (runs/NAME) or its generator.keras; `epoch` loads that epoch's kept checkpoint instead.

    `keras.models.load_model` alone cannot read generator.keras: its layers include Ganvas's own,
    which Keras knows only once trainer.models.layers (and colorize's) are imported, as here."""
    start_tensorflow()
    from trainer.sampling import load_generator as load_run_generator

    run = Path(run)
    return load_run_generator(run.parent if run.suffix == ".keras" else run, epoch)
