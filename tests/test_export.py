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

SMALL = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50", "--epochs", "1")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs"), *SMALL, "--model", "cdcgan", run_name="digits")


def test_float32_export_matches_keras_and_is_listed(trained_run, tmp_path):
    web = tmp_path / "web"
    code = export_main(["--run", str(trained_run), "--name", "digits", "--quantize", "none",
                        "--web-dir", str(web), "--classifiers-dir", str(tmp_path / "none")])
    assert code == 0
    manifest = json.loads((web / "models" / "digits" / "manifest.json").read_text())
    assert manifest["check"]["max_abs_difference"] <= 1e-4
    assert manifest["label_names"] == list("0123456789") and manifest["latent_dim"] == 64
    assert manifest["image_shape"] == [28, 28, 1] and manifest["output_range"] == [-1.0, 1.0]
    assert manifest["inputs"] == ["latent", "label"] and manifest["epoch"] == 1
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
    assert (first / "manifest.json").read_text() == before
    assert sorted(path.name for path in (web / "models").iterdir()) == ["digits", "index.json"]
