"""What every page shares: the run picker, ages, and the one cached generator loader.

TensorFlow is imported only inside `cached_generator` and `pick_generator`, so the pages that
only read files (Runs, Training, Classifier) never load it.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from streamlit_app import runs as run_files
from trainer import start_tensorflow
from trainer.models import FAMILIES
from trainer.rundir import RunError

# Material icons, which Streamlit draws with its own font: emoji need fonts many machines lack.
STATE_ICONS = {"running": ":material/play_circle:", "starting": ":material/hourglass_top:",
               "finished": ":material/check_circle:", "stopped": ":material/pause_circle:",
               "failed": ":material/error:", "interrupted": ":material/warning:", "unknown": ":material/help:"}
LIVE_STATES = ("running", "starting")
REFRESH_SECONDS = 2.0


def age(timestamp) -> str:
    if not isinstance(timestamp, (int, float)):
        return "—"
    seconds = max(0, time.time() - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def figure(value, spec: str) -> str:
    """A number read from a run's files, formatted; a dash when the file holds something else."""
    return format(value, spec) if run_files.number(value) is not None else "—"


def label_rows(labels) -> str:
    """A caption naming the label of each row of a grid, top to bottom. A caption rather than
    names drawn beside the rows: they can be long ("People & Body") and in any script, and the
    PNG a user downloads stays the grid itself."""
    return "Rows, top to bottom: " + " · ".join(map(str, labels))


def is_colorizer(model) -> bool:
    """Whether runs of this family colour grey photos (`--model colorize`) rather than draw from
    noise: they have no labels to sample, and their own page, Colorize."""
    family = FAMILIES.get(model)
    return family is not None and family.image_conditioned


def grid_rows(config) -> str:
    """What the rows of a run's grid show (`trainer.sampling.grid_inputs`): a label each, for an
    unconditional model ten draws of noise, for a colorizer a training image each."""
    family = FAMILIES.get(config.model) if config else None
    if family is not None and family.image_conditioned:
        return "Each row is a training image: grey | generated | original."
    if family is None or not config.label_names:
        return "One row per label."
    if not family.conditional:
        return f"{config.model} is unconditional: ten rows of noise, no labels."
    return label_rows(config.label_names)


def pick_run(rows: list[dict], label: str = "Run", unlisted: dict[str, str] | None = None,
             none_yet: str | None = None) -> str | None:
    """A select box of runs that every page shares: the choice lives in the session and in the
    URL (`?run=NAME`), so a link opens a page on a run. `unlisted`: runs this page leaves out on
    purpose, with why (said instead of "cannot be shown"); `none_yet`: what to say when no run is
    offered."""
    names = [row["name"] for row in rows]
    wanted = st.session_state.get("run") or st.query_params.get("run")
    if wanted in (unlisted or {}):
        st.info(f"{wanted} is not listed on this page: {unlisted[wanted]}.")
        wanted = None
    if not names:
        st.info(none_yet or "There are no runs yet. Start one on the Runs page, or from a terminal with "
                            "`ganvas train`.")
        return None
    if wanted and wanted not in names:
        st.warning(f"The run {wanted} cannot be shown on this page (no such run, or its config.json is "
                   f"missing or unreadable); showing {names[0]}.")
    index = names.index(wanted) if wanted in names else 0
    states = {row["name"]: row["state"] for row in rows}
    name = st.selectbox(label, names, index=index, format_func=lambda name: f"{name} ({states[name]})")
    st.session_state["run"] = name
    st.query_params["run"] = name
    return name


def open_run(name: str) -> Path | None:
    """The run's directory, or None after saying why it cannot be shown."""
    try:
        path = run_files.run_path(run_files.runs_dir(), name)
    except RunError as error:
        st.error(str(error))
        return None
    if not path.is_dir():
        st.warning(f"The run {name} is gone (deleted while you were looking at it).")
        return None
    return path


def show_state(state: dict) -> None:
    if state.get("state") in ("failed", "interrupted", "unknown") and state.get("error"):
        message = st.error if state["state"] == "failed" else st.warning
        message(f"**{state['state']}**: {state['error']}")


@st.cache_resource(max_entries=4, show_spinner="Loading the generator…")
def cached_generator(path: str, epoch: int | None, stamp: float):
    """(generator, config), loaded once per run, epoch and file version (`stamp` changes when
    the run writes a newer generator, so the cache never serves a stale one)."""
    start_tensorflow()
    from trainer.sampling import load_generator

    return load_generator(path, epoch)


def pick_generator(path: Path):
    """(generator, config, epoch) of the run's final generator or one of its kept checkpoints, as
    the user picks in a select box (`epoch` None for the final one); stops the page, saying why,
    when there is none or it cannot be loaded. Loads TensorFlow."""
    start_tensorflow()
    import tensorflow as tf

    from trainer.rundir import RunDirectory
    from trainer.sampling import checkpoint_epochs

    run = RunDirectory(path)
    try:
        epochs = sorted(checkpoint_epochs(run), reverse=True)
    except (OSError, ValueError, tf.errors.OpError):
        epochs = []
    choices = (["final"] if run.generator_path.exists() else []) + epochs
    if not choices:
        st.info("This run has no generator yet: one appears when its first epoch ends.")
        st.stop()
    choice = st.selectbox("Generator", choices, format_func=lambda item: "final generator" if item == "final"
                          else f"checkpoint of epoch {item}")
    epoch = None if choice == "final" else choice
    stamped = run.generator_path if epoch is None else run.checkpoints_dir / "checkpoint"
    try:
        generator, config = cached_generator(str(path), epoch, stamped.stat().st_mtime)
    except (RunError, OSError, ValueError, tf.errors.OpError) as error:
        st.error(f"Cannot load this generator: {error}")
        st.stop()
    return generator, config, epoch
