"""Runs: every run at a glance; start, stop, resume and delete trainings."""

import datetime

import streamlit as st

from streamlit_app import access, common
from streamlit_app import runs as run_files
from trainer.config import RANGES, TrainConfig, choices
from trainer.data import BUILTIN_DATASETS
from trainer.models import FAMILIES, FAMILY_OPTIONS
from trainer.rundir import RunError, default_run_stem

root = run_files.runs_dir()
st.title("Runs")
st.caption(f"Run directories in `{root}`")
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"))
may_act = access.notice()  # read-only for others on a shared app


def table(rows):
    return [dict(row, progress=(row["epoch"] or 0) / row["epochs"] if row["epochs"] else 0.0,
                 updated=datetime.datetime.fromtimestamp(row["updated"]) if row["updated"] else None,
                 label_accuracy=100 * row["label_accuracy"] if row["label_accuracy"] is not None else None)
            for row in rows]


def actions(rows):
    """Stop, resume or delete the chosen run; what is offered depends on its state."""
    name = common.pick_run(rows)
    path = common.open_run(name)
    if path is None:
        return
    state = run_files.run_state(path)
    common.show_state(state)
    live = state["state"] in common.LIVE_STATES
    locked = not may_act
    stop_column, resume_column, delete_column = st.columns(3)
    try:
        starting = state["state"] == "starting"
        if stop_column.button("Stop", disabled=locked or not live or starting, icon=":material/stop:",
                              help="a run still starting can be stopped once it is running (a few seconds)"
                              if starting else "save a checkpoint now and mark the run stopped"):
            access.require()
            run_files.stop_training(root, name)
            st.toast(f"Stopping {name}: it saves a checkpoint first")
        done = run_files.finished_epochs(path)
        epochs = run_files.number(state.get("epochs")) or 1
        more = resume_column.number_input("Train until epoch", min_value=max(done, 1), value=max(int(epochs), done, 1),
                                          disabled=live, key=f"resume-epochs-{name}",
                                          help=f"counts all epochs, the {done} already trained included")
        if resume_column.button("Resume", disabled=locked or live, icon=":material/play_arrow:"):
            access.require()
            run_files.resume_training(root, name, more)
            st.toast(f"Resuming {name}")
            st.rerun()
        confirm = delete_column.checkbox(f"Yes, delete {name} and all its files", disabled=locked or live,
                                         key=f"confirm-{name}")
        if delete_column.button("Delete", disabled=locked or live or not confirm, icon=":material/delete:",
                                type="primary"):
            access.require()
            run_files.delete_run(root, name)
            st.session_state.pop("run", None)
            st.query_params.pop("run", None)  # or the next run warns that the deleted run cannot be shown
            st.toast(f"Deleted {name}")
            st.rerun()
    except RunError as error:  # the run changed since the page was drawn
        st.error(str(error))
    log = run_files.log_tail(path / run_files.TRAINING_LOG)
    if log:
        with st.expander("Training log (last lines)"):
            st.code(log, language=None)


def option_input(column, field):
    """The form's input for one TrainConfig option, made from its metadata, so that a new option
    appears here as it does in `--help`. An empty input leaves the option unset."""
    name, label, help_text = field.name, field.metadata["label"], field.metadata["help"]
    having = [family.name for family in FAMILIES.values() if name in family.options]
    if name in FAMILY_OPTIONS:
        label += f" ({', '.join(having)})"
    kind = str(field.type).split(" ")[0]
    listed = choices(name)
    if kind == "bool" and field.default is None:
        listed = (True, False)
    if listed:
        values = ([None] if field.default is None else []) + list(listed)
        return column.selectbox(label, values, index=values.index(field.default), help=help_text,
                                format_func=lambda value: describe_choice(name, value))
    if kind == "bool":
        return column.checkbox(label, value=field.default, help=help_text)
    if kind in ("int", "float"):
        number = int if kind == "int" else float
        low, high = RANGES.get(name, (0, None))
        return column.number_input(label, min_value=number(low), max_value=None if high is None else number(high),
                                   value=field.default, step=number(1) if kind == "int" else None,
                                   format=None if kind == "int" else "%g", placeholder=field.metadata["unset"],
                                   help=help_text)
    return column.text_input(label, value=field.default or "", placeholder=field.metadata["unset"], help=help_text)


def describe_choice(name, value):
    if value is None:
        return "the family's"
    if name == "model":
        return f"{value}: {FAMILIES[value].description}"
    return {True: "yes", False: "no"}.get(value, str(value))


def start_form(existing):
    fields = [field for field in TrainConfig.options() if field.metadata["app"] and field.name != "dataset"]
    with st.form("start"):
        st.subheader("Start a new training")
        columns = st.columns(3)
        dataset = columns[0].selectbox("Data set", [*BUILTIN_DATASETS, "folder"],
                                       help="folder: a folder of class subfolders, PATH/<label>/<image>")
        folder = columns[0].text_input("Folder (for the folder data set)", placeholder="/path/to/images")
        basic = [field for field in fields if field.metadata["basic"]]
        options = {field.name: option_input(columns[(index + 1) % 3], field) for index, field in enumerate(basic)}
        with st.expander("More options"):
            more = st.columns(3)
            rest = [field for field in fields if not field.metadata["basic"]]
            options.update({field.name: option_input(more[index % 3], field) for index, field in enumerate(rest)})
        name = st.text_input("Run name (empty: DATASET-MODEL-N)")
        if not st.form_submit_button("Start training", type="primary", icon=":material/rocket_launch:",
                                     disabled=not may_act):
            return
    if dataset == "folder" and not folder.strip():
        st.error("Name the image folder for the folder data set.")
        return
    try:
        access.require()
        # Shared, the paths typed here must lie in the owner's data root.
        options["dataset"] = f"folder:{access.confine(folder.strip())}" if dataset == "folder" else dataset
        if options.get("data_dir"):
            options["data_dir"] = access.confine(options["data_dir"], "data directory")
    except RunError as error:
        st.error(str(error))
        return
    if not name:
        stem = default_run_stem(options["dataset"])
        number = 1
        while f"{stem}-{options['model']}-{number}" in existing:
            number += 1
        name = f"{stem}-{options['model']}-{number}"
    try:
        pid = run_files.start_training(root, name, options)
    except RunError as error:
        st.error(str(error))
        return
    st.session_state["run"] = name
    st.session_state["flash"] = f"Started {name} (process {pid}); it appears above within seconds."
    st.rerun()  # the table refreshes itself only while something trains


rows = run_files.list_runs(root)
any_live = any(row["state"] in common.LIVE_STATES for row in rows)


@st.fragment(run_every=common.REFRESH_SECONDS if any_live else None)
def overview():
    rows = run_files.list_runs(root)
    if rows:
        st.dataframe(
            table(rows), hide_index=True, width="stretch",
            column_order=("name", "dataset", "model", "state", "progress", "epoch", "epochs", "updated",
                          "label_accuracy"),
            column_config={
                "dataset": st.column_config.TextColumn("data set", help="a folder by its own name; its path is on "
                                                                        "the Training page"),
                "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                "updated": st.column_config.DatetimeColumn("last update", format="YYYY-MM-DD HH:mm:ss"),
                "label_accuracy": st.column_config.NumberColumn("label accuracy", format="%.1f %%"),
            })
        actions(rows)
    else:
        st.info("No runs yet: start one below.")
    if any_live and not any(row["state"] in common.LIVE_STATES for row in rows):
        st.rerun(scope="app")  # nothing is training any more: stop refreshing


overview()
start_form({row["name"] for row in rows})
