"""The app on colour runs: label names, every built-in data set and folders, and the live curves."""

import json
import shutil

import pytest

from app_pages import fake_run, open_page, shown_image, texts  # noqa: F401 (shown_image: a fixture)
from conftest import train
from streamlit_app import runs as run_files
from trainer.rundir import RunDirectory


GROUPS = ("People & Body", "Smileys & Emotion", "Travel & Places")  # emoji groups: long, with spaces and '&'


@pytest.fixture(scope="module")
def colour_root(tmp_path_factory):
    """A cdcgan run on a folder of RGB shapes whose labels are named as emoji groups: two epochs of
    three iterations, with a step record after each iteration."""
    from conftest import draw_shapes_folder
    from trainer.recorder import StepLog

    base = tmp_path_factory.mktemp("colour")
    folder = draw_shapes_folder(base / "images" / "groups", per_class=12, size=32)
    for shape, group in zip(("circle", "square", "triangle"), GROUPS):
        (folder / shape).rename(folder / group)
    root = base / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StepLog, "every", 1)
        train(root, "--dataset", f"folder:{folder}", "--model", "cdcgan", "--image-size", "32", "--batch-size", "12",
              "--steps-per-call", "1", "--epochs", "2", run_name="colour")
        patch.setenv("GANVAS_RUNS_DIR", str(root))
        patch.setenv("GANVAS_CLASSIFIERS_DIR", str(base / "classifiers"))
        yield root


def assert_colour(picture, rows, size=32):
    """An RGB grid of `rows` rows of `size`-pixel cells whose channels differ: not drawn in grey."""
    import numpy as np

    pixels = np.asarray(picture)
    assert picture.mode == "RGB" and pixels.shape[0] == rows * (size + 2) + 2, (picture.mode, pixels.shape)
    assert np.abs(pixels[..., 0].astype(int) - pixels[..., 1]).max() > 10


