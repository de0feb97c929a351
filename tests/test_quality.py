"""The classifier and the generator metrics, on real small data."""

import json
import shutil

import numpy as np
import pytest

from conftest import draw_shapes_folder, run_cli, train
from trainer import data
from trainer.classifier import Classifier, classifier_dir, train_classifier
from trainer.config import TrainConfig
from trainer.metrics import Evaluator, frechet_distance


MNIST_CONFIG = TrainConfig(model="cgan", latent_dim=8, image_shape=[28, 28, 1],
                           label_names=list("0123456789"), output_range=[0.0, 1.0])


class RealImages:
    """A stand-in "generator" that answers each requested label with real test images of that
    label: `perfect` draws different images, otherwise the same one every time (collapse)."""

    def __init__(self, perfect=True):
        test = data.load("mnist", "test")
        self.by_label = [test.images[test.labels == label] / 255.0 for label in range(10)]
        self.perfect = perfect

    def __call__(self, inputs, training=False):
        labels = np.asarray(inputs["label"]).argmax(-1)
        rng = np.random.default_rng(len(labels))
        return np.stack([self.by_label[label][rng.integers(800) if self.perfect else 0] for label in labels])


def test_one_epoch_on_a_small_subset_beats_chance_by_far():
    train_set = data.load("mnist", limit_per_class=300)
    test_set = data.load("mnist", "test", limit_per_class=50)
    model, history = train_classifier(train_set, "dfn", epochs=1, batch_size=100, test=test_set, log=lambda *_: None)
    assert history[0]["test_accuracy"] > 0.6  # chance is 0.1
    # DIGITS's exponential policy: gamma 0.95 once per hundredth of the 30 steps, ending at 0.95^100.
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3 * 0.95 ** 100, rel=1e-4)


def test_classifier_info_records_accuracy_and_curves(classifiers):
    info = json.loads((classifier_dir("mnist", "lenet", classifiers) / "info.json").read_text())
    assert info["test_accuracy"] > 0.85 and len(info["history"]) == 2
    assert set(info["history"][0]) >= {"epoch", "loss", "accuracy", "test_accuracy", "test_loss"}


def test_real_images_score_near_perfect_and_near_the_floor(classifiers):
    classifier = Classifier.for_run(MNIST_CONFIG, classifiers)
    evaluator = Evaluator(MNIST_CONFIG, classifier, count=2000)
    metrics = evaluator(RealImages())
    test_accuracy = classifier.info["test_accuracy"]
    assert metrics["label_accuracy"] == pytest.approx(test_accuracy, abs=0.04) and len(metrics["per_class_accuracy"]) == 10
    assert np.array(metrics["confusion_matrix"]).sum() == 2000
    assert metrics["frechet_distance"] < 3 * metrics["frechet_distance_floor"]
    assert 0.8 < metrics["diversity_mean"] < 1.2 and metrics["mode_coverage"] == 1.0


def test_collapsed_generator_is_flagged_by_diversity(classifiers):
    classifier = Classifier.for_run(MNIST_CONFIG, classifiers)
    metrics = Evaluator(MNIST_CONFIG, classifier, count=2000)(RealImages(perfect=False))
    assert metrics["diversity_mean"] < 0.05
    assert metrics["frechet_distance"] > 5 * metrics["frechet_distance_floor"]


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(20000, 3))
    assert frechet_distance(first, rng.normal(size=(20000, 3))) < 0.01
    assert frechet_distance(first, rng.normal(size=(20000, 3)) + [2, 0, 0]) == pytest.approx(4, abs=0.1)


