"""Classifier: how good the judge (the LeNet, or the DFN chosen on top) is, and its verdict on a
run's generator.

Reads classifiers/<dataset>-<arch>/info.json and the run's metrics.json (`trainer eval`) and
tstr.json (`trainer tstr`); the buttons run those commands as background processes, with the
judge chosen (`--classifier-arch`), so this page never loads TensorFlow itself. A colorize run
has no labels to judge: its metrics.json compares its colours with the true ones, beside the grey
image's and a baseline run's, and the judge gives only its Fréchet distance.
"""

import shlex

import altair as alt
import pandas as pd
import streamlit as st

from streamlit_app import access, common
from streamlit_app import runs as run_files
from trainer.judges import ARCHITECTURES, DEFAULT_ARCH, NAMES, parse_sizes
from trainer.models import FAMILIES
from trainer.rundir import (CLASSIFIER_INFO_FILE, RunDirectory, RunError, classifier_dir, classifier_train_command,
                            read_json)

st.title("Classifier")
root = run_files.runs_dir()
name = common.pick_run([row for row in run_files.list_runs(root) if row["model"] != "?"])
path = common.open_run(name) if name else None
if path is None:
    st.stop()
config = run_files.load_config(path)
if config is None or not config.label_names:
    st.warning("This run's config.json is missing, unreadable or from before training started.")
    st.stop()
colorizer = common.is_colorizer(config.model)
may_act = access.notice()  # read-only for others on a shared app
arch = st.selectbox("Judge", ARCHITECTURES, format_func=lambda choice: NAMES[choice],
                    help="the data set's classifier that this page shows and scores with, and the one `tstr` "
                         "trains on each set (`--classifier-arch`); train it with `ganvas classifier train --arch`")


def judge_name(report: dict) -> str:
    """The judge a report names; one written before the choice existed was the LeNet's."""
    written = str(report.get("classifier_arch") or report.get("arch") or DEFAULT_ARCH)
    return NAMES.get(written, written)


def classifier_section() -> bool:
    """The classifier's own figures; False when there is none for the run's data set."""
    root, size = run_files.classifiers_dir(), (config.image_shape or [None])[0]
    directory = classifier_dir(config.dataset, arch, root, size)
    info = read_json(directory / CLASSIFIER_INFO_FILE, default=None)
    st.subheader("The judge")
    if not isinstance(info, dict) or "test_accuracy" not in info:
        command = classifier_train_command(config.dataset, arch, root, size)
        if (directory / CLASSIFIER_INFO_FILE).exists():
            # Not "no classifier yet": the file is there and damaged (cut short, not JSON, another
            # shape); it is left as it is, and training the classifier again rewrites it.
            st.warning(f"`{directory / CLASSIFIER_INFO_FILE}` is damaged (not a classifier's info); train the "
                       f"classifier again with `{shlex.join(command)}`.")
            return False
        # Quoted, as the command is pasted into a shell and a folder's path may hold spaces.
        needed = " Only the Fréchet distance needs it: the other scores compare with the true colours."
        st.info(f"No {NAMES[arch]} for {config.dataset} in `{directory}` yet; train one with `{shlex.join(command)}`."
                + (needed if colorizer else ""))
        return False
    left, right = st.columns([1, 2])
    left.metric("Test accuracy", common.figure(info["test_accuracy"], ".2%"))
    left.caption(f"{info.get('arch', DEFAULT_ARCH)} trained on {info.get('train_images', '?')} {config.dataset} "
                 f"images for {info.get('epochs', '?')} epochs")
    # Only the records of a list: another shape (a hand edit) would stop the page in pandas.
    records = info.get("history") if isinstance(info.get("history"), list) else []
    history = pd.DataFrame([record for record in records if isinstance(record, dict)])
    if {"epoch", "accuracy"} <= set(history):
        curves = [key for key in ("accuracy", "test_accuracy") if key in history]
        right.line_chart(history.set_index("epoch")[curves], x_label="epoch", y_label="accuracy", height=220)
    return True


