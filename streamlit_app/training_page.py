"""Training: both networks learning, live while the run trains (the Metropolia thesis's web view).

Reads only steps.jsonl (a point every 100 iterations or so), history.jsonl (one per epoch),
status.json and samples/; refreshes itself every two seconds while the run is training and not
at all otherwise. Runs from before steps.jsonl draw their curves from history.jsonl.
"""

import pandas as pd
import streamlit as st

from streamlit_app import common
from streamlit_app import runs as run_files
from trainer.images import animated_gif
from trainer.rundir import RunDirectory

CURVES = ("d_loss", "g_loss", "d_real", "d_fake")
# What `--eval-every` adds to the history: the classifier's verdict, or a colorizer's scores
# against the true colours (trainer/metrics.py).
EVALUATED = ("label_accuracy", "frechet_distance", "psnr", "ssim", "colourfulness")
# The x axes: epochs start at 1; iterations at 0, so that the first epoch is drawn whole.
BY_EPOCH = dict(field="epoch", title="epoch", zero=False)
BY_STEP = dict(field="step", title="iteration (dashed: where each epoch ended)", zero=True)
LABELLED_EPOCHS = 20  # more epoch lines than this go unnumbered, or the numbers run into each other

st.title("Training")
name = common.pick_run(run_files.list_runs(run_files.runs_dir()))
if name is None:
    st.stop()
path = common.open_run(name)
if path is None:
    st.stop()
live = run_files.run_state(path)["state"] in common.LIVE_STATES


def header(state, history, config):
    epoch = max(0, run_files.number(state.get("epoch")) or len(history))
    epochs = max(0, run_files.number(state.get("epochs")) or (config.epochs if config else 0))
    title = f"{common.STATE_ICONS.get(state['state'], '')} **{state['state']}**"
    if config:
        title += f" · {config.model} on {config.dataset}"
    of = f" of {epochs}" if epochs else ""  # a run still starting has not said how many yet
    st.markdown(f"{title} · epoch {epoch}{of} · updated {common.age(state.get('updated'))}")
    if epochs:
        remaining = ""
        if state["state"] == "running" and history:
            seconds = sum(run_files.number(record.get("seconds")) or 0 for record in history[-5:]) / len(history[-5:])
            remaining = f" · about {seconds * (epochs - epoch) / 60:.1f} min left"
        st.progress(min(epoch / epochs, 1.0), text=f"{epoch}/{epochs} epochs{remaining}")
    common.show_state(state)


def readable(records, keys) -> list[dict]:
    """The records that hold a number for each of `keys`: others (another version, a hand edit)
    are left out."""
    return [record for record in records if isinstance(record, dict)
            and all(run_files.number(record.get(key)) is not None for key in keys)]


def epoch_ends(steps, history) -> dict[int, int]:
    """The iteration at which each finished epoch ended: its last step record's."""
    finished = {record["epoch"] for record in history}
    ends = {}
    for record in steps:
        if record["epoch"] in finished:
            ends[record["epoch"]] = max(record["step"], ends.get(record["epoch"], 0))
    return ends


def chart(container, frame, columns, title, height=300, x=BY_EPOCH, ends=None):
    """A Vega-Lite chart of some columns against the epoch, or against the iteration with a
    dashed line where each epoch ended. Written as a spec rather than st.line_chart, which
    reshapes the data in Python and took most of this page's time."""
    layers = [{
        "mark": {"type": "line", "point": len(frame) < 30, "tooltip": True},
        "transform": [{"fold": columns, "as": ["series", "value"]}],
        "encoding": {
            "x": {"field": x["field"], "type": "quantitative", "axis": {"tickMinStep": 1, "title": x["title"]},
                  "scale": {"zero": x["zero"]}},
            "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "top"}},
        },
    }]
    if ends:
        layers += epoch_marks(ends)
    if title:
        container.markdown(title)
    numbers = frame[[x["field"], *columns]].apply(pd.to_numeric, errors="coerce").dropna()
    container.vega_lite_chart(numbers, {"layer": layers}, width="stretch", height=height)


def epoch_marks(ends: dict[int, int]) -> list[dict]:
    """Layers of a dashed rule at the iteration where each epoch ended, numbered while few."""
    data = {"values": [dict(step=step, epoch=epoch) for epoch, step in ends.items()]}
    where = {"x": {"field": "step", "type": "quantitative"}}
    rules = {"data": data, "mark": {"type": "rule", "strokeDash": [4, 4], "opacity": 0.4},
             "encoding": {**where, "tooltip": [{"field": "epoch", "title": "end of epoch"}]}}
    if len(ends) > LABELLED_EPOCHS:
        return [rules]
    numbers = {"data": data, "mark": {"type": "text", "align": "right", "baseline": "top", "dx": -3, "dy": 3,
                                      "opacity": 0.6},
               "encoding": {**where, "y": {"value": 0}, "text": {"field": "epoch"}}}
    return [rules, numbers]