@pytest.mark.slow
def test_eval_cli_writes_metrics_and_train_eval_every_adds_them_to_history(classifiers, runs_dir):
    path = train(runs_dir, "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50",
                 "--model", "cdcgan", "--epochs", "2", "--eval-every", "2", "--eval-samples", "500",
                 "--classifiers-dir", str(classifiers))
    history = [json.loads(line) for line in (path / "history.jsonl").read_text().splitlines()]
    assert "label_accuracy" not in history[0]
    assert {"label_accuracy", "frechet_distance", "diversity"} <= set(history[1])
    result = run_cli("eval", "--run", path, "--n", "500", "--classifiers-dir", classifiers)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["epoch"] == 2 and 0 <= metrics["label_accuracy"] <= 1 and metrics["n"] == 500
    assert "label accuracy" in result.stdout and "Fréchet distance" in result.stdout
    # An earlier checkpoint is scored beside the final figures, which the app and the export read.
    result = run_cli("eval", "--run", path, "--epoch", "1", "--n", "500", "--classifiers-dir", classifiers)
    assert result.returncode == 0, result.stderr
    assert json.loads((path / "metrics_epoch_0001.json").read_text())["epoch"] == 1
    assert json.loads((path / "metrics.json").read_text())["epoch"] == 2
    # A run still training (no generator.keras yet, its status a step ahead of its checkpoints):
    # the figures name the epoch of the checkpoint scored, not the one in progress.
    (path / "generator.keras").unlink()
    (path / "status.json").write_text(json.dumps(dict(state="running", epoch=3, epochs=5)))
    result = run_cli("eval", "--run", path, "--n", "500", "--classifiers-dir", classifiers)
    assert result.returncode == 0, result.stderr
    assert json.loads((path / "metrics.json").read_text())["epoch"] == 2


def test_eval_errors(classifiers, runs_dir, tmp_path):
    run = runs_dir / "empty"
    run.mkdir(parents=True)
    (run / "config.json").write_text(MNIST_CONFIG.to_json())
    result = run_cli("eval", "--run", run, "--classifiers-dir", classifiers)
    assert result.returncode == 2 and "no finished epoch yet: resume it" in result.stderr
    # A run that failed before its first epoch is not to be resumed: --resume keeps what failed.
    (run / "status.json").write_text(json.dumps(dict(state="failed", epoch=0, epochs=1, error="loss is NaN")))
    result = run_cli("eval", "--run", run, "--classifiers-dir", classifiers)
    assert "no finished epoch yet: it failed (loss is NaN); train it again with --overwrite" in result.stderr
    path = train(runs_dir, "--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50",
                 "--model", "gan", "--epochs", "1", "--image-size", "32")
    # A 32-pixel run has a judge of its own size, apart from the 28-pixel one.
    result = run_cli("eval", "--run", path, "--classifiers-dir", classifiers)
    assert result.returncode == 2 and "mnist-32px-lenet" in result.stderr and "--image-size 32" in result.stderr
    # One of another size put there by hand is refused by its shape.
    shutil.copytree(classifiers / "mnist-lenet", tmp_path / "judges" / "mnist-32px-lenet")
    result = run_cli("eval", "--run", path, "--classifiers-dir", tmp_path / "judges")
    assert result.returncode == 2 and "[28, 28, 1] images" in result.stderr
    result = run_cli("eval", "--run", path, "--classifiers-dir", tmp_path / "none")
    assert result.returncode == 2 and "classifier train --dataset mnist" in result.stderr


