"""The Streamlit app, page by page, against real small runs made by the trainer: finished,
running, failed, one with a cut-off history.jsonl and one from an "older version"; and damaged
files, each named in one line."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import APP, fake_run, open_page, texts
from conftest import ROOT, train, wait_for
from streamlit_app import runs as run_files
from trainer.__main__ import main as trainer
from trainer.rundir import RunDirectory, RunError


SMALL = ("--dataset", "mnist", "--model", "cgan", "--limit-per-class", "30", "--batch-size", "50")


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory, classifiers):
    root = tmp_path_factory.mktemp("app") / "runs"
    finished = train(root, *SMALL, "--epochs", "2", run_name="finished")
    assert trainer(["eval", "--run", str(finished), "--n", "500", "--classifiers-dir", str(classifiers)]) == 0
    assert trainer(["tstr", "--run", str(finished), "--sizes", "200", "--epochs", "1", "--noise-scale", "1.5"]) == 0

    failed = train(root, *SMALL, "--epochs", "1", run_name="failed")
    config = json.loads((failed / "config.json").read_text())
    config["lr"] = 1e30  # overflows at once: the trainer stops with a NaN loss
    (failed / "config.json").write_text(json.dumps(config))
    train(root, "--run-name", "failed", "--epochs", "2", "--resume", expect=1)

    truncated = shutil.copytree(finished, root / "truncated")
    text = (truncated / "history.jsonl").read_text()
    (truncated / "history.jsonl").write_text(text[:len(text) - 20])  # the last line cut short

    old = root / "old"  # an older version's run: fewer fields, no status, records without some keys
    old.mkdir()
    (old / "config.json").write_text(json.dumps(dict(dataset="mnist", model="cgan", epochs=3, retired_option=1)))
    (old / "history.jsonl").write_text('{"epoch": 1, "d_loss": 1.2}\n')

    # About a second an epoch, so that it stays running without filling the disk with grids.
    running = run_files.start_training(root, "running", dict(
        dataset="mnist", model="cgan", limit_per_class=2000, batch_size=50, epochs=100000))
    wait_for(lambda: RunDirectory(root / "running").history(), what="the running run's first epoch")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANVAS_RUNS_DIR", str(root))
        patch.setenv("GANVAS_CLASSIFIERS_DIR", str(classifiers))
        yield root
    os.kill(running, signal.SIGKILL)


def test_runs_page_lists_every_run_with_its_real_state(runs_root):
    app = open_page("runs_page.py")
    table = app.dataframe[0].value.set_index("name")
    assert table.loc["finished", "state"] == "finished" and table.loc["finished", "epoch"] == 2
    assert table.loc["finished", "label_accuracy"] > 0  # from metrics.json, as a percentage
    assert table.loc["running", "state"] == "running"
    assert table.loc["failed", "state"] == "failed"
    assert table.loc["truncated", "state"] == "finished"
    assert table.loc["old", "state"] == "unknown"


@pytest.mark.parametrize("run", ["finished", "running", "failed", "truncated", "old"])
def test_training_page_shows_every_kind_of_run(runs_root, run):
    app = open_page("training_page.py", run)
    charts, images = app.get("vega_lite_chart"), app.get("image")
    if run == "old":
        assert "older version" in texts(app, "warning") and "no finished epoch" in texts(app, "info")
        assert not images
        return
    assert len(charts) >= 3 and len(images) == 1  # losses, D outputs, epoch time; the latest grid
    if run == "failed":
        assert "non-finite loss in epoch 2" in texts(app, "error")
    if run in ("finished", "truncated"):
        # The cut line is skipped, not fatal: the truncated copy shows one epoch fewer.
        slider = app.get("select_slider")
        assert slider and slider[0].value == 2
        d_loss = next(metric for metric in app.metric if metric.label == "D loss")
        assert (not d_loss.delta) == (run == "truncated")  # a change needs two epochs


def test_training_page_scrubs_through_the_grids(runs_root):
    app = open_page("training_page.py", "finished")
    app.get("select_slider")[0].set_value(1).run()
    assert not app.exception
    assert app.get("image")[0].proto.imgs[0].caption == "epoch 1"


def test_the_evolution_gif_has_a_frame_per_epoch(runs_root):
    import io

    from PIL import Image

    from trainer.images import animated_gif

    grids = sorted((runs_root / "finished" / "samples").glob("epoch_*.png"))
    gif = Image.open(io.BytesIO(animated_gif(grids)))
    assert gif.format == "GIF" and gif.n_frames == len(grids) == 2
    assert gif.size == Image.open(grids[0]).size


def test_generate_page_draws_samples_and_morphs(runs_root):
    app = open_page("generate_page.py", "finished", timeout=120)
    assert len(app.get("image")) == 2  # the samples tab and the interpolation tab
    assert "20 samples of “0”" in app.get("image")[0].proto.imgs[0].caption
    label = next(box for box in app.selectbox if box.label == "Label")
    label.set_value("7").run()
    assert "“7”" in app.get("image")[0].proto.imgs[0].caption
    next(slider for slider in app.slider if slider.label == "Noise scale").set_value(0.5).run()
    assert "seed 0, noise × 0.5" in app.get("image")[0].proto.imgs[0].caption
    app.radio[0].set_value("between two seeds").run()
    assert not app.exception and "seed 0 → seed 1" in app.get("image")[1].proto.imgs[0].caption
    assert len(app.get("download_button")) == 4


def test_generate_page_loads_checkpoints_of_a_running_run(runs_root):
    app = open_page("generate_page.py", "running", timeout=120)
    generator = next(box for box in app.selectbox if box.label == "Generator")
    assert all(isinstance(option, str) and option.startswith("checkpoint") for option in generator.options)
    assert len(app.get("image")) == 2


def test_classifier_page_shows_the_verdict_and_the_synthetic_table(runs_root):
    app = open_page("classifier_page.py", "finished")
    labels = {metric.label for metric in app.metric}
    assert {"Test accuracy", "Label accuracy", "Fréchet distance", "Diversity"} <= labels
    assert app.dataframe[0].value["name"].tolist() == ["real_200", "synthetic_200", "real_200_synthetic_200"]
    assert "Gap real − synthetic at 200" in texts(app, "markdown")
    assert "noise × 1.5" in texts(app, "caption")
    hardest_of = next(box for box in app.number_input if box.label == "Hardest of")
    assert hardest_of.disabled  # a cgan has no class head to choose with


def test_classifier_page_buttons_refuse_what_would_fail(runs_root, tmp_path, monkeypatch):
    app = open_page("classifier_page.py", "finished")
    next(box for box in app.text_input if box.label == "Training set sizes").input("0,100").run()
    assert "whole numbers above 0" in texts(app, "warning")
    assert next(button for button in app.button if button.label == "Run it").disabled
    monkeypatch.setenv("GANVAS_CLASSIFIERS_DIR", str(tmp_path))  # no classifier there
    app = open_page("classifier_page.py", "finished")
    assert "train it first" in texts(app, "warning")
    assert next(button for button in app.button if button.label == "Score the generator now").disabled


def test_classifier_page_button_scores_a_run(runs_root):
    app = open_page("classifier_page.py", "truncated")
    (runs_root / "truncated" / "metrics.json").unlink(missing_ok=True)
    app.run()
    assert "Not scored yet" in texts(app, "info")
    app.number_input[0].set_value(300)
    next(button for button in app.button if button.label == "Score the generator now").click().run()
    wait_for(lambda: run_files.job_state(runs_root / "truncated", "eval")["state"] != "running", what="eval")
    assert run_files.job_state(runs_root / "truncated", "eval")["state"] == "finished"
    app.run()
    assert "Label accuracy" in {metric.label for metric in app.metric}


def test_deleted_run_and_bad_names_never_crash_a_page(runs_root):
    shutil.copytree(runs_root / "finished", runs_root / "doomed")
    for page in ("training_page.py", "generate_page.py", "classifier_page.py"):
        app = open_page(page, "doomed", timeout=120)
        shutil.rmtree(runs_root / "doomed", ignore_errors=True)
        app.run()  # the run is gone: the page says so and falls back to another run
        assert not app.exception and "The run doomed cannot be shown" in texts(app, "warning")
        shutil.copytree(runs_root / "finished", runs_root / "doomed", dirs_exist_ok=True)
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["run"] = "../../etc"
    app.run()
    assert not app.exception


@pytest.mark.parametrize("name", ["../finished", "/etc", "a/b", ".hidden", "", "..", "escape"])
def test_run_names_cannot_leave_the_runs_directory(runs_root, tmp_path, name):
    (runs_root / "escape").unlink(missing_ok=True)
    (runs_root / "escape").symlink_to(tmp_path)  # a link out of the runs directory
    with pytest.raises(RunError):
        run_files.delete_run(runs_root, name)
    with pytest.raises(RunError):
        run_files.start_training(runs_root, name, {})
    assert tmp_path.exists() and (runs_root / "finished").exists()
    (runs_root / "escape").unlink()


def test_pages_that_only_read_files_do_not_import_tensorflow(runs_root):
    script = (f"import sys; from streamlit.testing.v1 import AppTest\n"
              f"app = AppTest.from_file({APP!r}, default_timeout=60)\n"
              f"app.session_state['run'] = 'finished'; app.run()\n"
              f"for page in ('training_page.py', 'classifier_page.py'):\n"
              f"    app.switch_page(page).run(); assert not app.exception, app.exception\n"
              f"print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]


def start_from_the_form(name, model, numbers, checks=()):
    """Fill the Runs page's start form (a family, number fields and checkboxes by label) and submit it."""
    app = open_page("runs_page.py")
    next(box for box in app.selectbox if box.label == "Model family").set_value(model)
    boxes = {box.label: box for box in app.number_input}
    for label, value in numbers.items():
        boxes[label].set_value(value)
    for label in checks:
        next(box for box in app.checkbox if box.label == label).check()
    next(box for box in app.text_input if box.label.startswith("Run name")).input(name)
    next(button for button in app.button if button.label == "Start training").click().run()
    assert not app.exception and f"Started {name}" in texts(app, "success")


