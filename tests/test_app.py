"""The Streamlit app, page by page, against real small runs made by the trainer: finished,
running, failed, one with a cut-off history.jsonl and one from an "older version"."""

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

from conftest import ROOT, train, wait_for
from streamlit_app import runs as run_files
from trainer.__main__ import main as trainer
from trainer.rundir import RunDirectory, RunError

APP = str(ROOT / "streamlit_app" / "app.py")
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


def open_page(page, run=None, timeout=60):
    app = AppTest.from_file(APP, default_timeout=timeout)
    if run:
        app.session_state["run"] = run
    app.run()
    if page != "runs_page.py":
        app.switch_page(page).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def texts(app, kind):
    return " ".join(str(element.value) for element in getattr(app, kind))


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
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "trainer"])
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
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "trainer"])
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
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "trainer"])
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


# Colour, label names, every data set, and the live curves.

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


@pytest.fixture
def shown_image(monkeypatch):
    """The picture a page showed, by the URL AppTest gives its image: Streamlit keeps the bytes in
    its media storage, which the test run drops when it ends, so they are kept here as they arrive."""
    from PIL import Image
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    kept = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def load_and_keep(self, path_or_data, *args, **kwargs):
        file_id = load(self, path_or_data, *args, **kwargs)
        kept[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_keep)
    return lambda image: Image.open(io.BytesIO(kept[image.proto.imgs[0].url.rsplit("/", 1)[-1].split(".")[0]]))


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


def fake_run(root, name, dataset, model, label_names, epochs=3, done=3):
    """A run directory as a training leaves it, without training: config, status, history."""
    from trainer.config import TrainConfig

    run = RunDirectory(root / name)
    config = TrainConfig(dataset=dataset, model=model, epochs=epochs, run_name=name, image_shape=[32, 32, 3],
                         label_names=list(label_names), output_range=[-1.0, 1.0])
    run.path.mkdir(parents=True)
    run.config_path.write_text(config.to_json())
    run.write_history([dict(epoch=epoch, d_loss=1.0, g_loss=1.0, d_real=0.5, d_fake=0.5, seconds=1.0,
                            images_per_second=100.0) for epoch in range(1, done + 1)])
    run.write_status("finished" if done == epochs else "stopped", done, epochs)
    return run.path


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


# A colorize run: the Colorize page, and every other page on it.