@pytest.mark.slow
def test_synth_writes_reusable_folders_and_npz_and_tstr_writes_a_table(runs_dir, tmp_path):
    path = train(runs_dir, "--dataset", "fashion_mnist", "--limit-per-class", "20", "--batch-size", "50",
                 "--model", "cgan", "--epochs", "1")
    result = run_cli("synth", "--run", path, "--n", "30", "--out", tmp_path / "synthetic")
    assert result.returncode == 0, result.stderr
    reloaded = data.load(f"folder:{tmp_path / 'synthetic'}", image_size=28)
    assert len(reloaded.labels) == 30 and "T-shirt_top" in reloaded.label_names
    assert reloaded.images.shape == (30, 28, 28, 1)
    result = run_cli("synth", "--run", path, "--n", "20", "--out", tmp_path / "synthetic.npz")
    assert result.returncode == 0, result.stderr
    arrays = np.load(tmp_path / "synthetic.npz")
    assert arrays["images"].shape == (20, 28, 28, 1) and arrays["images"].dtype == np.uint8
    assert np.bincount(arrays["labels"]).tolist() == [2] * 10 and arrays["label_names"][0] == "T-shirt/top"
    # --noise-scale reaches the generator: at 0 every image of a label is the mean noise vector's.
    result = run_cli("synth", "--run", path, "--n", "20", "--noise-scale", "0", "--out", tmp_path / "typical.npz")
    assert result.returncode == 0, result.stderr
    typical = np.load(tmp_path / "typical.npz")["images"]
    assert np.array_equal(typical[:10], typical[10:]) and not np.array_equal(arrays["images"][:10], arrays["images"][10:])

    result = run_cli("tstr", "--run", path, "--sizes", "100,200,100", "--epochs", "2", "--noise-scale", "1.5")
    assert result.returncode == 0, result.stderr
    table = json.loads((path / "tstr.json").read_text())
    assert table["noise_scale"] == 1.5
    names = [entry["name"] for entry in table["results"]]
    assert names == ["real_100", "synthetic_100", "real_100_synthetic_100",
                     "real_200", "synthetic_200", "real_200_synthetic_200"]
    assert all(len(entry["history"]) == 2 and 0 <= entry["test_accuracy"] <= 1 for entry in table["results"])
    assert table["results"][2]["train_images"] == 200 and set(table["gap_real_minus_synthetic"]) == {"100", "200"}
    assert "gap real - synthetic" in result.stdout
    result = run_cli("synth", "--run", path, "--n", "20", "--hardest-of", "2", "--out", tmp_path / "hard.npz")
    assert result.returncode == 2 and "--hardest-of needs a discriminator with a class head" in result.stderr
    assert "trained without one (cgan)" in result.stderr  # cgan has no --class-loss-weight to point to


def test_drawing_and_judging_commands_refuse_what_cannot_work_in_one_line(classifiers, runs_dir, tmp_path, capsys):
    from export.__main__ import main as export
    from trainer.__main__ import main

    small = ("--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50", "--epochs", "1")
    gan = train(runs_dir, *small, "--model", "gan", run_name="gan")
    cgan = train(runs_dir, *small, "--model", "cgan", run_name="cgan")
    (tmp_path / "a-file").write_text("")
    broken = tmp_path / "broken"  # a config.json edited by hand
    shutil.copytree(cgan, broken)
    (broken / "config.json").write_text('{"model": "cgan",')
    capsys.readouterr()
    cases = [
        (["synth", "--run", gan, "--n", "20", "--out", tmp_path / "g.npz"], "gan is unconditional"),
        (["tstr", "--run", cgan, "--sizes", "5", "--epochs", "1"], "--sizes must be at least 10"),
        (["tstr", "--run", cgan, "--sizes", "0"], "whole numbers above 0"),
        (["tstr", "--run", cgan, "--sizes", "20,25", "--epochs", "1"], "--sizes 25: use a multiple of the 10 labels"),
        (["tstr", "--run", cgan, "--epochs", "0"], "--epochs must be at least 1, not 0"),
        (["eval", "--run", cgan, "--n", "5", "--classifiers-dir", classifiers], "--n must be at least 20, not 5"),
        (["sample", "--run", cgan, "--label", "1", "--out", tmp_path / "a-file" / "x.png"], "a-file"),
        (["classifier", "train", "--classifiers-dir", classifiers], "already holds a classifier"),
        (["classifier", "train", "--batch-size", "0"], "--batch-size must be at least 1, not 0"),
        (["classifier", "train", "--limit-per-class", "0"], "--limit-per-class must be at least 1, not 0"),
        (["classifier", "train", "--image-size", "8"], "--image-size must be at least 16 for lenet, not 8"),
        (["data", "check", "--data-dir", tmp_path / "typo"], "the data directory"),
        (["synth", "--run", cgan, "--n", "20", "--out", tmp_path / "x.npy"], "--out must be a folder"),
        (["sample", "--run", cgan, "--label", "1", "--seed", "-1", "--out", tmp_path / "x.png"],
         "--seed must be between 0 and 4294967295, not -1"),
        (["synth", "--run", cgan, "--n", "20", "--seed", "9" * 23, "--out", tmp_path / "s.npz"],
         "--seed must be between 0 and 4294967295"),
        (["train", "--dataset", "mnist", "--seed", "-5", "--runs-dir", runs_dir], "--seed must be between 0"),
        (["eval", "--run", "nowhere", "--runs-dir", runs_dir], f"nor a run in {runs_dir}/"),
        (["sample", "--run", broken, "--label", "1", "--out", tmp_path / "x.png"],
         f"{broken / 'config.json'} is not valid JSON"),
    ]
    for arguments, message in cases:
        assert main(list(map(str, arguments))) == 2, arguments
        error = capsys.readouterr().err
        assert message in error and error.startswith("error: ") and len(error.strip().splitlines()) == 1, error
    assert export(["--run", str(cgan), "--name", "my/model", "--web-dir", str(tmp_path / "web")]) == 2
    assert "may use only letters" in capsys.readouterr().err and not (tmp_path / "web").exists()
    assert export(["--run", "nowhere", "--runs-dir", str(runs_dir), "--web-dir", str(tmp_path / "web")]) == 2
    assert "nowhere is not a run directory" in capsys.readouterr().err
    # What works says what it did: the label drawn, and shares that cannot be equal.
    assert main(["sample", "--run", str(cgan), "--label", "7", "--n", "2", "--out", str(tmp_path / "s.npy")]) == 0
    assert "of label '7' (index 7)" in capsys.readouterr().out
    assert main(["synth", "--run", str(cgan), "--n", "15", "--out", str(tmp_path / "s.npz")]) == 0
    assert "the first 5 labels get one image more" in capsys.readouterr().out