def heatmap(matrix, labels):
    cells = pd.DataFrame([dict(requested=labels[row], predicted=labels[column], count=value)
                          for row, values in enumerate(matrix) for column, value in enumerate(values)])
    order = list(labels)
    base = alt.Chart(cells).encode(x=alt.X("predicted:N", sort=order, title="classifier's answer"),
                                   y=alt.Y("requested:N", sort=order, title="label asked for"))
    squares = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues", type="sqrt")),
                                      tooltip=["requested", "predicted", "count"])
    numbers = base.mark_text(fontSize=10).encode(text="count:Q")
    return (squares + numbers).properties(height=360)


def job_panel(job: str, button: str, arguments: list[str], problem: str | None = None):
    """The button that starts a background `trainer <job>`, and its progress while it runs;
    `problem` says why the job cannot run as asked, and disables the button."""
    state = run_files.job_state(path, job)

    @st.fragment(run_every=common.REFRESH_SECONDS if state["state"] == "running" else None)
    def progress():
        current = run_files.job_state(path, job)
        if current["state"] == "running":
            st.info(f"`ganvas {job}` is running (process {current['pid']})…")
            log = run_files.log_tail(RunDirectory(path).job_log_path(job), 5)
            if log:
                st.code(log, language=None)
        elif current["state"] == "failed":
            st.error(f"`ganvas {job}` failed: {run_files.error_line(current['log'])}")
            with st.expander("Its log (last lines)"):
                st.code(current["log"], language=None)
        if state["state"] == "running" and current["state"] != "running":
            st.rerun(scope="app")  # done: show the new results

    if problem:
        st.warning(problem)
    if st.button(button, disabled=not may_act or state["state"] == "running" or bool(problem), key=f"start-{job}"):
        try:
            access.require()
            run_files.start_job(root, name, job, arguments)
        except RunError as error:
            st.error(str(error))
        else:
            st.rerun()
    progress()


def verdict_section(have_classifier: bool):
    st.subheader(f"Its verdict on {name}")
    metrics = read_json(RunDirectory(path).job_report_path("eval"), default=None)
    samples = st.number_input("Samples to score", min_value=100, max_value=50000, value=10000, step=1000)
    job_panel("eval", "Score the generator now", ["--n", int(samples), "--classifier-arch", arch],
              None if have_classifier else "Scoring needs the classifier above: train it first.")
    if not isinstance(metrics, dict) or "frechet_distance" not in metrics:
        st.info("Not scored yet: press the button (about ten seconds for 10,000 samples)." if have_classifier
                else "Not scored yet.")  # the warning above says what the button needs
        return
    columns = st.columns(4)
    if "label_accuracy" in metrics:
        columns[0].metric("Label accuracy", common.figure(metrics["label_accuracy"], ".2%"))
    columns[1].metric("Fréchet distance", common.figure(metrics["frechet_distance"], ".2f"),
                      help="in the classifier's feature space; the floor is real training vs real test images")
    columns[1].caption(f"floor {common.figure(metrics.get('frechet_distance_floor'), '.2f')}")
    columns[2].metric("Diversity", common.figure(metrics.get("diversity_mean"), ".3f"),
                      help="mean pairwise feature distance of samples per class, relative to real "
                           "images (1: as varied)")
    columns[3].metric("Mode coverage", common.figure(metrics.get("mode_coverage"), ".0%"))
    st.caption(f"epoch {metrics.get('epoch', '?')}, {metrics.get('n', '?')} samples, judged by the "
               f"{judge_name(metrics)}")
    left, right = st.columns(2)
    per_class = metrics.get("per_class_accuracy")
    if per_class:
        left.markdown("**Accuracy per label**")
        left.bar_chart(by_label(per_class, "accuracy"), horizontal=True, sort=False, height=260)
    if metrics.get("diversity"):
        right.markdown("**Diversity per label** (1 = as varied as real images)")
        right.bar_chart(by_label(metrics["diversity"], "diversity"), horizontal=True, sort=False, height=260)
    left, right = st.columns(2)
    scored_samples(left, run_files.number(metrics.get("epoch")))
    if metrics.get("confusion_matrix"):
        right.markdown("**Confusion matrix**: rows are the labels asked for, columns the classifier's answers")
        right.altair_chart(heatmap(metrics["confusion_matrix"], config.label_names), width="stretch")


def by_label(values: list, name: str) -> pd.DataFrame:
    """A figure per label, indexed by the labels' names in the data set's order (by number when
    the file has another count of them)."""
    names = config.label_names if len(values) == len(config.label_names) else range(len(values))
    return pd.DataFrame({name: values}, index=pd.Index(names, name="label"))


