"""Runs: every run at a glance; start, stop, resume and delete trainings."""

import datetime

import streamlit as st

from streamlit_app import common
from streamlit_app import runs as run_files
from trainer.config import MAX_SEED
from trainer.models import FAMILIES
from trainer.rundir import RunError, default_run_stem

root = run_files.runs_dir()
st.title("Runs")
st.caption(f"Run directories in `{root}`")
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"))


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
    stop_column, resume_column, delete_column = st.columns(3)
    try:
        starting = state["state"] == "starting"
        if stop_column.button("Stop", disabled=not live or starting, icon=":material/stop:",
                              help="a run still starting can be stopped once it is running (a few seconds)"
                              if starting else "save a checkpoint now and mark the run stopped"):
            run_files.stop_training(root, name)
            st.toast(f"Stopping {name}: it saves a checkpoint first")
        done = run_files.finished_epochs(path)
        epochs = run_files.number(state.get("epochs")) or 1
        more = resume_column.number_input("Train until epoch", min_value=max(done, 1), value=max(int(epochs), done, 1),
                                          disabled=live, key=f"resume-epochs-{name}",
                                          help=f"counts all epochs, the {done} already trained included")
        if resume_column.button("Resume", disabled=live, icon=":material/play_arrow:"):
            run_files.resume_training(root, name, more)
            st.toast(f"Resuming {name}")
            st.rerun()
        confirm = delete_column.checkbox(f"Yes, delete {name} and all its files", disabled=live,
                                         key=f"confirm-{name}")
        if delete_column.button("Delete", disabled=live or not confirm, icon=":material/delete:", type="primary"):
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


def start_form(existing):
    with st.form("start"):
        st.subheader("Start a new training")
        left, middle, right = st.columns(3)
        dataset = left.selectbox("Data set", ["mnist", "fashion_mnist", "folder"],
                                 help="folder: a folder of class subfolders, PATH/<label>/<image>")
        folder = left.text_input("Folder (for the folder data set)", placeholder="/path/to/images")
        model = left.selectbox("Model family", list(FAMILIES),
                               format_func=lambda name: f"{name}: {FAMILIES[name].description}")
        epochs = middle.number_input("Epochs", min_value=1, value=10)
        batch_size = middle.number_input("Batch size (0: the family's)", min_value=0, value=0)
        lr = middle.number_input("Learning rate (0: the family's)", min_value=0.0, value=0.0, format="%.5f",
                                 step=1e-4)
        average_decay = middle.number_input("Average G's weights, decay (0: off)", min_value=0.0, max_value=0.9999,
                                            value=0.0, format="%.4f", step=0.001,
                                            help="sample from a moving average of the generator's weights; "
                                                 "docs/recipes.md's longer recipes use 0.999")
        width = middle.number_input("Generator width (cdcgan)", min_value=1, max_value=4, value=1,
                                    help="2 doubles the generator's channels: better images, slower training")
        discriminator_width = middle.number_input("Discriminator width (cdcgan)", min_value=1, max_value=4, value=1,
                                                  help="2 doubles the discriminator's channels: slower training; "
                                                       "docs/recipes.md's synthetic-data recipes use it")
        mode_seeking = middle.number_input("Mode-seeking weight (0: off)", min_value=0.0, value=0.0, step=0.5,
                                           help="more varied samples, a better data set to train a classifier "
                                                "on; docs/recipes.md's synthetic-data recipes use 1 for MNIST "
                                                "and 0.5 for Fashion-MNIST")
        twin_head = middle.checkbox("Twin class head (cdcgan)",
                                    help="TAC-GAN: samples spread over each class as real ones do rather than "
                                         "only its easiest; with mode seeking, docs/recipes.md's synthetic-data recipe")
        d_steps = right.number_input("Discriminator steps (0: the family's)", min_value=0, value=0,
                                     help="Metropolia thesis: 5 D steps per G step")
        g_steps = right.number_input("Generator steps (0: the family's)", min_value=0, value=0,
                                     help="Sony thesis: 2 G steps per D step")
        limit = right.number_input("Images per class (0: all)", min_value=0, value=0,
                                   help="a class-balanced subset, as the Sony thesis's 10k/20k/30k phases")
        seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0)
        name = st.text_input("Run name (empty: DATASET-MODEL-N)")
        if not st.form_submit_button("Start training", type="primary", icon=":material/rocket_launch:"):
            return
    dataset_name = f"folder:{folder.strip()}" if dataset == "folder" else dataset
    if dataset == "folder" and not folder.strip():
        st.error("Name the image folder for the folder data set.")
        return
    if not name:
        stem = default_run_stem(dataset_name)
        number = 1
        while f"{stem}-{model}-{number}" in existing:
            number += 1
        name = f"{stem}-{model}-{number}"
    options = dict(dataset=dataset_name, model=model, epochs=epochs, batch_size=batch_size or None,
                   lr=lr or None, d_steps=d_steps or None, g_steps=g_steps or None,
                   limit_per_class=limit or None, seed=seed, average_decay=average_decay or None,
                   generator_width=width if width != 1 else None,
                   discriminator_width=discriminator_width if discriminator_width != 1 else None,
                   mode_seeking_weight=mode_seeking or None,
                   twin_class_head=twin_head or None)
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
