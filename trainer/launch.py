"""Starting a training: `prepare` says every no before anything is written, `run` trains.

A refused command must leave the run directory as it was (or absent), so every rule that can
refuse a training is asked in `prepare`: the ones on the options alone in `TrainConfig.check`,
the ones that need the loaded data set or the strategy's replicas in `validate_for`. `run` then
only locks, writes, trains and records how it ended. The CLI calls both; the app calls
`prepare(..., load=False)`, which needs neither TensorFlow nor the data, before it starts the CLI.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import tempfile
from typing import TYPE_CHECKING

from trainer import workers
from trainer.config import TrainConfig
from trainer.data import DataError, check_dataset, describe_balance, is_unbalanced
from trainer.judges import FEATURES_ARCH
from trainer.rundir import (RunDirectory, RunError, atomic_write, check_run_name, default_run_stem,
                            describe_write_failure, trained_classifier_dir)

if TYPE_CHECKING:
    from trainer.data import ImageDataset

# What `--resume` may be given besides the run: the run keeps every other value of its config.json.
RESUME_OPTIONS = {"epochs", "run_name", "runs_dir"}


@dataclasses.dataclass
class Plan:
    """A training that `prepare` found nothing against."""

    config: TrainConfig  # as config.json will hold it: resolved, with the data's facts once loaded
    run: RunDirectory
    resume: bool = False
    overwrite: bool = False
    found: str | None = None  # config.json as prepare read it: `run` trains only if it is still so
    chief: bool = True  # False for the other workers of a multi-worker run: they write no run directory
    dataset: ImageDataset | None = None  # the rest is None for a plan prepared with load=False
    strategy: object = None
    evaluator: object = None


def prepare(options: dict, *, resume: bool = False, overwrite: bool = False, load: bool = True) -> Plan:
    """Every refusal that can be made before anything is written, as a RunError; `options` are
    the TrainConfig fields the user set (the rest keep their defaults or the run's config.json)."""
    if resume and overwrite:
        raise RunError("--resume continues a run and --overwrite starts it again: choose one")
    try:
        config = new_config(options)
        run = RunDirectory(config.run_dir)
        found = read_text(run.config_path)
        if resume:
            config = resumed_config(options, run)
        # Only the chief writes the run; the others may find it already made by the chief.
        chief = config.strategy != "multiworker" or workers.is_chief()
        if not resume and found is not None and not overwrite and chief:
            raise RunError(f"{run.path} already exists: add --resume to continue it, --overwrite to start it "
                           f"again, or choose another --run-name")
        config.check()
        check_dataset(config.dataset)
        if config.classifier_features and not resume:  # a resumed run's checkpoints carry their copy
            trained_classifier_dir(config.dataset, FEATURES_ARCH, config.classifiers_dir, config.image_size)
    except (ValueError, DataError) as error:
        raise RunError(str(error)) from None
    plan = Plan(config, run, resume, overwrite, found, chief)
    return load_data_and_strategy(plan) if load else plan


def new_config(options: dict) -> TrainConfig:
    known = {field.name for field in TrainConfig.options()}
    unknown = sorted(set(options) - known)
    if unknown:
        raise RunError(f"unknown training option {unknown[0]!r}")
    config = TrainConfig(**options)
    if not config.run_name:
        config.run_name = f"{default_run_stem(config.dataset)}-{config.model}"
    check_run_name(config.run_name)
    return config


def read_text(path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def value_or_unset(value) -> str:
    return "it unset" if value is None else str(value)


def resumed_config(options: dict, run: RunDirectory) -> TrainConfig:
    """The run's own config.json, with the new epochs if given. Options given again with the
    values the run already has are fine: the command that started it, plus --resume."""
    if not run.exists():
        raise RunError(f"nothing to resume: {run.path} has no config.json")
    config = TrainConfig.load(run.path)
    changed = [field.name for field in TrainConfig.options()
               if field.name in options and field.name not in RESUME_OPTIONS
               and options[field.name] != getattr(config, field.name)]
    if changed:
        flags = ", ".join(f"--{name.replace('_', '-')} (the run has {value_or_unset(getattr(config, name))})"
                          for name in changed)
        raise RunError(f"{flags}: a resumed run keeps the options in its config.json; --resume changes only "
                       f"--epochs (start a new run, or this one again with --overwrite, to change the rest)")
    status = run.status()
    done = status.get("epoch")  # epochs finished, as saved in the last checkpoint
    epochs = options.get("epochs", config.epochs)
    if isinstance(done, int) and epochs < done:
        raise RunError(f"{run.path.name} has already trained {done} epochs: --epochs counts all of them, "
                       f"so give at least {done}")
    if status.get("state") == "finished" and isinstance(done, int) and epochs <= done:
        raise RunError(f"{run.path.name} has finished its {done} epochs: to train on, give more "
                       f"(--epochs counts all of them)")
    return dataclasses.replace(config, epochs=epochs)


def load_data_and_strategy(plan: Plan) -> Plan:
    """The rest of the refusals, which need the data set and TensorFlow."""
    from trainer import start_tensorflow

    def make_strategy():
        from trainer.train import make_strategy

        return make_strategy(plan.config)

    try:
        strategy = start_tensorflow(first=make_strategy)
    except Exception as error:  # TensorFlow's UnknownError, raised before the loop's own handling
        if "Could not start gRPC server" not in str(error):
            raise
        kind, index, cluster = workers.task()
        address = (cluster.get(kind) or ["?"] * (index + 1))[index]
        raise RunError(f"this worker's address {address} (TF_CONFIG's {kind} {index}) is already in use by another "
                       f"program; stop that program, or give this worker a free port in TF_CONFIG (`python -m "
                       f"trainer launch` picks free ports itself)") from None
    from trainer import data
    from trainer.models import get_family, is_image_conditioned

    config = plan.config
    if config.jit_compile is None and tf_has_gpu():
        # The families' choice is for CPUs, where XLA hurts conv nets; on a GPU it fuses their
        # element-wise work into the convolutions and helps every family.
        config = dataclasses.replace(config, jit_compile=True)
    config = config.resolve(get_family(config.model).DEFAULTS)
    try:
        dataset = data.load(config.dataset, "train", data_dir=config.data_dir, image_size=config.image_size,
                            channels=config.channels, limit_per_class=config.limit_per_class, seed=config.seed,
                            flat=is_image_conditioned(config.model))
        config = validate_for(config, dataset, strategy.num_replicas_in_sync, stored=config if plan.resume else None)
    except (ValueError, DataError) as error:
        raise RunError(str(error)) from None
    from trainer.classifier import Classifier

    if config.classifier_features and not plan.resume:  # the image shape and labels must match too
        Classifier.for_run(config, config.classifiers_dir, FEATURES_ARCH)
    evaluator = None
    if config.eval_every:  # a missing classifier is a refusal too (colorize's scores need none)
        from trainer.metrics import evaluator_for

        evaluator = evaluator_for(config, config.eval_samples, config.seed)
    return dataclasses.replace(plan, config=config, dataset=dataset, strategy=strategy, evaluator=evaluator)


def tf_has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def validate_for(config: TrainConfig, dataset: ImageDataset, replicas: int, stored: TrainConfig | None = None):
    """The resolved config with the data facts readers need, or a ValueError for a rule that
    only the data set, the replica count or (resuming) the stored run can tell."""
    from trainer.models import OUTPUT_RANGES, check_training_data, get_family, is_conditional

    config.check()  # again, with the family's defaults filled in
    check_training_data(config.model, dataset)
    if len(dataset.labels) < config.batch_size * config.d_steps:
        raise ValueError(f"{len(dataset.labels)} images are fewer than one batch "
                         f"({config.batch_size} x {config.d_steps} D steps); lower --batch-size")
    if config.batch_size % replicas:
        raise ValueError(f"--batch-size {config.batch_size} must divide evenly over {replicas} replicas")
    if config.mode_seeking_weight and config.batch_size // replicas < 2:  # pairs live within a replica
        raise ValueError(f"--mode-seeking-weight needs pairs of samples on each of the {replicas} replicas: "
                         f"a --batch-size of at least {2 * replicas}")
    balance = config.balance_classes
    if balance is None:  # the default: even labels where the data set is far from them
        balance = is_conditional(config.model) and is_unbalanced(dataset)
    recorded = dataclasses.replace(
        config, image_shape=list(dataset.image_shape), label_names=list(dataset.label_names),
        output_range=list(OUTPUT_RANGES[get_family(config.model).OUTPUT_ACTIVATION]), balance_classes=balance)
    for name in ("label_names", "image_shape"):  # the checkpoint's layers were built for the old data
        if stored is not None and getattr(stored, name) is not None and getattr(recorded, name) != getattr(stored, name):
            raise ValueError(f"{config.dataset} now has {name.replace('_', ' ')} {getattr(recorded, name)}, but "
                             f"{config.run_name} was trained with {getattr(stored, name)}; restore the data set, "
                             f"or start a new run")
    return recorded


def run(plan: Plan, log=print) -> None:
    """Lock the run, write its config.json, train, and record how it ended in status.json.
    TrainingStopped and TrainingFailed (trainer/train.py) pass on, once recorded. A worker other
    than the chief trains into a scratch folder of its own, removed at the end."""
    from trainer.train import GANTrainer, TrainingFailed, TrainingStopped

    config = plan.config
    directory = plan.run if plan.chief else RunDirectory(tempfile.mkdtemp(prefix=f"ganvas-{config.run_name}-worker-"))
    directory.lock()
    directory.sweep_temporaries()
    ours = False  # whether a failure is this run's to record: not before its config.json is (re)written
    trainer = None
    # Ctrl-C or SIGTERM before the training loop takes the signals over (the models being built,
    # the checkpoint restored) is kept for the loop, which then saves and stops: as an exception
    # it could land anywhere, even in a garbage-collector callback that swallows it.
    requested = []
    previous_handlers = {sig: signal.signal(sig, lambda *_: requested.append(True))
                         for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if plan.chief and not plan.overwrite and read_text(directory.config_path) != plan.found:
            # Two trainings started together into one new name: the one that locked second
            # found the other's run where there had been none.
            raise RunError(f"{directory.path} was started by another training while this one was preparing; "
                           f"leave it to that one, or choose another --run-name")
        if plan.overwrite:
            for entry in directory.path.iterdir():
                if entry.name != ".lock":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        atomic_write(directory.config_path, config.to_json())
        ours = True
        role = "" if plan.chief else f"worker {workers.task()[1]}, beside the chief, which writes {plan.run.path}: "
        log(f"{role}training {config.model} on {config.dataset} ({len(plan.dataset.labels)} images "
            f"{'x'.join(map(str, config.image_shape))}) into {directory.path}")
        if config.balance_classes or is_unbalanced(plan.dataset):
            log(describe_balance(plan.dataset, config.balance_classes))
        trainer = GANTrainer(config, plan.dataset, directory, log=log, evaluator=plan.evaluator if plan.chief else None,
                             strategy=plan.strategy, source=plan.run)
        if plan.resume:
            trainer.restore()
        trainer.fit(stop_requested=bool(requested))
    except TrainingStopped:
        directory.write_status("stopped", trainer.epoch, config.epochs)
        raise
    except TrainingFailed as failure:
        directory.write_status("failed", trainer.epoch, config.epochs, error=str(failure))
        raise
    except RunError:  # a refusal found only now (every checkpoint damaged): the run is as it was
        raise
    except BaseException as error:
        if not ours or not directory.exists():  # a run that --overwrite would have replaced is left as it was
            raise
        done = trainer.state.saved_epochs() if trainer is not None else finished_epochs(directory)
        failure = describe_failure(error, config, directory, done)
        message = failure or f"{type(error).__name__}: {error}"
        try:
            directory.write_status("failed", done, config.epochs, error=message)
        except OSError:
            if failure is None:
                raise
            message += " (status.json could not say so either)"
        if failure is None:
            raise
        raise TrainingFailed(message) from None
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
        directory.unlock()
        if not plan.chief:
            shutil.rmtree(directory.path, ignore_errors=True)


def describe_failure(error: BaseException, config: TrainConfig, directory: RunDirectory, done: int) -> str | None:
    """One line for what stopped a training that is no bug of its: a disk that took no more, or
    (with several workers) a worker that stopped answering. None for anything else."""
    kept = f"the last complete checkpoint (epoch {done}) is kept"
    failure = describe_write_failure(error, directory.path)
    if failure:
        return f"{failure}; {kept}: make room, then continue with --resume"
    if config.strategy == "multiworker" and type(error).__name__ in LOST_WORKER_ERRORS:
        return (f"another worker stopped answering ({type(error).__name__}; a worker waits at most "
                f"--worker-timeout {config.worker_timeout} s); {kept}: start every worker again with --resume")
    return None


# What TensorFlow's collectives raise when a peer is gone: its socket closed, its health check
# failed, or the exchange outlasted CommunicationOptions' timeout.
LOST_WORKER_ERRORS = ("UnavailableError", "DeadlineExceededError", "CancelledError", "AbortedError")


def finished_epochs(directory: RunDirectory) -> int:
    epoch = directory.status().get("epoch", 0)
    return epoch if isinstance(epoch, int) else 0