def scored_samples(container, epoch):
    """The run's fixed-noise grid of the epoch scored, in its colours, rows named: what the
    figures are about."""
    if not isinstance(epoch, int):
        return
    try:
        picture = RunDirectory(path).sample_path(epoch).read_bytes()
    except FileNotFoundError:  # an older run's, or removed since
        return
    drawn = "the same training images" if colorizer else "fixed noise"
    container.markdown(f"**Its samples at epoch {epoch}** ({drawn}, as on the Training page)")
    container.image(picture, caption=common.grid_rows(config), width="stretch", output_format="PNG")


def synthetic_section():
    st.subheader("Train on synthetic, test on real")
    st.caption(f"{NAMES[arch]}s trained on real, synthetic and mixed sets of each size, all tested on the real "
               f"test set (Sony thesis, Table 5.7, with LeNets). A small gap between real and synthetic means the "
               f"samples carry what a classifier needs.")
    left, middle, right, far_right = st.columns(4)
    sizes = left.text_input("Training set sizes", "10000", help="comma separated, e.g. 30000,60000")
    epochs = middle.number_input(f"{NAMES[arch]} epochs per set", min_value=1, max_value=50, value=5,
                                 help="as `ganvas tstr --epochs` (default 5, as in docs/recipes.md's tables)")
    scale = right.number_input("Noise scale", min_value=0.0, max_value=3.0, value=1.0, step=0.1,
                               help="as `ganvas tstr --noise-scale`: above 1 draws more varied synthetic images")
    hardest_of = far_right.number_input(
        "Hardest of", min_value=1, max_value=10, value=1, disabled=not config.class_loss_weight,
        help="as `ganvas tstr --hardest-of`: draw this many times the images and keep those the run's "
             "discriminator finds hardest to name; needs a run trained with a class head")
    sizes = sizes.replace(" ", "")
    problem = None
    if config.model in FAMILIES and not FAMILIES[config.model].conditional:
        conditional = ", ".join(family.name for family in FAMILIES.values() if family.conditional)
        problem = (f"{config.model} is unconditional: its images have no labels to train a classifier on; "
                   f"use a conditional run ({conditional}).")
    else:
        try:
            parse_sizes(sizes)  # as `trainer tstr` reads them
        except ValueError as error:
            problem = f"Training set sizes: {error}."
    options = ["--sizes", sizes, "--epochs", int(epochs), "--noise-scale", scale, "--classifier-arch", arch]
    if config.class_loss_weight and hardest_of > 1:
        options += ["--hardest-of", int(hardest_of)]
    job_panel("tstr", "Run it", options, problem)
    table = read_json(RunDirectory(path).job_report_path("tstr"), default=None)
    if not isinstance(table, dict) or not table.get("results"):
        st.info("Not run yet for this run.")
        return
    results = pd.DataFrame([{key: result.get(key) for key in ("name", "kind", "size", "train_images", "test_accuracy")}
                            for result in table["results"]])
    st.dataframe(results, hide_index=True, column_config={
        "test_accuracy": st.column_config.NumberColumn("real test accuracy", format="percent")})
    gaps = table.get("gap_real_minus_synthetic")
    for size, gap in (gaps.items() if isinstance(gaps, dict) else ()):
        st.markdown(f"Gap real − synthetic at {size}: **{common.figure(run_files.number(gap) and 100 * gap, '.2f')} points**")
    if run_files.number(table.get("noise_scale")) not in (None, 1.0):
        st.caption(f"The synthetic images were drawn with noise × {table['noise_scale']:g} (`--noise-scale`).")
    if (run_files.number(table.get("hardest_of")) or 1) > 1:
        st.caption(f"The synthetic images are the hardest of {table['hardest_of']} times as many draws "
                   f"(`--hardest-of {table['hardest_of']}`).")
    curves = pd.DataFrame({result["name"]: {record["epoch"]: record.get("test_accuracy")
                                             for record in result.get("history") or []}
                           for result in table["results"]})
    if not curves.empty:
        st.markdown(f"**Real test accuracy per {judge_name(table)} epoch**")
        st.line_chart(curves, x_label="epoch", y_label="accuracy")