def test_start_stop_resume_and_delete_from_the_runs_page(runs_root):
    start_from_the_form("started", "cgan", {"Epochs": 100000, "Batch size": 50,
                                            "Images per class": 2000})
    path = runs_root / "started"
    pid = json.loads((path / run_files.LAUNCH_FILE).read_text())["pid"]
    assert run_files.process_alive(pid)
    wait_for(lambda: run_files.run_state(path)["state"] == "running" and RunDirectory(path).history(),
             what="the new training's first epoch")

    app = open_page("runs_page.py", "started")
    next(button for button in app.button if button.label == "Stop").click().run()
    wait_for(lambda: run_files.run_state(path)["state"] == "stopped", what="the stop")
    wait_for(lambda: not run_files.process_alive(pid), what="the process to end")

    app = open_page("runs_page.py", "started")
    epoch = run_files.run_state(path)["epoch"]
    next(button for button in app.button if button.label == "Resume").click().run()
    resumed = json.loads((path / run_files.LAUNCH_FILE).read_text())["pid"]
    assert resumed != pid and run_files.run_state(path)["state"] in ("starting", "running")
    wait_for(lambda: run_files.run_state(path).get("epoch", 0) > epoch, what="the resumed training to go on")
    os.kill(resumed, signal.SIGKILL)  # as a crash would: the app must notice the process is gone
    wait_for(lambda: run_files.run_state(path)["state"] == "interrupted", what="the crash to show")

    app = open_page("runs_page.py", "started")
    assert "interrupted" in texts(app, "warning")
    app.checkbox(key="confirm-started").check().run()
    next(button for button in app.button if button.label == "Delete").click().run()
    assert not app.exception and not path.exists()