def metrics(history):
    """The last epoch's figures, and how they moved since the epoch before."""
    last = history[-1]
    for column, (key, label) in zip(st.columns(4), [("d_loss", "D loss"), ("g_loss", "G loss"),
                                                    ("d_real", "D(x)"), ("d_fake", "D(G(z))")]):
        previous = history[-2][key] if len(history) > 1 else None
        column.metric(label, f"{last[key]:.3f}", None if previous is None else f"{last[key] - previous:+.3f}",
                      delta_color="off")


def charts(history, steps):
    """The curves: from the step records, a point every 100 iterations or so; without any (a
    run from before them), a point per epoch from the history."""
    if history:
        metrics(history)
    frame = pd.DataFrame(history)
    if steps:
        curves = dict(frame=pd.DataFrame(steps), x=BY_STEP, ends=epoch_ends(steps, history))
    else:
        curves = dict(frame=frame, x=BY_EPOCH)
    left, right = st.columns(2)
    chart(left, columns=["d_loss", "g_loss"], title="**Losses**", **curves)
    chart(right, columns=["d_real", "d_fake"],
          title="**Discriminator outputs:** D(x) on real, D(G(z)) on generated images", **curves)
    if steps:
        chart(left, columns=["images_per_second"], title="**Images per second**", height=240, **curves)
    elif "seconds" in frame:
        chart(left, frame, ["seconds"], "**Seconds per epoch**", height=240)
    evaluated = [key for key in EVALUATED if key in frame]
    if evaluated:
        right.markdown("**Scores** (with `--eval-every`)")
        for key in evaluated:
            chart(right, frame, [key], "", height=200)
    else:
        right.caption("Scores (label accuracy and Fréchet distance; a colorizer's PSNR, SSIM and colourfulness) "
                      "appear here when the run trains with `--eval-every K`; `ganvas eval` scores the final "
                      "generator (Classifier page).")


def samples(path, name, config):
    files = RunDirectory(path).sample_paths()
    if not files:
        st.info("The first sample grid appears when the first epoch ends.")
        return
    epochs = list(files)
    key, latest_key = f"sample-epoch-{name}", f"sample-latest-{name}"
    # Follow the newest grid as it arrives, unless the user moved the slider back.
    if st.session_state.get(key) not in files or st.session_state.get(key) == st.session_state.get(latest_key):
        st.session_state[key] = epochs[-1]
    st.session_state[latest_key] = epochs[-1]
    left, right = st.columns([2, 1])
    with right:
        colorizer = config is not None and common.is_colorizer(config.model)
        st.markdown("**Samples**: the same training images each epoch" if colorizer
                    else "**Samples**: fixed noise, the same in each column")
        st.caption(common.grid_rows(config))
        epoch = epochs[0]
        if len(epochs) > 1:
            epoch = st.select_slider("Epoch", options=epochs, key=key)
        st.download_button("Download the evolution (GIF)", data=lambda: animated_gif(list(files.values())),
                           file_name=f"{name}.gif", mime="image/gif", icon=":material/animated_images:")
    try:
        left.image(files[epoch].read_bytes(), caption=f"epoch {epoch}", width=420, output_format="PNG")
    except FileNotFoundError:
        left.warning(f"The grid of epoch {epoch} was removed.")


@st.fragment(run_every=common.REFRESH_SECONDS if live else None)
def view():
    if not path.is_dir():
        st.warning(f"The run {name} is gone (deleted while you were looking at it).")
        return
    state = run_files.run_state(path)
    config = run_files.load_config(path)
    run = RunDirectory(path)
    history = readable(run.history(), ("epoch", *CURVES))
    steps = readable(run.step_records(), ("step", "epoch", *CURVES, "images_per_second"))
    if config is None and state["state"] != "starting":  # a training writes it once TensorFlow is up
        st.warning("This run's config.json is missing or unreadable (an older version?): showing what is there.")
    header(state, history, config)
    if history or steps:
        charts(history, steps)
    elif state["state"] in common.LIVE_STATES:
        st.info("Waiting for the training's first figures…")
    else:
        st.info("This run has no finished epoch in its history.")
    samples(path, name, config)
    if live and state["state"] not in common.LIVE_STATES:
        st.rerun(scope="app")  # training ended: show the final state and stop refreshing


view()