def test_synth_checks_its_destination_first_and_reads_npz_in_any_case(runs_dir, tmp_path, capsys):
    from trainer.__main__ import main

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.png").write_text("")
    (tmp_path / "set.npz").mkdir()
    (tmp_path / "file").write_text("")
    # Refused before the run is even read: drawing can take minutes.
    for out, message in (("full", "is not an empty folder"), ("set.npz", "is a folder; name a file"),
                         ("file/sub", "file is a file, not a folder"), ("file/a/b.npz", "file is a file")):
        assert main(["synth", "--run", str(tmp_path / "nowhere"), "--n", "20", "--out", str(tmp_path / out)]) == 2
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1, error
    cgan = train(runs_dir, "--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50", "--epochs", "1",
                 "--model", "cgan")
    assert main(["synth", "--run", str(cgan), "--n", "20", "--out", str(tmp_path / "SET.NPZ")]) == 0
    assert (tmp_path / "SET.NPZ").is_file() and np.load(tmp_path / "SET.NPZ")["images"].shape == (20, 28, 28, 1)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["SET.NPZ", "file", "full", "runs", "set.npz"]


def test_synth_gives_every_label_an_image_and_notes_shares_only_for_labelled_runs(runs_dir, tmp_path, capsys):
    from trainer.__main__ import main

    small = ("--dataset", "mnist", "--limit-per-class", "10", "--batch-size", "50", "--epochs", "1")
    cgan = train(runs_dir, *small, "--model", "cgan", run_name="cgan")
    gan = train(runs_dir, *small, "--model", "gan", run_name="gan")
    capsys.readouterr()
    # Five images of ten labels would be a data set without half its labels.
    assert main(["synth", "--run", str(cgan), "--n", "5", "--out", str(tmp_path / "five.npz")]) == 2
    assert "--n must be at least 10: one image of each label" in capsys.readouterr().err
    assert not (tmp_path / "five.npz").exists()
    assert main(["synth", "--run", str(gan), "--n", "15", "--out", str(tmp_path / "g.npz")]) == 2
    output = capsys.readouterr()
    assert "gan is unconditional" in output.err and "note:" not in output.out


def test_tstr_needs_a_test_split_and_never_tests_on_the_training_images(runs_dir, tmp_path, capsys):
    from trainer.__main__ import main

    folder = draw_shapes_folder(tmp_path / "shapes", per_class=8)
    run = train(runs_dir, "--dataset", f"folder:{folder}", "--model", "cgan", "--image-size", "16",
                "--batch-size", "12", "--epochs", "1")
    capsys.readouterr()
    assert main(["tstr", "--run", str(run), "--sizes", "12", "--epochs", "1"]) == 2
    error = capsys.readouterr().err
    assert "has no test/ subfolder" in error and len(error.strip().splitlines()) == 1
    assert not (run / "tstr.json").exists()