def test_the_start_form_offers_the_longer_recipes_options(runs_root):
    start_from_the_form("wide", "cdcgan", {"Epochs": 1, "Images per class": 20,
                                           "Average G's weights, decay": 0.999,
                                           "Generator width (cdcgan)": 2, "Discriminator width (cdcgan)": 2,
                                           "Mode-seeking weight": 1.0},
                        checks=["Twin class head (cdcgan)"])
    path = runs_root / "wide"
    wait_for(lambda: run_files.run_state(path)["state"] == "finished", what="the one-epoch training")
    config = json.loads((path / "config.json").read_text())
    assert config["model"] == "cdcgan" and config["generator_width"] == 2 and config["average_decay"] == 0.999
    assert config["mode_seeking_weight"] == 1.0 and config["twin_class_head"] is True
    assert config["discriminator_width"] == 2


def test_the_app_renders_charts_and_grids_in_chromium(runs_root):
    from browser import browser, streamlit_app

    environment = {"GANVAS_RUNS_DIR": str(runs_root), "GANVAS_CLASSIFIERS_DIR": os.environ["GANVAS_CLASSIFIERS_DIR"]}
    with streamlit_app(environment) as address, browser() as chromium:
        page = chromium.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{address}/training?run=finished")
        page.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg',
                               timeout=60000)
        image = page.wait_for_selector('[data-testid="stImage"] img', timeout=60000)
        page.wait_for_function("image => image.complete && image.naturalWidth > 100", arg=image, timeout=30000)
        assert "finished" in page.inner_text('[data-testid="stMain"]')
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3
        assert not errors, errors