@pytest.fixture(scope="module")
def colorize_root(tmp_path_factory):
    """Two colorize runs of one epoch on a flat folder of 24 colour images: "gan" and its L1-only
    baseline "l1"; and "digits", a cdcgan run as a training leaves it (not trained)."""
    from test_colorize import draw_flat_folder

    base = tmp_path_factory.mktemp("colorize")
    folder = draw_flat_folder(base / "photos", count=24)
    root = base / "runs"
    common = ("--dataset", f"folder:{folder}", "--model", "colorize", "--image-size", "32", "--batch-size", "8",
              "--epochs", "1")
    train(root, *common, run_name="gan")
    train(root, *common, "--adversarial-weight", "0", run_name="l1")
    fake_run(root, "digits", "mnist", "cdcgan", [str(digit) for digit in range(10)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANVAS_RUNS_DIR", str(root))
        patch.setenv("GANVAS_CLASSIFIERS_DIR", str(base / "classifiers"))  # none: PSNR and the rest need none
        yield root


def upload(app, name, content, mime="image/png"):
    app.file_uploader[0].set_value((name, content, mime)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def encoded(image, format="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def test_the_colorize_page_turns_an_uploaded_grey_photo_into_colour(colorize_root, shown_image, tmp_path):
    import numpy as np
    from PIL import Image

    app = open_page("colorize_page.py", "gan", timeout=120)
    assert "Upload a photo" in texts(app, "info") and not app.get("image")
    # A grey photo of another size than the model's: coloured at full size, its luminance kept.
    photo = Image.open(sorted((colorize_root.parent / "photos").iterdir())[0]).convert("L").resize((70, 50))
    (tmp_path / "disc.jpg").write_bytes(encoded(photo, "JPEG", quality=95))
    upload(app, "disc.jpg", (tmp_path / "disc.jpg").read_bytes(), "image/jpeg")
    grey, coloured, original = app.get("image")
    assert [image.proto.imgs[0].caption for image in (grey, coloured)] == ["grey: what the model reads",
                                                                          "colorized by gan"]
    result = shown_image(coloured)
    pixels = np.asarray(result, np.int16)
    assert result.mode == "RGB" and result.size == (70, 50)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 0.5  # colour, not grey
    shown_grey = np.asarray(shown_image(grey).convert("L"), np.int16)
    assert np.abs(np.asarray(result.convert("L"), np.int16) - shown_grey).max() <= 1
    assert "70 × 50 pixels colorized in" in texts(app, "caption") and " ms" in texts(app, "caption")
    assert [button.label for button in app.get("download_button")] == ["Download PNG"]
    # The picture `trainer colorize` writes for the same file.
    assert trainer(["colorize", "--run", str(colorize_root / "gan"), str(tmp_path / "disc.jpg"),
                    "--out", str(tmp_path / "disc.png")]) == 0
    assert result.tobytes() == Image.open(tmp_path / "disc.png").convert("RGB").tobytes()
    # A checkpoint colours too; a 16-bit photo is read by its top 8 bits, with a note.
    next(box for box in app.selectbox if box.label == "Generator").set_value(1).run()
    assert not app.exception and len(app.get("image")) == 3
    upload(app, "scan.png", encoded(Image.fromarray(np.full((20, 30), 40000, np.uint16))))
    assert "Note: scan.png is 16-bit: read by its top 8 bits." in texts(app, "caption") and len(app.get("image")) == 3


def test_the_colorize_page_says_in_one_line_why_a_file_is_refused(colorize_root):
    from PIL import Image
    from test_colorize import png_header

    frames = [Image.new("RGB", (20, 20), (80 * index, 0, 0)) for index in range(3)]
    bad = {"notes.png": (b"not an image", "is not an image that Pillow can read"),
           "anim.gif": (encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), "is animated (3 frames)"),
           "print.jpg": (encoded(Image.new("CMYK", (20, 20), (0, 50, 50, 0)), "JPEG"), "is a CMYK (print) image"),
           "dot.png": (encoded(Image.new("RGB", (1, 1))), "is 1 x 1: too small to colorize"),
           "huge.png": (png_header(colorize_root.parent / "huge.png", 20000, 20000).read_bytes(),
                        "larger than 40 megapixels"),
           "cut.png": (png_header(colorize_root.parent / "cut.png", 100, 100).read_bytes(), "is damaged")}
    app = open_page("colorize_page.py", "gan", timeout=120)
    for name, (content, message) in bad.items():
        upload(app, name, content)
        assert len(app.error) == 1 and app.error[0].value.startswith(f"{name} ") and message in app.error[0].value, name
        assert not app.get("image") and not app.get("download_button"), name


def test_the_colorize_page_lists_colorize_runs_and_names_the_others(colorize_root):
    app = open_page("colorize_page.py", "digits", timeout=120)
    assert "digits is not listed on this page: it is a cdcgan run" in texts(app, "info")
    offered = next(box for box in app.selectbox if box.label == "Run").options
    assert sorted(offered) == ["gan (finished)", "l1 (finished)"]


def test_generate_and_training_pages_on_a_colorize_run(colorize_root):
    app = open_page("generate_page.py", "gan")
    assert "gan is a colorize run: it colours grey photos" in texts(app, "info") and not app.get("image")
    (link,) = app.get("page_link")
    assert link.proto.label == "Colorize a photo with gan" and link.proto.page.endswith("colorize")
    app = open_page("training_page.py", "gan")
    assert "Each row is a training image: grey | generated | original." in texts(app, "caption")
    assert "ten rows of noise" not in texts(app, "caption") and len(app.get("image")) == 1


def test_the_classifier_page_scores_a_colorize_run_beside_its_baselines(colorize_root):
    app = open_page("classifier_page.py", "gan")
    assert "Not scored yet" in texts(app, "info") and "Only the Fréchet distance needs it" in texts(app, "info")
    assert "Label accuracy" not in {metric.label for metric in app.metric}
    assert not [button for button in app.button if button.label == "Run it"]  # no labels: no synthetic set
    assert next(box for box in app.selectbox if box.label == "Baseline run").value == "l1"  # the L1-only run
    next(box for box in app.number_input if box.label == "Test images to score").set_value(16)
    next(button for button in app.button if button.label == "Score the generator now").click().run()
    wait_for(lambda: run_files.job_state(colorize_root / "gan", "eval")["state"] != "running", what="eval")
    assert run_files.job_state(colorize_root / "gan", "eval")["state"] == "finished"
    app.run()
    assert not app.exception
    assert {"PSNR", "SSIM", "Colourfulness"} <= {metric.label for metric in app.metric}
    table = app.dataframe[0].value
    assert list(table.index) == ["this run", "grey image", "l1 (L1 only)"]
    assert table.loc["grey image", "colourfulness"] == 0 and table.loc["this run", "PSNR (dB)"] > 5
    assert "16 test images" in texts(app, "caption")


def printed_by_a_fresh_python(*lines) -> list[str]:
    """The words a script of `lines` prints in a new Python process, which has imported nothing."""
    result = subprocess.run([sys.executable, "-c", "\n".join(lines)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_pages_on_a_colorize_run_that_need_no_model_do_not_import_tensorflow(colorize_root):
    """The Generate page points a colorizer to the Colorize page before loading TensorFlow, and
    the Training and Classifier pages read only files for it too."""
    printed = printed_by_a_fresh_python(
        "import sys; from streamlit.testing.v1 import AppTest",
        f"app = AppTest.from_file({APP!r}, default_timeout=60)",
        "app.session_state['run'] = 'gan'; app.run()",
        "app.switch_page('generate_page.py').run(); pointed = len(app.get('page_link'))",
        "for page in ('training_page.py', 'classifier_page.py'):",
        "    app.switch_page(page).run(); assert not app.exception, app.exception",
        "print(pointed, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert printed[-3:] == ["1", "False", "False"]  # the link to Colorize; neither TensorFlow nor Keras


# Sharing the app: read-only without the owner's token, folders only inside the data root.

TOKEN = "a-long-enough-token"


@pytest.fixture
def shared_app(tmp_path, monkeypatch):
    """The app as GANVAS_HOST=0.0.0.0 shares it, with a token: a finished run "kept", and "live",
    running in a stand-in process (its command line says "trainer", as the liveness check wants).
    Trainings started are recorded, not run."""
    from types import SimpleNamespace

    root = tmp_path / "runs"
    fake_run(root, "kept", "mnist", "cgan", "0123456789")
    live = RunDirectory(fake_run(root, "live", "mnist", "cgan", "0123456789", epochs=5, done=1))
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "trainer"])
    wait_for(lambda: run_files.process_alive(stand_in.pid), what="the stand-in to start")
    live.status_path.write_text(json.dumps(dict(state="running", pid=stand_in.pid, epoch=1, epochs=5, updated=2.0)))
    started = []
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: started.append(command) or 999_999_999)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(root))
    monkeypatch.setenv("GANVAS_HOST", "0.0.0.0")
    monkeypatch.setenv("GANVAS_TOKEN", TOKEN)
    monkeypatch.delenv("GANVAS_DATA_ROOT", raising=False)
    try:
        yield SimpleNamespace(root=root, stand_in=stand_in, started=started)
    finally:
        stand_in.kill()
        stand_in.wait()


def button(app, label):
    return next(button for button in app.button if button.label == label)


def forced(widget):
    """The widget enabled, as a browser could send its click although the page disabled it."""
    widget.proto.disabled = False
    return widget


def unlock(app, token=TOKEN):
    from streamlit_app import access

    app.text_input(key=access.FIELD).input(token).run()
    assert not app.exception
    return app


def start(app, name, folder=None, data_dir=None, force=False):
    if folder is not None:
        next(box for box in app.selectbox if box.label == "Data set").set_value("folder")
        next(box for box in app.text_input if box.label.startswith("Folder")).input(folder)
    if data_dir is not None:
        next(box for box in app.text_input if box.label == "Data directory").input(data_dir)
    next(box for box in app.text_input if box.label.startswith("Run name")).input(name)
    submit = button(app, "Start training")
    (forced(submit) if force else submit).click().run()
    assert not app.exception
    return app


def test_a_shared_app_without_the_token_only_shows(shared_app, monkeypatch):
    from streamlit_app import access

    root = shared_app.root

    def refuse_everything(force):
        """Stop, delete, resume, start and a classifier job, clicked as the page lets the session
        (`force`: also where it does not); the errors they show."""
        def click(app, label):
            widget = button(app, label)
            (forced(widget) if force else widget).click().run()
            return texts(app, "error")

        messages = click(open_page("runs_page.py", "live"), "Stop")
        app = open_page("runs_page.py", "kept")
        checkbox = app.checkbox(key="confirm-kept")
        (forced(checkbox) if force else checkbox).check().run()
        messages += click(app, "Delete") + click(app, "Resume")
        messages += texts(start(app, "new", force=force), "error")
        messages += click(open_page("classifier_page.py", "kept"), "Run it")
        assert shared_app.stand_in.poll() is None and (root / "kept" / "config.json").exists()
        assert not (root / "new").exists() and not (root / "kept" / "tstr.job.json").exists()
        assert shared_app.started == [] and not (root / "kept" / run_files.LAUNCH_FILE).exists()
        return messages

    app = open_page("runs_page.py", "live")
    assert "Read-only" in texts(app, "info") and len(app.dataframe[0].value) == 2  # reading stays open
    assert all(button(app, label).disabled for label in ("Stop", "Resume", "Delete", "Start training"))
    app = open_page("classifier_page.py", "kept")
    assert "Read-only" in texts(app, "info") and button(app, "Run it").disabled
    open_page("training_page.py", "live")  # asserts that no exception reached the page
    # A click the page never offered (Streamlit discards it), and one a page offered by mistake:
    # the action itself refuses it.
    refuse_everything(force=True)
    monkeypatch.setattr(access, "notice", lambda: True)  # a page that forgot to disable its buttons
    assert refuse_everything(force=False).count(access.READ_ONLY) == 5


def test_the_token_unlocks_its_own_session_only(shared_app):
    from streamlit_app import access

    app = unlock(open_page("runs_page.py", "live"), "a-wrong-token")
    assert "Wrong token" in texts(app, "error") and button(app, "Stop").disabled
    unlock(app)
    assert "Read-only" not in texts(app, "info") and not [box for box in app.text_input if box.key == access.FIELD]
    assert "Unlocked" in texts(app, "caption") and not button(app, "Stop").disabled
    button(app, "Stop").click().run()
    wait_for(lambda: shared_app.stand_in.poll() is not None, what="the SIGTERM to end the stand-in")

    other = open_page("runs_page.py", "kept")  # a second session: read-only until it enters the token too
    assert "Read-only" in texts(other, "info") and button(other, "Start training").disabled
    forced(other.checkbox(key="confirm-kept")).check()
    forced(button(other, "Delete")).click().run()
    assert (shared_app.root / "kept").is_dir()

    app.run()  # the page stops refreshing now that nothing trains
    app.selectbox[0].set_value("kept").run()
    app.checkbox(key="confirm-kept").check().run()
    button(app, "Delete").click().run()
    assert not app.exception and not (shared_app.root / "kept").exists()
    start(app, "new")
    assert "Started new" in texts(app, "success") and len(shared_app.started) == 1


def test_a_shared_app_without_a_token_stays_read_only(shared_app, monkeypatch):
    from streamlit_app import access

    monkeypatch.delenv("GANVAS_TOKEN")
    app = open_page("runs_page.py", "live")
    assert "set no access token" in texts(app, "info") and button(app, "Stop").disabled
    assert not [box for box in app.text_input if box.key == access.FIELD]


def test_the_token_may_be_a_password_in_streamlits_secrets(shared_app, monkeypatch):
    monkeypatch.delenv("GANVAS_TOKEN")
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["GANVAS_TOKEN"] = TOKEN  # as .streamlit/secrets.toml holds it
    app.run()
    assert "Read-only" in texts(app, "info") and button(app, "Start training").disabled
    assert not button(unlock(app), "Start training").disabled


def test_a_shared_app_reads_folders_only_inside_the_data_root(shared_app, tmp_path, monkeypatch):
    data, secret = (tmp_path / "data").resolve(), (tmp_path / "secret").resolve()
    (data / "shapes").mkdir(parents=True)
    secret.mkdir()
    (data / "link").symlink_to(secret)
    app = unlock(open_page("runs_page.py"))
    start(app, "refused", folder="shapes")
    assert "GANVAS_DATA_ROOT=" in texts(app, "error") and not shared_app.started

    monkeypatch.setenv("GANVAS_DATA_ROOT", str(data))
    for folder, data_dir in ((str(secret), None), ("../secret", None), ("shapes/../../secret", None), ("link", None),
                             (str(data / "link"), None), ("shapes", "../secret")):
        app = start(unlock(open_page("runs_page.py")), "refused", folder=folder, data_dir=data_dir)
        assert f"is outside {data}" in texts(app, "error")
    assert not shared_app.started and not (shared_app.root / "refused").exists()
    app = start(unlock(open_page("runs_page.py")), "inside", folder="shapes")
    assert "Started inside" in texts(app, "success")
    assert f"folder:{data / 'shapes'}" in shared_app.started[0]


def test_a_loopback_app_is_unchanged(tmp_path, monkeypatch):
    from streamlit_app import access

    started = []
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: started.append(command) or 999_999_999)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("GANVAS_HOST", raising=False)
    monkeypatch.setenv("GANVAS_TOKEN", TOKEN)  # set, and not asked for
    monkeypatch.setenv("GANVAS_DATA_ROOT", str(tmp_path / "data"))  # set, and not applied
    (tmp_path / "elsewhere").mkdir()
    app = open_page("runs_page.py")
    assert "Read-only" not in texts(app, "info") and not [box for box in app.text_input if box.key == access.FIELD]
    start(app, "anywhere", folder=str(tmp_path / "elsewhere"))
    assert "Started anywhere" in texts(app, "success")
    assert f"folder:{tmp_path / 'elsewhere'}" in started[0]


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
                                            ("localhost", True), ("::ffff:127.0.0.1", True), ("0.0.0.0", False),
                                            ("::", False), ("", False), (None, False), ("192.168.1.5", False),
                                            ("myhost.example", False)])
def test_which_addresses_are_loopback(host, loopback):
    from streamlit_app import access

    assert access.is_loopback(host) is loopback


def test_the_address_streamlit_is_bound_to_decides_whether_the_app_is_shared(monkeypatch):
    """Unset, Streamlit listens on every interface; GANVAS_HOST can only add sharing, for a proxy."""
    from streamlit import config

    from streamlit_app import access

    monkeypatch.delenv("GANVAS_HOST", raising=False)
    before = config.get_option("server.address")
    try:
        for address, shared in (("127.0.0.1", False), ("0.0.0.0", True), (None, True), ("", True)):
            config.set_option("server.address", address)
            assert access.shared() is shared
        config.set_option("server.address", "127.0.0.1")
        monkeypatch.setenv("GANVAS_HOST", "0.0.0.0")
        assert access.shared()
    finally:
        config.set_option("server.address", before)


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