def test_synthetic_class_folders_keep_names_apart_and_never_leave_the_folder():
    from trainer.synthetic import folder_name

    assert folder_name("T-shirt/top") == "T-shirt_top" and folder_name("..") == "__" and folder_name("") == "_"
    assert len({folder_name(name) for name in ("猫", "犬", "cat")}) == 3


@pytest.mark.slow
def test_hardest_of_keeps_per_label_the_fakes_the_class_head_names_least_surely(runs_dir, tmp_path):
    import tensorflow as tf

    from trainer.config import TrainConfig
    from trainer.sampling import load_discriminator
    from trainer.synthetic import hardest_named

    path = train(runs_dir, "--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50",
                 "--model", "cdcgan", "--lr", "1e-3", "--epochs", "3")
    config, discriminator = TrainConfig.load(path), load_discriminator(path)
    pool = data.load("mnist", "test", limit_per_class=20)  # real digits stand in for a pool of fakes
    chosen = hardest_named(discriminator, config, pool.images, pool.labels, keep_per_label=[5] * 10)
    assert np.bincount(pool.labels[chosen], minlength=10).tolist() == [5] * 10

    images = pool.images.astype("float32") / 127.5 - 1.0
    class_logits = discriminator({"image": images, "label": np.eye(10, dtype="float32")[pool.labels]})[1]
    probability = tf.nn.softmax(class_logits).numpy()[np.arange(len(pool.labels)), pool.labels]
    named = np.argmax(class_logits, axis=1) == pool.labels
    kept = np.isin(np.arange(len(pool.labels)), chosen)
    for label in range(10):
        mine = pool.labels == label
        assert (kept & mine & named).sum() == min(5, (mine & named).sum())  # named ones first
        for group in (named, ~named):
            kept_group, dropped_group = probability[kept & mine & group], probability[~kept & mine & group]
            if len(kept_group) and len(dropped_group):  # hardest named first; misnamed ones, surest first
                assert (kept_group.max() <= dropped_group.min()) if group is named \
                    else (kept_group.min() >= dropped_group.max())

    plain = run_cli("synth", "--run", path, "--n", "20", "--out", tmp_path / "plain.npz")
    hard = run_cli("synth", "--run", path, "--n", "20", "--hardest-of", "3", "--out", tmp_path / "hard.npz")
    assert plain.returncode == 0 and hard.returncode == 0, hard.stderr
    assert "drawing 60 images; the discriminator keeps the hardest 20" in hard.stdout
    plain, hard = np.load(tmp_path / "plain.npz"), np.load(tmp_path / "hard.npz")
    assert np.bincount(hard["labels"]).tolist() == [2] * 10 and not np.array_equal(plain["images"], hard["images"])
    result = run_cli("tstr", "--run", path, "--sizes", "100", "--epochs", "1", "--hardest-of", "2")
    assert result.returncode == 0, result.stderr
    assert json.loads((path / "tstr.json").read_text())["hardest_of"] == 2


def test_the_real_set_of_tstr_is_balanced_or_the_whole_unequal_training_set():
    from trainer.rundir import RunError
    from trainer.synthetic import real_training_set

    labels = np.repeat(np.arange(3, dtype=np.int32), [5, 7, 9])  # unequal classes, as MNIST's are
    real = data.ImageDataset(np.zeros((21, 4, 4, 1), np.uint8), labels, ("a", "b", "c"), "test")
    assert np.bincount(real_training_set(real, 15, seed=0).labels).tolist() == [5, 5, 5]
    assert np.bincount(real_training_set(real, 21, seed=0).labels).tolist() == [5, 7, 9]
    with pytest.raises(RunError, match="at most 15 in equal shares; use a size up to 15, or 21 for the whole set"):
        real_training_set(real, 18, seed=0)