def test_odd_status_files_do_not_break_the_runs_table(runs_root):
    odd = shutil.copytree(runs_root / "finished", runs_root / "odd")
    (odd / "status.json").write_text(json.dumps(dict(state="finished", epoch="two", epochs=None,
                                                     updated="2024-01-01T00:00:00")))
    (odd / "metrics.json").write_text("[1, 2")  # cut short
    # Valid JSON with figures that are null or text (a hand edit, another version).
    odder = shutil.copytree(runs_root / "finished", runs_root / "odder")
    (odder / "status.json").write_text(json.dumps(dict(state="finished", epoch=-1, epochs=2)))
    with open(odder / "history.jsonl", "a") as history:
        history.write(json.dumps(dict(epoch=3, d_loss=None, g_loss="x", d_real=0.5, d_fake=0.5, seconds="y")) + "\n")
    metrics = json.loads((odder / "metrics.json").read_text())
    (odder / "metrics.json").write_text(json.dumps({**metrics, "frechet_distance": None, "label_accuracy": "high"}))
    table = json.loads((odder / "tstr.json").read_text())
    (odder / "tstr.json").write_text(json.dumps({**table, "gap_real_minus_synthetic": {"200": None},
                                                 "hardest_of": None, "noise_scale": "1.5"}))
    try:
        app = open_page("runs_page.py")
        table = app.dataframe[0].value.set_index("name")
        assert table.loc["odd", "state"] == "finished"
        for name in ("odd", "odder"):
            for page in ("training_page.py", "classifier_page.py"):
                open_page(page, name)  # asserts that no exception reached the page
    finally:
        shutil.rmtree(odd)
        shutil.rmtree(odder)


def test_the_runs_page_refuses_what_cannot_work_before_starting_anything(runs_root, tmp_path):
    for options, message in ((dict(model="cgan", generator_width=2), "--generator-width is not an option of cgan"),
                             (dict(model="gan", twin_class_head=True), "--twin-class-head is not an option of gan"),
                             (dict(dataset=f"folder:{tmp_path / 'none'}"), "does not exist"),
                             (dict(classifier_features=True, classifiers_dir=str(tmp_path / "none")),
                              "no lenet classifier for mnist .* train one with")):
        with pytest.raises(RunError, match=message):
            run_files.start_training(runs_root, "refused", dict(options, epochs=1))
        assert not (runs_root / "refused").exists()
    with pytest.raises(RunError, match="has already trained 2 epochs"):
        run_files.resume_training(runs_root, "finished", 1)
    app = open_page("runs_page.py", "finished")
    assert app.number_input(key="resume-epochs-finished").min == 2


def test_two_tabs_starting_one_name_at_once_get_a_message_not_a_traceback(tmp_path, monkeypatch):
    from trainer.config import TrainConfig

    root = tmp_path / "runs"
    root.mkdir()
    check = TrainConfig.check

    def other_tab_starts_first(config):  # between the name's check and the directory's creation
        (root / "twice").mkdir(exist_ok=True)
        check(config)

    monkeypatch.setattr(TrainConfig, "check", other_tab_starts_first)
    with pytest.raises(RunError, match="a run named 'twice' already exists"):
        run_files.start_training(root, "twice", dict(epochs=1))


