"""The judges: a DFN kept by `classifier train --arch dfn` scores a run wherever the LeNet does
(`eval`, `--eval-every`, `tstr`, the export and the app's Classifier page), a missing judge is
named with the command that trains it, and the LeNet stays the default."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, require, run_cli, train, wait_for
from export import tfjs
from streamlit_app import runs as run_files
from trainer.classifier import train_and_keep
from trainer.judges import parse_sizes
from trainer.rundir import RunDirectory

SMALL = ("--dataset", "mnist", "--model", "cgan", "--limit-per-class", "30", "--batch-size", "50", "--epochs", "1")


@pytest.fixture(scope="module")
def judges(tmp_path_factory):
    """A DFN and a LeNet for MNIST, one epoch on 1,000 images each, kept as `classifier train` keeps them."""
    root = tmp_path_factory.mktemp("classifiers")
    for arch in ("dfn", "lenet"):
        train_and_keep("mnist", arch, root, epochs=1, limit_per_class=100, log=lambda *_: None)
    return root


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory, judges):
    """A one-epoch cgan that `--eval-every 1 --classifier-arch dfn` scored as it trained."""
    return train(tmp_path_factory.mktemp("runs"), *SMALL, "--eval-every", "1", "--eval-samples", "100",
                 "--classifier-arch", "dfn", "--classifiers-dir", str(judges), run_name="judged")


def read(path):
    return json.loads(path.read_text())


def test_eval_every_scores_with_the_chosen_judge(judged_run):
    assert read(judged_run / "config.json")["classifier_arch"] == "dfn"
    assert 0 <= RunDirectory(judged_run).history()[-1]["label_accuracy"] <= 1


def test_eval_with_the_dfn_writes_metrics_that_name_it(judged_run, judges):
    result = run_cli("eval", "--run", judged_run, "--classifiers-dir", judges, "--classifier-arch", "dfn", "--n", 200)
    assert result.returncode == 0, result.stderr
    metrics = read(judged_run / "metrics.json")
    assert metrics["classifier_arch"] == "dfn" and metrics["classifier"] == str(judges / "mnist-dfn")
    assert 0 <= metrics["label_accuracy"] <= 1 and metrics["n"] == 200
    assert f"judged by the DFN in {judges / 'mnist-dfn'}" in result.stdout


def test_eval_judges_with_the_lenet_unless_told(judged_run, judges):
    result = run_cli("eval", "--run", judged_run, "--classifiers-dir", judges, "--n", 200)
    assert result.returncode == 0, result.stderr
    metrics = read(judged_run / "metrics.json")
    assert metrics["classifier_arch"] == "lenet" and metrics["classifier"] == str(judges / "mnist-lenet")
    assert "judged by the LeNet" in result.stdout


def test_a_missing_judge_is_named_with_the_command_that_trains_it(judged_run, tmp_path):
    for arch, command in (("dfn", "classifier train --dataset mnist --arch dfn`"),
                          ("lenet", "classifier train --dataset mnist`")):
        result = run_cli("eval", "--run", judged_run, "--classifiers-dir", tmp_path, "--classifier-arch", arch)
        assert result.returncode == 2
        assert f"no {arch} classifier for mnist in {tmp_path / f'mnist-{arch}'}" in result.stderr
        assert command in result.stderr, result.stderr


def test_tstr_trains_the_chosen_architecture(judged_run):
    result = run_cli("tstr", "--run", judged_run, "--sizes", "100", "--epochs", "1", "--classifier-arch", "dfn")
    assert result.returncode == 0, result.stderr
    table = read(judged_run / "tstr.json")
    assert table["arch"] == "dfn" and [row["train_images"] for row in table["results"]] == [100, 100, 200]
    assert "(DFNs)" in result.stdout


def test_tstr_and_the_app_read_sizes_alike(judged_run):
    assert parse_sizes("100, 200,100") == [100, 200]
    for text in ("0,100", "ten", "", "100,,200"):
        with pytest.raises(ValueError, match="whole numbers above 0"):
            parse_sizes(text)
    result = run_cli("tstr", "--run", judged_run, "--sizes", "0,100")
    assert result.returncode == 2 and "--sizes takes whole numbers above 0 separated by commas, not '0,100'" in result.stderr


def test_the_export_ships_the_dfn_and_the_pages_tfjs_runs_it(judged_run, judges, tmp_path):
    require((tfjs.RUN_MODEL_SCRIPT.parent.parent / "node_modules" / "@tensorflow" / "tfjs").exists(),
            "web/node_modules has no @tensorflow/tfjs (run the set-up)")
    target = tfjs.export_run(judged_run, "digits", tmp_path / "web", quantize="none", classifiers_dir=judges,
                             classifier_arch="dfn", log=lambda *_: None)
    classifier = read(target / "manifest.json")["classifier"]
    assert classifier["arch"] == "dfn" and classifier["max_abs_difference"] <= 1e-4
    assert classifier["test_accuracy"] == read(judges / "mnist-dfn" / "info.json")["test_accuracy"]


def test_the_classifier_page_shows_and_scores_with_the_judge_chosen(judged_run, judges, monkeypatch):
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(judged_run.parent))
    monkeypatch.setenv("GANVAS_CLASSIFIERS_DIR", str(judges))
    (judged_run / "metrics.json").unlink(missing_ok=True)
    app = AppTest.from_file(str(ROOT / "streamlit_app" / "app.py"), default_timeout=60)
    app.session_state["run"] = judged_run.name
    app.run().switch_page("classifier_page.py").run()
    next(box for box in app.selectbox if box.label == "Judge").set_value("dfn").run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert any(str(caption.value).startswith("dfn trained on 1000 mnist images") for caption in app.caption)
    next(box for box in app.number_input if box.label == "Samples to score").set_value(100)
    next(button for button in app.button if button.label == "Score the generator now").click().run()
    wait_for(lambda: run_files.job_state(judged_run, "eval")["state"] != "running", timeout=300, what="the app's eval")
    assert run_files.job_state(judged_run, "eval")["state"] == "finished", run_files.job_state(judged_run, "eval")
    assert read(judged_run / "metrics.json")["classifier_arch"] == "dfn"
    app.run()
    assert "judged by the DFN" in " ".join(str(caption.value) for caption in app.caption)
