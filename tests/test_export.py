"""Export to TF.js: the converted generator runs in Node's TF.js and agrees with Keras."""

import hashlib
import json

import numpy as np
import pytest

from conftest import train
from export import tfjs
from export.__main__ import main as export_main
from trainer import data
from trainer.classifier import classifier_dir, save_classifier, train_classifier

pytestmark = pytest.mark.slow  # each export converts and checks the model in Node

SMALL = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50", "--epochs", "1")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs"), *SMALL, "--model", "cdcgan", run_name="digits")


def test_float32_export_matches_keras_and_is_listed(trained_run, tmp_path):
    web = tmp_path / "web"
    (trained_run / "metrics.json").write_text(json.dumps(dict(epoch=1, label_accuracy=0.5)))
    code = export_main(["--run", str(trained_run), "--name", "digits", "--quantize", "none",
                        "--web-dir", str(web), "--classifiers-dir", str(tmp_path / "none")])
    assert code == 0
    manifest = json.loads((web / "models" / "digits" / "manifest.json").read_text())
    assert manifest["check"]["max_abs_difference"] <= 1e-4
    assert manifest["label_names"] == list("0123456789") and manifest["latent_dim"] == 64
    assert manifest["image_shape"] == [28, 28, 1] and manifest["output_range"] == [-1.0, 1.0]
    assert manifest["inputs"] == ["latent", "label"] and manifest["epoch"] == 1
    assert manifest["metrics"] == dict(epoch=1, label_accuracy=0.5)
    for file, facts in manifest["generator"]["weights"].items():
        content = (web / "models" / "digits" / "generator" / file).read_bytes()
        assert len(content) == facts["bytes"] and hashlib.sha256(content).hexdigest() == facts["sha256"]
    index = json.loads((web / "models" / "index.json").read_text())
    assert [entry["name"] for entry in index["models"]] == ["digits"]


def test_quantized_export_reports_label_accuracy_and_ships_the_classifier(trained_run, tmp_path):
    classifiers = tmp_path / "classifiers"
    model, history = train_classifier(data.load("mnist", limit_per_class=100), epochs=1,
                                      test=data.load("mnist", "test", limit_per_class=20), log=lambda *_: None)
    save_classifier(model, dict(dataset="mnist", arch="lenet", image_shape=[28, 28, 1],
                                label_names=list("0123456789"), test_accuracy=history[-1]["test_accuracy"]),
                    classifier_dir("mnist", "lenet", classifiers))
    target = tfjs.export_run(trained_run, "digits", tmp_path / "web", quantize="float16",
                             classifiers_dir=classifiers, log=lambda *_: None)
    manifest = json.loads((target / "manifest.json").read_text())
    accuracy = manifest["check"]["label_accuracy"]
    assert set(accuracy) == {"float32", "float16"} and abs(accuracy["float32"] - accuracy["float16"]) <= 0.005
    assert manifest["classifier"]["max_abs_difference"] <= 1e-4
    assert (target / "classifier" / "model.json").exists()
    generator_bytes = sum(file["bytes"] for file in manifest["generator"]["weights"].values())
    assert generator_bytes < 600_000  # half of float32


def test_failed_check_keeps_the_earlier_export(trained_run, tmp_path, monkeypatch):
    web = tmp_path / "web"
    first = tfjs.export_run(trained_run, "digits", web, quantize="none", classifiers_dir=tmp_path, log=lambda *_: None)
    before = (first / "manifest.json").read_text()
    # A conversion that went wrong: TF.js answers something other than Keras.
    monkeypatch.setattr(tfjs, "run_in_tfjs", lambda model_dir, inputs: np.zeros((len(inputs["latent"]), 28, 28, 1)))
    with pytest.raises(tfjs.ExportError, match="differs from Keras"):
        tfjs.export_run(trained_run, "digits", web, quantize="none", classifiers_dir=tmp_path, log=lambda *_: None)
    # A quantized one is held to its average difference, also without a classifier to judge it.
    with pytest.raises(tfjs.ExportError, match="uint8 generator differs from Keras by .* on average"):
        tfjs.export_run(trained_run, "digits", web, quantize="uint8", classifiers_dir=tmp_path, log=lambda *_: None)
    assert (first / "manifest.json").read_text() == before
    assert sorted(path.name for path in (web / "models").iterdir()) == ["digits", "index.json"]