def colour_section(have_classifier: bool):
    """A colorizer's scores from `trainer eval` on the test images: PSNR, SSIM, colourfulness and
    (with a classifier) the Fréchet distance, beside the same figures of its baselines."""
    st.subheader(f"{name} against the true colours")
    left, right = st.columns(2)
    count = left.number_input("Test images to score", min_value=1, max_value=50000, value=10000, step=1000,
                              help="as `ganvas eval --n`: at most the data set's test images")
    baselines = baseline_runs()
    baseline = right.selectbox("Baseline run", [None, *baselines], format_func=lambda item: item or "none",
                               index=1 if baselines else 0,
                               help="as `ganvas eval --baseline-run`: another colorize run of the same images, "
                                    "best the L1-only one (`--adversarial-weight 0`)")
    arguments = ["--n", int(count), "--classifier-arch", arch]
    if baseline:
        arguments += ["--baseline-run", run_files.run_path(root, baseline)]
    job_panel("eval", "Score the generator now", arguments)
    metrics = read_json(RunDirectory(path).job_report_path("eval"), default=None)
    if not isinstance(metrics, dict) or "psnr" not in metrics:
        st.info("Not scored yet: press the button.")
        return
    columns = st.columns(4)
    columns[0].metric("PSNR", f"{common.figure(metrics['psnr'], '.2f')} dB", help="against the true colours")
    columns[1].metric("SSIM", common.figure(metrics.get("ssim"), ".3f"), help="against the true colours")
    columns[2].metric("Colourfulness", common.figure(metrics.get("colourfulness"), ".2f"),
                      help="Hasler & Süsstrunk's colourfulness, as a fraction of the real images' (1: as colourful)")
    if "frechet_distance" in metrics:
        columns[3].metric("Fréchet distance", common.figure(metrics["frechet_distance"], ".2f"),
                          help="in the classifier's feature space; the floor is real training vs real test images")
        columns[3].caption(f"floor {common.figure(metrics.get('frechet_distance_floor'), '.2f')}")
    elif not have_classifier:
        columns[3].caption("No Fréchet distance: there is no classifier (above).")
    st.caption(f"epoch {metrics.get('epoch', '?')}, {metrics.get('n', '?')} test images, whose colourfulness is "
               f"{common.figure(metrics.get('real_colourfulness'), '.1f')} (Hasler & Süsstrunk's M)")
    st.markdown("**Beside its baselines**: the grey image itself, and the baseline run chosen when it was scored")
    st.dataframe(score_table(metrics), column_config={
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
        "SSIM": st.column_config.NumberColumn(format="%.3f"),
        "colourfulness": st.column_config.NumberColumn(format="%.3f"),
        "Fréchet distance": st.column_config.NumberColumn(format="%.2f")})
    scored_samples(st.columns(2)[0], run_files.number(metrics.get("epoch")))


def baseline_runs() -> list[str]:
    """The other colorize runs that colour the same images (data set and size), L1-only first."""
    candidates = []
    for row in run_files.list_runs(root):
        other = run_files.load_config(root / row["name"]) if row["name"] != name else None
        if other and common.is_colorizer(other.model) and (other.dataset, other.image_shape) == (
                config.dataset, config.image_shape):
            candidates.append((other.adversarial_weight != 0, row["name"]))
    return [candidate for _, candidate in sorted(candidates)]


def score_table(metrics: dict) -> pd.DataFrame:
    """The run's scores and its baselines', a row each (a figure a row lacks is left empty)."""
    columns = {"psnr": "PSNR (dB)", "ssim": "SSIM", "colourfulness": "colourfulness",
               "frechet_distance": "Fréchet distance"}
    baselines = metrics.get("baselines") if isinstance(metrics.get("baselines"), dict) else {}
    rows = {"this run": metrics, **{title: row for title, row in baselines.items() if isinstance(row, dict)}}
    table = pd.DataFrame([{label: run_files.number(row.get(key)) for key, label in columns.items()}
                          for row in rows.values()], index=pd.Index(list(rows), name="colorizer"))
    return table.dropna(axis="columns", how="all")


if colorizer:  # no labels: no label accuracy, and no synthetic training set to learn them from
    colour_section(classifier_section())
else:
    verdict_section(classifier_section())
    synthetic_section()