def test_a_training_still_starting_cannot_be_stopped(runs_root, tmp_path):
    """Until the trainer says it is running it has no SIGTERM handler, and a stop would leave
    nothing to resume. A process that stays in that phase stands in for a trainer importing
    TensorFlow (it carries "trainer" in its command line, as the app's liveness check wants)."""
    root = tmp_path / "runs"
    (root / "young").mkdir(parents=True)
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "trainer"])
    try:
        (root / "young" / run_files.LAUNCH_FILE).write_text(json.dumps(dict(pid=stand_in.pid, started=1.0)))
        # Until the child has exec'd, its command line is still this process's.
        wait_for(lambda: run_files.process_alive(stand_in.pid), what="the stand-in to start")
        assert run_files.run_state(root / "young")["state"] == "starting"
        with pytest.raises(RunError, match="still starting"):
            run_files.stop_training(root, "young")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("GANVAS_RUNS_DIR", str(root))
            app = open_page("runs_page.py", "young")
        assert next(button for button in app.button if button.label == "Stop").disabled
    finally:
        stand_in.kill()
        stand_in.wait()


def test_a_training_that_died_starting_shows_its_error_line(tmp_path):
    path = tmp_path / "runs" / "early"
    path.mkdir(parents=True)
    # A pid above Linux's largest (2**22): a process that has ended.
    (path / run_files.LAUNCH_FILE).write_text(json.dumps(dict(pid=999_999_999, started=1.0)))
    (path / run_files.TRAINING_LOG).write_text(
        "E0000 Unable to register cuFFT factory\nWARNING: All log messages before absl::InitializeLog()\n"
        "error: folder data set /nowhere does not exist\nW0000 noise after it\n")
    state = run_files.run_state(path)
    assert state["state"] == "failed"
    assert state["error"] == "the training ended before its first epoch: error: folder data set /nowhere does not exist"


def test_a_run_name_too_long_for_the_file_system_is_refused(tmp_path):
    # Past NAME_MAX the file system raised an OSError, and the Runs page showed its traceback.
    with pytest.raises(RunError, match="at most 255 characters"):
        run_files.start_training(tmp_path, "x" * 300, dict(epochs=1))
    assert not any(tmp_path.iterdir())
    run_files.run_path(tmp_path, "x" * 255).mkdir()  # the longest name the file system takes


def test_the_default_name_of_a_folder_run_is_a_valid_run_name(tmp_path, monkeypatch):
    # The name came from the folder as it was, and "my shapes" was refused as a run name the
    # user had never typed.
    folder = tmp_path / "my shapes ñ"
    folder.mkdir()
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: 999_999_999)  # no training
    app = open_page("runs_page.py")
    next(box for box in app.selectbox if box.label == "Data set").set_value("folder")
    next(box for box in app.text_input if box.label.startswith("Folder")).input(f"{folder}/")
    next(button for button in app.button if button.label == "Start training").click().run()
    assert not app.exception and "Started my-shapes-cdcgan-1" in texts(app, "success")
    assert (tmp_path / "runs" / "my-shapes-cdcgan-1").is_dir()


def test_the_training_page_of_a_run_still_starting_does_not_call_it_an_older_version(tmp_path, monkeypatch):
    # A training writes config.json only once TensorFlow is up; until then the page warned that
    # the new run's config.json was "missing or unreadable (an older version?)".
    (tmp_path / "young").mkdir()
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "trainer"])
    try:
        (tmp_path / "young" / run_files.LAUNCH_FILE).write_text(json.dumps(dict(pid=stand_in.pid, started=1.0)))
        wait_for(lambda: run_files.process_alive(stand_in.pid), what="the stand-in to start")
        monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path))
        app = open_page("training_page.py", "young")
        assert "starting" in texts(app, "markdown") and "Waiting for the training's first figures" in texts(app, "info")
        assert "older version" not in texts(app, "warning") and "epoch 0 of 0" not in texts(app, "markdown")
    finally:
        stand_in.kill()
        stand_in.wait()