def test_an_export_killed_between_its_renames_never_lists_a_missing_model(trained_run, tmp_path, monkeypatch):
    from pathlib import Path

    from export.model_index import update_index

    web = tmp_path / "web"
    models = web / "models"
    first = tfjs.export_run(trained_run, "digits", web, quantize="none", classifiers_dir=tmp_path, log=lambda *_: None)
    before = (first / "manifest.json").read_text()
    listed = lambda: [entry["name"] for entry in json.loads((models / "index.json").read_text())["models"]]  # noqa: E731
    # The process dies right after the old model is moved aside (a kill -9 runs no handler:
    # the exception stands in for it, and the export's own cleanup is skipped with it).
    real_rename, seen = Path.rename, []

    def rename(self, target):
        if self.name.startswith(".digits.") and not self.name.endswith(".retired"):
            seen.append(listed())  # what a page loading now would be offered
            raise SystemExit("killed")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    monkeypatch.setattr(tfjs, "update_index", lambda *args, **kwargs: (
        update_index(*args, **kwargs) if kwargs.get("leave_out") else None))
    with pytest.raises(SystemExit):
        tfjs.export_run(trained_run, "digits", web, quantize="none", classifiers_dir=tmp_path, log=lambda *_: None)
    monkeypatch.undo()
    assert seen == [[]] and not (models / "digits").exists() and listed() == []
    # A stale staging folder of a process that is gone, beside a live export's.
    (models / ".digits.999999999.stale").mkdir()
    messages = []
    update_index(models, messages.append)  # the next export, or the set-up, recovers
    assert listed() == ["digits"] and (models / "digits" / "manifest.json").read_text() == before
    assert sorted(path.name for path in models.iterdir()) == ["digits", "index.json"]
    assert any("restored digits" in message for message in messages)


def test_mlp_generators_with_a_tanh_output_export_and_name_their_epoch(tmp_path):
    """The converter fuses the last Dense layer's tanh into its matrix multiply, which TF.js
    cannot run; the export splits it out again. Metrics of another epoch are left out."""
    run = train(tmp_path / "runs", *SMALL, "--model", "cgan", run_name="mlp")
    (run / "metrics.json").write_text(json.dumps(dict(epoch=7, label_accuracy=0.5)))  # not this generator's
    web = tmp_path / "web"
    assert export_main(["--run", str(run), "--quantize", "none", "--web-dir", str(web),
                        "--classifiers-dir", str(tmp_path / "none")]) == 0
    manifest = json.loads((web / "models" / "mlp" / "manifest.json").read_text())
    assert manifest["check"]["max_abs_difference"] <= 1e-4
    assert manifest["epoch"] == 1 and manifest["metrics"] is None
    nodes = json.loads((web / "models" / "mlp" / "generator" / "model.json").read_text())["modelTopology"]["node"]
    assert "Tanh" in [node["op"] for node in nodes]


def test_model_names_that_would_clash_with_the_page_files_are_refused(trained_run, tmp_path, capsys):
    for name in ("index.json", ".hidden"):
        assert export_main(["--run", str(trained_run), "--name", name, "--web-dir", str(tmp_path)]) == 2
        assert "may not start with '.' or end with '.json'" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_unwritable_web_dir_and_unreadable_config_are_one_clear_line(trained_run, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    assert export_main(["--run", str(trained_run), "--web-dir", str(tmp_path / "a-file")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "a-file" in error and len(error.strip().splitlines()) == 1
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model": ')
    assert export_main(["--run", str(broken), "--web-dir", str(tmp_path / "web")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and len(error.strip().splitlines()) == 1


def test_the_model_list_skips_what_the_page_cannot_load(tmp_path):
    """A broken manifest, a staging folder, and a copied folder (listed under its own name,
    the one the page loads it by) do not break the list or duplicate names."""
    from export.model_index import update_index

    manifest = dict(name="digits", dataset="mnist", model="cdcgan", label_names=list("01"), bytes=10)
    for folder, content in (("digits", manifest), ("copy", manifest), (".digits.retired", manifest),
                            ("old", dict(name="old"))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "manifest.json").write_text(json.dumps(content))
    (tmp_path / "torn").mkdir()
    (tmp_path / "torn" / "manifest.json").write_text('{"name": ')
    warnings = []
    assert update_index(tmp_path, warnings.append) == ["copy", "digits"]
    assert len(warnings) == 2 and all("left out of the list" in warning for warning in warnings)
    assert json.loads((tmp_path / "index.json").read_text())["models"][0]["dataset"] == "mnist"


def test_a_folder_data_set_is_published_by_its_name_not_its_path():
    assert data.short_name("folder:/home/someone/photos/flowers/") == "folder:flowers"
    assert data.short_name("fashion_mnist") == "fashion_mnist"


def test_a_conversion_that_fails_says_why_and_prints_nothing_else(tmp_path, capfd):
    # The converter runs in this process (export/tfjs.py run_converter): its failure is an
    # ExportError that names the cause, and a conversion prints nothing of its own.
    with pytest.raises(tfjs.ExportError, match="SavedModel file does not exist"):
        tfjs.run_converter(["--input_format=tf_saved_model", "--output_format=tfjs_graph_model",
                            str(tmp_path / "missing"), str(tmp_path / "out")])
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    capfd.readouterr()
    tfjs.convert(model, tmp_path / "converted", "uint8")
    assert (tmp_path / "converted" / "model.json").exists()
    assert capfd.readouterr() == ("", "")
