"""What every page shares: the run picker, ages, and the one cached generator loader.

TensorFlow is imported only inside `cached_generator`, so the pages that only read files
(Runs, Training, Classifier) never load it.
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


def grid_rows(config) -> str:
    """What the rows of a run's fixed-noise grid show (`trainer.sampling.grid_inputs`): a label
    each, or for an unconditional model ten draws of noise."""
    family = FAMILIES.get(config.model) if config else None
    if family is None or not config.label_names:
        return "One row per label."
    if not family.conditional:
        return f"{config.model} is unconditional: ten rows of noise, no labels."
    return label_rows(config.label_names)


def pick_run(rows: list[dict], label: str = "Run") -> str | None:
    """A select box of runs that every page shares: the choice lives in the session and in the
    URL (`?run=NAME`), so a link opens a page on a run."""
    names = [row["name"] for row in rows]
    if not names:
        st.info("There are no runs yet. Start one on the Runs page, or from a terminal with "
                "`python -m trainer train`.")
        return None
    wanted = st.session_state.get("run") or st.query_params.get("run")
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