def test_a_run_is_not_deleted_under_a_running_job(tmp_path):
    # The job wrote its output into a new directory of the same name after the delete: a run
    # that no page listed, whose name a new training was refused ("already exists").
    (tmp_path / "scored").mkdir()
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "trainer"])
    try:
        (tmp_path / "scored" / "eval.job.json").write_text(json.dumps(dict(pid=stand_in.pid, started=1.0)))
        wait_for(lambda: run_files.process_alive(stand_in.pid), what="the stand-in to start")
        with pytest.raises(RunError, match="`ganvas eval` is running on scored"):
            run_files.delete_run(tmp_path, "scored")
        assert (tmp_path / "scored").is_dir()
    finally:
        stand_in.kill()
        stand_in.wait()
    run_files.delete_run(tmp_path, "scored")  # once the job has ended
    assert not (tmp_path / "scored").exists()


def test_deleting_a_run_does_not_warn_that_it_cannot_be_shown(tmp_path, monkeypatch):
    # The URL still named the deleted run, so the page answered a successful delete with
    # "The run ... cannot be shown on this page".
    for name in ("kept", "doomed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps(dict(dataset="mnist", model="cgan", epochs=1)))
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path))
    app = open_page("runs_page.py", "doomed")
    app.checkbox(key="confirm-doomed").check().run()
    next(button for button in app.button if button.label == "Delete").click().run()
    assert not app.exception and not (tmp_path / "doomed").exists()
    assert "cannot be shown" not in texts(app, "warning")
    assert app.selectbox[0].value == "kept"


def test_train_on_synthetic_is_not_offered_for_an_unconditional_run(tmp_path, monkeypatch):
    # The button started `trainer tstr`, which loaded TensorFlow and then failed: a gan's images
    # have no labels to make a training set of.
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config.json").write_text(json.dumps(
        dict(dataset="mnist", model="gan", epochs=1, label_names=list("0123456789"))))
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path))
    app = open_page("classifier_page.py", "plain")
    assert "gan is unconditional" in texts(app, "warning")
    assert next(button for button in app.button if button.label == "Run it").disabled


def test_resuming_a_finished_run_asks_for_more_epochs(tmp_path):
    # Resume, as the page offers it for a finished run, started a trainer that found nothing to
    # do: "Resuming" and then the same run, its last update moved.
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "config.json").write_text(json.dumps(dict(dataset="mnist", model="cgan", epochs=2)))
    RunDirectory(tmp_path / "done").write_status("finished", 2, 2)
    for epochs in (None, 2):
        with pytest.raises(RunError, match="has finished its 2 epochs"):
            run_files.resume_training(tmp_path, "done", epochs)
    assert not (tmp_path / "done" / run_files.LAUNCH_FILE).exists()


def test_the_command_to_train_a_missing_classifier_can_be_pasted_for_a_folder_with_a_space(tmp_path, monkeypatch):
    # Unquoted, the shell split the path at its space and the classifier's trainer refused it.
    (tmp_path / "shapes").mkdir()
    (tmp_path / "shapes" / "config.json").write_text(json.dumps(
        dict(dataset="folder:/data/my shapes", model="cdcgan", epochs=1, label_names=["circle", "square"])))
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("GANVAS_CLASSIFIERS_DIR", str(tmp_path / "classifiers"))
    app = open_page("classifier_page.py", "shapes")
    assert "classifier train --dataset 'folder:/data/my shapes'" in texts(app, "info")
    assert "Not scored yet." in texts(app, "info") and "press the button" not in texts(app, "info")  # it is disabled