def chart_data(chart):
    """The table a chart draws: the data given with its spec, or st.bar_chart's one named data set."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    proto = chart.proto
    return convert_arrow_bytes_to_pandas_df(proto.data.data if proto.HasField("data") else proto.datasets[0].data.data)


def test_generate_page_draws_a_colour_run_in_colour_with_its_label_names(colour_root, shown_image):
    app = open_page("generate_page.py", "colour", timeout=120)
    samples = app.get("image")[0]
    assert "20 samples of “People & Body”" in samples.proto.imgs[0].caption
    assert_colour(shown_image(samples), rows=2)
    next(box for box in app.selectbox if box.label == "Label").set_value("Travel & Places").run()
    assert "“Travel & Places”" in app.get("image")[0].proto.imgs[0].caption
    app.radio[0].set_value("between two seeds").run()
    morph = app.get("image")[1]
    assert not app.exception
    assert morph.proto.imgs[0].caption.endswith("Rows, top to bottom: People & Body · Smileys & Emotion · Travel & Places")
    assert_colour(shown_image(morph), rows=3)


def test_classifier_page_names_a_colour_runs_labels_and_shows_its_grid(colour_root, shown_image):
    from PIL import Image

    path = colour_root / "colour"
    (path / "metrics.json").write_text(json.dumps(dict(
        epoch=2, n=300, frechet_distance=12.5, frechet_distance_floor=1.5, label_accuracy=0.5,
        per_class_accuracy=[0.9, 0.5, 0.1], diversity=[1.0, 0.8, 0.6], diversity_mean=0.8, mode_coverage=1.0,
        confusion_matrix=[[90, 5, 5], [40, 50, 10], [45, 45, 10]])))
    try:
        app = open_page("classifier_page.py", "colour")
    finally:
        (path / "metrics.json").unlink()
    # The judge it lacks is one for 32-pixel images of the folder (64 is a folder's own size).
    folder = path.parent.parent / "images" / "groups"
    assert f"classifier train --dataset folder:{folder} --image-size 32`" in texts(app, "info")
    accuracy, diversity, confusion = app.get("vega_lite_chart")
    for chart, key, values in ((accuracy, "accuracy", [0.9, 0.5, 0.1]), (diversity, "diversity", [1.0, 0.8, 0.6])):
        frame = chart_data(chart)
        assert list(frame["label"]) == list(GROUPS) and list(frame[key]) == values
        assert json.loads(chart.proto.spec)["encoding"]["y"]["sort"] is None  # drawn in the data set's order
    assert set(chart_data(confusion)["requested"]) == set(GROUPS)
    grid = app.get("image")[0]
    assert grid.proto.imgs[0].caption == "Rows, top to bottom: People & Body · Smileys & Emotion · Travel & Places"
    assert_colour(shown_image(grid), rows=3)
    assert shown_image(grid).tobytes() == Image.open(path / "samples" / "epoch_0002.png").tobytes()  # the epoch scored


def losses_chart(app):
    chart = app.get("vega_lite_chart")[0]  # the first: losses
    return json.loads(chart.proto.spec)["layer"], chart_data(chart)


def test_training_page_draws_a_point_per_step_record_and_marks_the_epochs(colour_root):
    app = open_page("training_page.py", "colour")
    layers, frame = losses_chart(app)
    assert layers[0]["encoding"]["x"]["field"] == "step"
    assert list(frame["step"]) == [1, 2, 3, 4, 5, 6]  # six records over two epochs of three iterations
    ends = [value["step"] for value in layers[1]["data"]["values"]]
    assert ends == [3, 6] and layers[1]["mark"]["type"] == "rule"  # where epochs 1 and 2 ended
    assert "Rows, top to bottom: People & Body · Smileys & Emotion · Travel & Places" in texts(app, "caption")


def test_training_page_falls_back_to_the_history_and_draws_steps_before_the_first_epoch_ends(colour_root):
    older = shutil.copytree(colour_root / "colour", colour_root / "older")  # as written before step records
    (older / "steps.jsonl").unlink()
    young = shutil.copytree(colour_root / "colour", colour_root / "young")  # stopped in its first epoch
    (young / "history.jsonl").unlink()
    records = (young / "steps.jsonl").read_text().splitlines()
    (young / "steps.jsonl").write_text("\n".join(records[:2]) + "\n" + records[2][:30])  # cut by a kill -9
    RunDirectory(young).write_status("stopped", 0, 2)
    try:
        layers, frame = losses_chart(open_page("training_page.py", "older"))
        assert layers[0]["encoding"]["x"]["field"] == "epoch" and list(frame["epoch"]) == [1, 2]
        app = open_page("training_page.py", "young")
        layers, frame = losses_chart(app)
        assert list(frame["step"]) == [1, 2] and len(layers) == 1  # no epoch has ended
        assert not app.metric and "no finished epoch" not in texts(app, "info")
    finally:
        shutil.rmtree(older)
        shutil.rmtree(young)


def test_the_runs_table_shows_emoji_folder_and_unconditional_runs(tmp_path, monkeypatch):
    emoji_names = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
                   "Activities", "Objects", "Symbols", "Flags")
    deep = "/data/" + "/".join(f"a-rather-long-folder-name-{index}" for index in range(12)) + "/my emoji"
    fake_run(tmp_path, "emoji-cdcgan", "emoji", "cdcgan", emoji_names)
    fake_run(tmp_path, "deep", f"folder:{deep}", "cdcgan", GROUPS, epochs=4, done=1)
    fake_run(tmp_path, "plain", f"folder:{deep}/", "dcgan", GROUPS)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path))
    app = open_page("runs_page.py")
    table = app.dataframe[0].value.set_index("name")
    assert table.loc["emoji-cdcgan", "dataset"] == "emoji"
    assert table.loc["deep", "dataset"] == table.loc["plain", "dataset"] == "folder:my emoji"  # not its path
    assert table.loc["deep", "state"] == "stopped" and table.loc["deep", "progress"] == 0.25
    assert table.loc["plain", "model"] == "dcgan" and table.loc["plain", "state"] == "finished"
    for name in ("emoji-cdcgan", "deep", "plain"):
        app = open_page("training_page.py", name)  # asserts that no exception reached the page
        assert f"on {dict(deep=f'folder:{deep}', plain=f'folder:{deep}/').get(name, 'emoji')}" in texts(app, "markdown")
    assert "dcgan is unconditional" in texts(open_page("classifier_page.py", "plain"), "warning")


def test_the_start_form_offers_every_built_in_data_set_and_folders(tmp_path, monkeypatch):
    from trainer import data
    from trainer.__main__ import build_parser, config_from_args

    started = []
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: started.append(command) or 999_999_999)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "my emoji").mkdir()
    app = open_page("runs_page.py")
    offered = next(box for box in app.selectbox if box.label == "Data set").options
    assert offered == [*data.BUILTIN_DATASETS, "folder"] and {"mnist", "fashion_mnist", "emoji"} <= set(offered)
    for dataset in offered:
        app = open_page("runs_page.py")
        next(box for box in app.selectbox if box.label == "Data set").set_value(dataset)
        if dataset == "folder":
            next(box for box in app.text_input if box.label.startswith("Folder")).input(str(tmp_path / "my emoji"))
        next(box for box in app.text_input if box.label.startswith("Run name")).input(f"on-{dataset}")
        next(button for button in app.button if button.label == "Start training").click().run()
        assert not app.exception and f"Started on-{dataset}" in texts(app, "success")
    expected = [*data.BUILTIN_DATASETS, f"folder:{tmp_path / 'my emoji'}"]
    assert len(started) == len(expected)
    for command, dataset in zip(started, expected):
        assert command[1:4] == ["-m", "trainer", "train"]
        config = config_from_args(build_parser().parse_args(command[3:]))
        assert config.dataset == dataset and config.model == "cdcgan" and config.run_dir.parent == tmp_path / "runs"
        assert command[4:] == config.to_argv()  # the trainer reads back the options it was given, no more