def test_a_relative_folder_typed_in_the_app_is_the_one_the_trainer_reads(tmp_path, monkeypatch):
    # The app checked "folder:shapes" where it was started and the trainer, which runs in the
    # repository, looked for it there: the run failed with "does not exist" after the form said yes.
    from conftest import draw_shapes_folder

    draw_shapes_folder(tmp_path / "shapes", per_class=8, size=16)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GANVAS_CLASSIFIERS_DIR", raising=False)  # the app's default: classifiers/ where it started
    run_files.start_training(Path("runs"), "shapes", dict(
        dataset="folder:shapes", model="cgan", image_size=16, epochs=1, batch_size=8))
    wait_for(lambda: run_files.run_state(tmp_path / "runs" / "shapes")["state"] in ("finished", "failed"),
             what="the training to end")
    assert run_files.run_state(tmp_path / "runs" / "shapes")["state"] == "finished", \
        (tmp_path / "runs" / "shapes" / run_files.TRAINING_LOG).read_text()
    config = json.loads((tmp_path / "runs" / "shapes" / "config.json").read_text())
    assert config["dataset"] == f"folder:{tmp_path / 'shapes'}"
    assert config["classifiers_dir"] == str(tmp_path / "classifiers")


def test_a_config_gives_the_trainer_the_command_line_that_makes_it_again():
    """TrainConfig.to_argv, which the app starts the trainer with, read back by the CLI's parser."""
    from trainer.__main__ import build_parser, config_from_args
    from trainer.config import TrainConfig

    config = TrainConfig(dataset="fashion_mnist", model="cgan", run_name="odd", runs_dir="/tmp/runs", epochs=3,
                         lr=0.0005, batch_size=64, twin_class_head=True, jit_compile=False, seed=7,
                         average_decay=0.99, data_dir="/data")
    argv = config.to_argv()
    assert "--image-shape" not in argv and "--no-jit-compile" in argv and "--twin-class-head" in argv
    assert config_from_args(build_parser().parse_args(["train", *argv])) == config
    assert config_from_args(build_parser().parse_args(["train", *TrainConfig(run_name="plain").to_argv()])) == TrainConfig(run_name="plain")


def test_damaged_history_lines_and_classifier_info_are_one_line_not_a_traceback(tmp_path, monkeypatch):
    """Valid JSON of the wrong shape (a hand edit, a damaged copy): a history line that is no
    record once stopped every page, the other runs' included; a damaged info.json of the judge
    is named rather than called missing, and stays as it is."""
    digits = [str(digit) for digit in range(10)]
    fake_run(tmp_path / "runs", "good", "mnist", "cgan", digits)
    odd = fake_run(tmp_path / "runs", "odd-history", "mnist", "cgan", digits)
    with open(odd / "history.jsonl", "a") as history:
        history.write('null\n[1, 2]\n"text"\n7\n')
    info = tmp_path / "classifiers" / "mnist-32px-lenet" / "info.json"  # fake_run's images are 32 px
    info.parent.mkdir(parents=True)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("GANVAS_CLASSIFIERS_DIR", str(tmp_path / "classifiers"))
    table = open_page("runs_page.py").dataframe[0].value.set_index("name")
    assert table.loc["odd-history", "epoch"] == 3 and table.loc["good", "state"] == "finished"
    for page in ("training_page.py", "generate_page.py", "classifier_page.py", "colorize_page.py"):
        open_page(page, "odd-history")  # asserts that no exception reached the page
    for content in ("{ cut", "[1]"):
        info.write_text(content)
        warnings = texts(open_page("classifier_page.py", "good"), "warning")
        assert f"`{info}` is damaged" in warnings and "classifier train --dataset mnist" in warnings, content
        assert info.read_text() == content
    info.write_text(json.dumps(dict(test_accuracy=0.9, history={"epoch": 1})))  # a history of another shape
    assert "90.00%" in str(open_page("classifier_page.py", "good").metric[0].value)


def test_a_damaged_status_file_is_named_not_called_missing(tmp_path, monkeypatch):
    from streamlit_app.runs import run_state

    run = fake_run(tmp_path / "runs", "cut", "mnist", "cgan", [str(digit) for digit in range(10)])
    (run / "status.json").write_text('{"state": "fini')
    state = run_state(run)
    assert state["state"] == "unknown" and f"{run / 'status.json'} is damaged" in state["error"]
    assert (run / "status.json").read_text() == '{"state": "fini'  # left as it is
    (run / "status.json").unlink()
    assert run_state(run)["error"].startswith("no status.json")
