"""Real, small trainings through the CLI: every family, the run directory, resume, stop, kill -9,
NaN, and the errors a user can run into."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, draw_shapes_folder, run_cli, train, wait_for
from trainer.rundir import RunDirectory

SMALL = ("--dataset", "mnist", "--limit-per-class", "30", "--batch-size", "50")  # 300 images
HISTORY_KEYS = {"epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"}


def losses(history):
    return [{key: record[key] for key in ("epoch", "d_loss", "g_loss", "d_real", "d_fake")} for record in history]


def assert_same_history(first, second):
    assert [record["epoch"] for record in first] == [record["epoch"] for record in second]
    for a, b in zip(losses(first), losses(second)):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (key, a, b)


def assert_same_generator(first, second):
    """The final generators (the averaged ones, for runs that average) draw the same images."""
    from trainer.sampling import generate, grid_inputs, load_generator

    (a, config), (b, _) = load_generator(first), load_generator(second)
    latent, labels, _ = grid_inputs(config)
    np.testing.assert_allclose(generate(a, config, latent, labels), generate(b, config, latent, labels), atol=1e-4)


@pytest.mark.parametrize("model", ["gan", "cgan", "cdcgan-sony", "cdcgan"])
def test_one_epoch_writes_a_complete_run_directory(runs_dir, model):
    path = train(runs_dir, *SMALL, "--model", model, "--epochs", "1")
    run = RunDirectory(path)
    config = json.loads(run.config_path.read_text())
    assert config["model"] == model and config["image_shape"] == [28, 28, 1]
    assert config["label_names"] == list("0123456789") and config["batch_size"] == 50
    (record,) = run.history()
    assert set(record) == HISTORY_KEYS and record["epoch"] == 1
    assert all(np.isfinite(record[key]) for key in HISTORY_KEYS)
    assert 0 <= record["d_real"] <= 1 and record["images_per_second"] > 0
    grid = np.asarray(Image.open(run.sample_path(1)))
    assert grid.shape == (10 * 30 + 2, 10 * 30 + 2) and grid.std() > 0  # 10x10 cells of 28+2 px
    status = run.status()
    assert status["state"] == "finished" and status["epoch"] == status["epochs"] == 1
    assert run.generator_path.exists() and (run.checkpoints_dir / "checkpoint").exists()
    assert any(run.tensorboard_dir.iterdir())
    assert not list(path.rglob("*.tmp"))


def test_dcgan_trains_on_an_rgb_folder(tmp_path, runs_dir):
    folder = draw_shapes_folder(tmp_path / "shapes")
    path = train(runs_dir, "--dataset", f"folder:{folder}", "--model", "dcgan", "--image-size", "32",
                 "--batch-size", "16", "--epochs", "1")
    config = json.loads((path / "config.json").read_text())
    assert config["image_shape"] == [32, 32, 3] and config["label_names"] == ["circle", "square", "triangle"]
    grid = np.asarray(Image.open(path / "samples" / "epoch_0001.png"))
    assert grid.shape == (10 * 34 + 2, 10 * 34 + 2, 3)
    # A class added to the folder since: resuming is refused and the run is left as it was.
    shutil.copytree(folder / "circle", folder / "zebra")
    before = {name: (path / name).read_text() for name in ("config.json", "status.json")}
    train(runs_dir, "--resume", "--epochs", "2", expect=2)
    assert {name: (path / name).read_text() for name in before} == before


def test_the_default_name_of_a_folder_run_is_a_valid_run_name(tmp_path, runs_dir, capsys):
    # The run was named after the folder as it was, and 'my shapes ñ-cgan' was refused as a
    # run name the user had never typed.
    from trainer.__main__ import main

    folder = draw_shapes_folder(tmp_path / "my shapes ñ", per_class=4, size=16)
    assert main(["train", "--dataset", f"folder:{folder}", "--model", "cgan", "--image-size", "8",
                 "--batch-size", "4", "--epochs", "1", "--runs-dir", str(runs_dir)]) == 0, capsys.readouterr().err
    assert RunDirectory(runs_dir / "my-shapes-cgan").status()["state"] == "finished"


def test_a_run_name_that_starts_with_a_dot_or_is_too_long_is_refused_for_what_it_is(runs_dir, capsys):
    from trainer.__main__ import main

    # '.hidden' was refused as if it used other characters than letters, digits, '.', '_' and '-'.
    train(runs_dir, *SMALL, "--model", "cgan", run_name=".hidden", expect=2)
    assert "run name '.hidden' must start with a letter or digit" in capsys.readouterr().err
    assert not runs_dir.exists()
    # Past the file system's 255 it failed with "File name too long", after the data had loaded.
    assert main(["train", "--dataset", "folder:/nowhere", "--run-name", "x" * 300, "--runs-dir", str(runs_dir)]) == 2
    assert "at most 255 characters, not 300" in capsys.readouterr().err


def test_resume_continues_exactly(runs_dir):
    straight = train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "3", run_name="straight")
    train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "1", run_name="resumed")
    resumed = train(runs_dir, "--epochs", "3", "--resume", run_name="resumed")
    assert_same_history(RunDirectory(straight).history(), RunDirectory(resumed).history())
    assert_same_generator(straight, resumed)
    assert RunDirectory(resumed).status()["state"] == "finished"


def test_the_averaged_generator_is_the_one_that_samples_and_is_saved(runs_dir):
    import tensorflow as tf

    from trainer.models import get_family
    from trainer.sampling import generate, grid_inputs, load_generator

    path = train(runs_dir, *SMALL, "--model", "cgan", "--average-decay", "0.99", "--epochs", "2")
    final, config = load_generator(path)
    from_checkpoint, _ = load_generator(path, epoch=2)
    trained = get_family("cgan").build_generator(config.latent_dim, config.image_shape, 10)
    tf.train.Checkpoint(generator=trained).read(str(path / "checkpoints" / "ckpt-2")).expect_partial()
    latent, labels, _ = grid_inputs(config)
    images = {name: generate(model, config, latent, labels)
              for name, model in (("final", final), ("checkpoint", from_checkpoint), ("trained", trained))}
    np.testing.assert_allclose(images["final"], images["checkpoint"], atol=1e-6)
    assert np.abs(images["final"] - images["trained"]).max() > 1e-3  # an average, not a copy


def test_class_loss_teaches_the_discriminator_to_name_real_digits(runs_dir):
    from trainer import data
    from trainer.config import TrainConfig
    from trainer.sampling import load_discriminator

    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--class-loss-weight", "1", "--lr", "1e-3", "--epochs", "6")
    assert TrainConfig.load(path).class_loss_weight == 1.0
    discriminator = load_discriminator(path)  # with its class head, as the run trained it, from epoch 6
    test_set = data.load("mnist", "test", limit_per_class=50)
    images = test_set.images.astype("float32") / 127.5 - 1.0
    # The label input only feeds the real-or-fake projection; the head must read the digit itself.
    blank = np.zeros((len(images), 10), "float32")
    _, class_logits = discriminator({"image": images, "label": blank}, training=False)
    accuracy = np.mean(np.argmax(class_logits, axis=1) == test_set.labels)
    assert accuracy > 0.5, accuracy  # chance is 0.1; 36 steps on 300 images


def test_twin_class_head_learns_the_labels_of_fakes_and_needs_a_class_loss(runs_dir, capsys):
    """TAC-GAN: the first head learns to name real digits, the twin the labels of fakes (while G
    works against it); both are in the checkpoint, where `build_discriminator` finds them."""
    import tensorflow as tf

    from trainer import data
    from trainer.config import TrainConfig
    from trainer.models import build_discriminator
    from trainer.sampling import load_generator

    train(runs_dir, *SMALL, "--model", "cdcgan", "--twin-class-head", "--class-loss-weight", "0", "--epochs", "1",
          expect=2)
    assert "--twin-class-head needs a class loss" in capsys.readouterr().err
    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--twin-class-head", "--lr", "1e-3", "--epochs", "6")
    config = TrainConfig.load(path)
    assert config.twin_class_head and config.class_loss_weight == 1.0
    discriminator = build_discriminator(config)
    tf.train.Checkpoint(discriminator=discriminator).read(
        str(path / "checkpoints" / "ckpt-6")).assert_existing_objects_matched()

    def accuracies(images, labels):
        blank = np.zeros((len(labels), 10), "float32")  # the heads must read the image, not the label input
        _, class_logits, twin_logits = discriminator({"image": images, "label": blank}, training=False)
        return [np.mean(np.argmax(logits, axis=1) == labels) for logits in (class_logits, twin_logits)]

    generator, _ = load_generator(path)
    labels = np.arange(500) % 10
    fakes = np.asarray(generator({"latent": tf.random.stateless_normal((500, config.latent_dim), seed=(5, 6)),
                                  "label": tf.one_hot(labels, 10)}, training=False))
    _, twin_on_fakes = accuracies(fakes, labels)
    test_set = data.load("mnist", "test", limit_per_class=10)
    head_on_real, _ = accuracies(test_set.images.astype("float32") / 127.5 - 1.0, test_set.labels)
    # Chance is 0.1 (0.15 is four standard deviations above it for 500 fakes); measured 0.25 and
    # 0.76 after these 36 steps on 300 images.
    assert twin_on_fakes > 0.15 and head_on_real > 0.3, (twin_on_fakes, head_on_real)


def test_mode_seeking_loss_punishes_pairs_that_ignore_their_noise():
    import tensorflow as tf

    from trainer.steps import mode_seeking_loss

    latent = tf.random.stateless_normal((6, 8), seed=(1, 2))
    images = tf.random.stateless_uniform((6, 4, 4, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    collapsed = tf.concat([images[:3], images[:3]], 0)  # each pair: two noise vectors, one image
    assert mode_seeking_loss(collapsed, latent) > 1000 * mode_seeking_loss(images, latent)
    varied = tf.concat([images[:3], -images[:3]], 0)  # the pairs further apart: a lower loss
    assert mode_seeking_loss(varied, latent) < mode_seeking_loss(images, latent)
    # An odd batch: the last sample has no partner and is left out, not paired with garbage.
    np.testing.assert_allclose(mode_seeking_loss(tf.concat([images, images[:1]], 0), tf.concat([latent, latent[:1]], 0)),
                               mode_seeking_loss(images, latent), rtol=1e-6)


def test_mode_seeking_trains_and_resumes_exactly(runs_dir):
    """The pairs share their labels, drawn from the same noise as every step's: a stopped run
    resumes on the same path, and the weight is recorded so the resumed run keeps the loss."""
    options = (*SMALL, "--model", "cdcgan", "--mode-seeking-weight", "1")
    path = train(runs_dir, *options, "--epochs", "2", run_name="whole")
    assert json.loads((path / "config.json").read_text())["mode_seeking_weight"] == 1.0
    split = train(runs_dir, *options, "--epochs", "1", run_name="split")
    train(runs_dir, "--resume", "--epochs", "2", run_name="split")
    assert_same_history(RunDirectory(path).history(), RunDirectory(split).history())
    plain = train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "1", run_name="plain")
    # G's loss carries the mode-seeking term (about 1 / 0.3 for distinct digits) on top of hinge.
    assert RunDirectory(path).history()[0]["g_loss"] > RunDirectory(plain).history()[0]["g_loss"] + 1


def test_a_run_from_before_the_class_loss_resumes_without_it(runs_dir):
    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--class-loss-weight", "0", "--epochs", "1")
    config = json.loads((path / "config.json").read_text())
    del config["class_loss_weight"], config["lr_decay_epochs"]  # as an older version wrote it
    (path / "config.json").write_text(json.dumps(config))
    train(runs_dir, "--resume", "--epochs", "2")  # a class head now would not match the checkpoint
    assert json.loads((path / "config.json").read_text())["class_loss_weight"] == 0
    assert len(RunDirectory(path).history()) == 2


def train_as_an_earlier_version(runs_dir, model, layouts, written_as):
    """A one-epoch run of `model` whose networks have `layouts` (e.g. generator_layout=1), as a
    version before a layout change trained it, and whose config.json `written_as` edits into what
    that version wrote. Returns the run and the config a new run gets."""
    from trainer import data
    from trainer.config import TrainConfig
    from trainer.models import get_family
    from trainer.rundir import atomic_write
    from trainer.launch import validate_for
    from trainer.train import GANTrainer

    dataset = data.load("mnist", limit_per_class=30)
    config = TrainConfig(model=model, runs_dir=str(runs_dir), run_name="run", epochs=1, limit_per_class=30,
                         batch_size=50, average_decay=0.9)
    new = validate_for(config.resolve(get_family(model).DEFAULTS), dataset, replicas=1)
    config = dataclasses.replace(new, **layouts)
    run = RunDirectory(config.run_dir)
    run.path.mkdir(parents=True)
    written = json.loads(config.to_json())
    written_as(written)
    atomic_write(run.config_path, json.dumps(written))
    GANTrainer(config, dataset, run, log=lambda *_: None).fit()
    return run, new


def assert_samples_as_its_checkpoint_and_resumes(runs_dir, run):
    """The run's final generator draws what its epoch-1 checkpoint does, and it resumes: every
    checkpointed weight must find its layer. Returns the final generator and its config."""
    from trainer.sampling import generate, grid_inputs, load_generator

    final, config = load_generator(run.path)
    from_checkpoint, _ = load_generator(run.path, epoch=1)
    latent, labels, _ = grid_inputs(config)
    np.testing.assert_allclose(generate(final, config, latent, labels),
                               generate(from_checkpoint, config, latent, labels), atol=1e-6)
    train(runs_dir, "--resume", "--epochs", "2")  # restores the averaged generator too
    assert len(run.history()) == 2
    return final, config


def test_a_run_from_before_the_one_layer_upsampling_samples_and_resumes_with_its_layout(runs_dir):
    """cdcgan's last upsampling and convolution became one layer after runs had been written;
    their checkpoints name the convolution by its position, so they keep the two layers."""
    from trainer.config import TrainConfig

    def as_written_before_layouts(written):
        del written["generator_layout"]

    run, _ = train_as_an_earlier_version(runs_dir, "cdcgan", dict(generator_layout=1), as_written_before_layouts)
    _, config = assert_samples_as_its_checkpoint_and_resumes(runs_dir, run)
    assert config.generator_layout == 1 and TrainConfig.load(run.path).generator_layout == 1


def test_an_mlp_cgan_run_from_before_its_split_first_layers_samples_and_resumes_with_them(runs_dir):
    """cgan's first layers became one Dense per input (layout 2) after runs had been written with
    the label concatenated to a single Dense (layout 1), which their checkpoints hold; those runs
    recorded no layouts (null, or nothing), and read as layout 1."""
    from trainer.config import TrainConfig

    def as_written_before_cgan_had_layouts(written):
        written["generator_layout"] = None
        del written["discriminator_layout"]

    run, new = train_as_an_earlier_version(runs_dir, "cgan", dict(generator_layout=1, discriminator_layout=1),
                                           as_written_before_cgan_had_layouts)
    assert new.generator_layout == new.discriminator_layout == 2  # a new run's
    final, config = assert_samples_as_its_checkpoint_and_resumes(runs_dir, run)
    assert config.generator_layout == config.discriminator_layout == 1
    assert any(layer.__class__.__name__ == "Concatenate" for layer in final.layers)
    assert TrainConfig.load(run.path).discriminator_layout == 1


def test_class_batch_norm_trains_resumes_exactly_and_gives_each_label_its_scales(runs_dir, capsys):
    from trainer.sampling import load_generator

    options = (*SMALL, "--model", "cdcgan", "--class-batch-norm", "--average-decay", "0.9")
    whole = train(runs_dir, *options, "--epochs", "2", run_name="whole")
    assert json.loads((whole / "config.json").read_text())["class_batch_norm"] is True
    split = train(runs_dir, *options, "--epochs", "1", run_name="split")
    train(runs_dir, "--resume", "--epochs", "2", run_name="split")  # rebuilt from config.json
    assert_same_history(RunDirectory(whole).history(), RunDirectory(split).history())
    assert_same_generator(whole, split)
    generator, _ = load_generator(whole)
    scales = [np.asarray(layer.class_scale) for layer in generator.layers if hasattr(layer, "class_scale")]
    assert len(scales) == 2 and all(np.ptp(scale, axis=0).max() > 1e-3 for scale in scales)  # no longer all ones
    path = train(runs_dir, *options, "--epochs", "1", "--precision", "mixed_float16", run_name="half")
    assert np.isfinite(RunDirectory(path).history()[0]["g_loss"])
    train(runs_dir, *SMALL, "--model", "cgan", "--class-batch-norm", "--epochs", "1", run_name="mlp", expect=2)
    assert "--class-batch-norm is not an option of cgan (it is of: cdcgan)" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--class-loss-weight", "--generator-width", "--discriminator-width"])
def test_family_options_are_refused_by_other_families(runs_dir, capsys, option):
    train(runs_dir, *SMALL, "--model", "cgan", option, "2", "--epochs", "1", expect=2)
    assert f"{option} is not an option of cgan (it is of: cdcgan)" in capsys.readouterr().err
    assert not (runs_dir / "run" / "config.json").exists()
    train(runs_dir, *SMALL, "--model", "cdcgan", option, "-1", "--epochs", "1", expect=2)
    assert "at least" in capsys.readouterr().err
    if option.endswith("-width"):  # no channels at all: refused before any layer is built
        train(runs_dir, *SMALL, "--model", "cdcgan", option, "0", "--epochs", "1", expect=2)
        error = capsys.readouterr().err
        assert option in error and "must be at least 1" in error


def test_a_wider_generator_samples_the_same_from_its_checkpoint(runs_dir):
    from trainer.sampling import generate, grid_inputs, load_generator

    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--generator-width", "2", "--epochs", "1")
    final, config = load_generator(path)
    rebuilt, _ = load_generator(path, epoch=1)  # built again from config.json, then the checkpoint
    dense_units = [layer.units for layer in final.layers if hasattr(layer, "units")]
    assert dense_units == [7 * 7 * 128]  # twice the 64 channels at 7x7
    latent, labels, _ = grid_inputs(config)
    np.testing.assert_allclose(generate(final, config, latent, labels), generate(rebuilt, config, latent, labels),
                               atol=1e-6)


def test_a_wider_discriminator_is_rebuilt_from_config_on_resume(runs_dir):
    import tensorflow as tf

    from trainer.config import TrainConfig
    from trainer.models import build_discriminator

    path = train(runs_dir, *SMALL, "--model", "cdcgan", "--discriminator-width", "2", "--twin-class-head",
                 "--epochs", "1")
    config = TrainConfig.load(path)
    discriminator = build_discriminator(config)
    filters = [layer.filters for layer in discriminator.layers if hasattr(layer, "filters")]
    assert filters == [64, 128]  # twice the 32 and 64 channels
    tf.train.Checkpoint(discriminator=discriminator).read(
        str(path / "checkpoints" / "ckpt-1")).assert_existing_objects_matched()
    train(runs_dir, "--resume", "--epochs", "2")  # builds the same widths again
    assert TrainConfig.load(path).discriminator_width == 2 and len(RunDirectory(path).history()) == 2


def test_classifier_features_read_the_frozen_lenet_and_a_run_keeps_its_copy(runs_dir, classifiers, tmp_path, capsys):
    """Projected GAN: D reads the data set's LeNet convolutions, which training leaves as they were;
    the run's checkpoints carry them, so it resumes exactly after the classifier has gone."""
    from trainer.classifier import Classifier
    from trainer.config import TrainConfig
    from trainer.sampling import load_discriminator

    options = (*SMALL, "--model", "cdcgan", "--classifier-features")
    train(runs_dir, *options, "--classifiers-dir", str(tmp_path / "none"), "--epochs", "1", expect=2)
    assert "no lenet classifier for mnist" in capsys.readouterr().err
    assert not (runs_dir / "run").exists()
    train(runs_dir, *options, "--model", "cgan", "--epochs", "1", expect=2)
    assert "--classifier-features is not an option of cgan" in capsys.readouterr().err

    copy = tmp_path / "copy"
    shutil.copytree(classifiers, copy)
    straight = train(runs_dir, *options, "--classifiers-dir", str(classifiers), "--epochs", "2", run_name="straight")
    train(runs_dir, *options, "--classifiers-dir", str(copy), "--epochs", "1", run_name="resumed")
    shutil.rmtree(copy)
    resumed = train(runs_dir, "--epochs", "2", "--resume", run_name="resumed")
    assert_same_history(RunDirectory(straight).history(), RunDirectory(resumed).history())
    assert_same_generator(straight, resumed)

    lenet = Classifier.for_run(TrainConfig.load(straight), classifiers).model
    discriminator = load_discriminator(resumed)
    maps = discriminator.get_layer("classifier_features")
    assert not maps.trainable_weights and maps.weights
    kernels = [layer.kernel for layer in lenet.layers if hasattr(layer, "kernel") and len(layer.kernel.shape) == 4]
    for kept, trained in zip(kernels, [weight for weight in maps.weights if len(weight.shape) == 4], strict=True):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(trained))


def test_existing_run_is_refused_without_resume_or_overwrite(runs_dir, capsys):
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1")
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1", expect=2)
    assert "--resume" in capsys.readouterr().err
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "2", "--overwrite")
    config = (runs_dir / "run" / "config.json").read_text()
    # Resuming to fewer epochs than trained would rewrite the run as "epoch 2 of 1".
    train(runs_dir, "--resume", "--epochs", "1", expect=2)
    assert "has already trained 2 epochs" in capsys.readouterr().err
    # An option of another family is refused before --overwrite empties the run.
    train(runs_dir, *SMALL, "--model", "cgan", "--generator-width", "2", "--overwrite", expect=2)
    assert "--generator-width is not an option of cgan" in capsys.readouterr().err
    # So is a data set that cannot be read: the run that --overwrite would replace stays whole.
    train(runs_dir, "--dataset", "folder:/nowhere", "--model", "cgan", "--overwrite", expect=2)
    assert "does not exist" in capsys.readouterr().err
    # And what only the loaded data can tell: too few images for a batch, an image size the
    # family cannot build.
    files = sorted(str(path.relative_to(runs_dir)) for path in (runs_dir / "run").rglob("*"))
    train(runs_dir, *SMALL, "--model", "cgan", "--limit-per-class", "3", "--overwrite", expect=2)
    assert "30 images are fewer than one batch" in capsys.readouterr().err
    train(runs_dir, *SMALL, "--model", "cdcgan", "--image-size", "30", "--overwrite", expect=2)
    assert "cdcgan needs square images whose size is a multiple of 4" in capsys.readouterr().err
    assert sorted(str(path.relative_to(runs_dir)) for path in (runs_dir / "run").rglob("*")) == files
    assert (runs_dir / "run" / "config.json").read_text() == config
    assert RunDirectory(runs_dir / "run").status()["state"] == "finished"
    # A refused new run leaves no folder behind (not even its lock) to be refused as existing.
    train(runs_dir, *SMALL, "--model", "cdcgan", "--twin-class-head", "--class-loss-weight", "0",
          run_name="new", expect=2)
    assert "needs a class loss" in capsys.readouterr().err and not (runs_dir / "new").exists()
    # A resumed run keeps its options; changing one is refused rather than ignored...
    train(runs_dir, "--resume", "--epochs", "3", "--lr", "0.5", "--batch-size", "10", expect=2)
    assert ("--batch-size (the run has 50), --lr (the run has 0.001): a resumed run keeps the options in its "
            "config.json") in capsys.readouterr().err
    # ...but the command that started it, with --resume added, continues it.
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "3", "--resume")
    assert RunDirectory(runs_dir / "run").status()["epoch"] == 3
    with pytest.raises(SystemExit):  # argparse: the two contradict each other
        train(runs_dir, "--resume", "--overwrite")
    assert "not allowed with argument --resume" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (("--steps-per-call", "0"), "--steps-per-call must be at least 1, not 0"),
    (("--epochs", "0"), "--epochs must be at least 1, not 0"),
    (("--batch-size", "0"), "--batch-size must be at least 1, not 0"),
    (("--latent-dim", "0"), "--latent-dim must be at least 1, not 0"),
    (("--keep-checkpoints", "0"), "--keep-checkpoints must be at least 1, not 0"),
    (("--lr", "-1"), "--lr must be above 0, not -1.0"),
    (("--average-decay", "5"), "--average-decay must be at least 0 and below 1, not 5.0"),
    (("--d-steps", "40"), "--d-steps must be between 1 and 31, not 40"),
])
def test_option_values_that_cannot_work_are_refused_before_anything_starts(runs_dir, capsys, options, message):
    train(runs_dir, *SMALL, "--model", "cgan", *options, expect=2)
    assert message in capsys.readouterr().err
    assert not (runs_dir / "run" / "config.json").exists()


def test_second_training_into_the_same_run_is_refused(runs_dir, capsys):
    holder = RunDirectory(runs_dir / "run")
    holder.lock()
    try:
        train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1", expect=2)
        assert "being trained" in capsys.readouterr().err
    finally:
        holder.unlock()


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(runs_dir, capsys):
    path = train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1")
    config = json.loads((path / "config.json").read_text())
    config["lr"] = 1e30  # Adam moves every weight by about lr: activations overflow at once
    (path / "config.json").write_text(json.dumps(config))
    train(runs_dir, "--epochs", "3", "--resume", expect=1)
    status = RunDirectory(path).status()
    assert status["state"] == "failed" and "epoch 2 at step" in status["error"]
    assert "epoch 2" in capsys.readouterr().err
    assert (path / "checkpoints" / "ckpt-1.index").exists()
    assert not (path / "checkpoints" / "ckpt-2.index").exists()
    assert len(RunDirectory(path).history()) == 1
    # The epoch-1 generator.keras of the finished run went when it trained on: sample, eval and
    # export read the newest checkpoint instead, not a generator older than the status says.
    assert not (path / "generator.keras").exists()


def test_unknown_model_and_dataset_list_the_choices(runs_dir):
    result = run_cli("train", "--model", "stylegan", "--runs-dir", runs_dir)
    assert result.returncode == 2 and "cdcgan-sony" in result.stderr
    result = run_cli("train", "--dataset", "cifar10", "--runs-dir", runs_dir)
    assert result.returncode == 2 and "fashion_mnist" in result.stderr and "folder:" in result.stderr
    assert "Traceback" not in result.stderr


def start_training(runs_dir, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "trainer", "train", "--runs-dir", str(runs_dir), "--run-name", "run", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# A few hundred iterations per epoch, one per graph call, so that signals land mid-epoch.
SLOW = ("--dataset", "mnist", "--limit-per-class", "100", "--batch-size", "10", "--model", "cgan",
        "--steps-per-call", "1", "--epochs", "3", "--average-decay", "0.9", "--lr-decay-epochs", "2")


def test_sigterm_mid_epoch_saves_and_resume_matches_an_uninterrupted_run(runs_dir):
    straight = train(runs_dir, *SLOW, run_name="straight")
    process = start_training(runs_dir, *SLOW)
    run = RunDirectory(runs_dir / "run")
    wait_for(lambda: run.status().get("epoch", 0) >= 1)  # epoch 2 is under way
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert run.status()["state"] == "stopped" and "--resume" in stderr
    assert (run.checkpoints_dir / "interrupted" / "checkpoint").exists()
    train(runs_dir, "--resume", run_name="run")
    assert_same_history(RunDirectory(straight).history(), run.history())
    assert_same_generator(straight, run.path)
    # --lr-decay-epochs 2 of 3: the rate is still 1e-3 after epoch 1, half after 2, zero at the end.
    import tensorflow as tf

    rates = [tf.train.load_variable(str(run.checkpoints_dir / f"ckpt-{epoch}"),
                                    "g_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE") for epoch in (1, 2, 3)]
    np.testing.assert_allclose(rates, [1e-3, 5e-4, 0.0], atol=1e-9)


def test_ctrl_c_while_the_models_are_built_stops_the_run_rather_than_failing_it(runs_dir):
    # Ctrl-C between "training ..." and the first step printed a traceback and marked the run
    # failed, with the error "KeyboardInterrupt: ".
    # Epochs enough that a signal late on a busy machine, landing in the training itself, still
    # stops it rather than arriving after the end (either way the run must end up stopped).
    process = start_training(runs_dir, *SMALL, "--model", "cgan", "--epochs", "500")
    assert process.stdout.readline().startswith("training cgan")  # config.json is written; the models are not built
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr and "--resume" in stderr, stderr
    run = RunDirectory(runs_dir / "run")
    assert run.status()["state"] == "stopped" and "error" not in run.status()
    done = run.status()["epoch"]
    train(runs_dir, "--resume", "--epochs", str(done + 1), run_name="run")
    assert run.status()["state"] == "finished" and len(run.history()) == done + 1


def test_kill_9_loses_at_most_the_epoch_in_progress(runs_dir):
    import tensorflow as tf

    # Enough epochs (about 0.1 s each) that every kill lands before the training ends.
    long = (*SLOW, "--epochs", "60")
    straight = train(runs_dir, *long, run_name="straight")
    run = RunDirectory(runs_dir / "run")
    rng = np.random.default_rng(0)
    straight_history = RunDirectory(straight).history()
    for attempt in range(3):  # kill at a random moment, three times over
        process = start_training(runs_dir, *long, *(["--resume"] if attempt else []))
        # Kill once an epoch is on disk, so that every kill has something to lose.
        wait_for(lambda: run.status().get("state") == "running" and run.status().get("epoch", 0) >= 1)
        assert process.poll() is None, process.communicate()
        time.sleep(rng.uniform(0.5, 3.0))
        process.kill()
        process.wait()
        # An epoch's record is written, then its checkpoint, then the status that counts it: a
        # kill between any two leaves the record of the epoch in progress at most one ahead.
        epochs_done = run.status()["epoch"]
        history = run.history()
        assert epochs_done >= 1 and epochs_done <= len(history) <= epochs_done + 1, (epochs_done, len(history))
        checkpoint = tf.train.latest_checkpoint(run.checkpoints_dir)
        assert int(tf.train.load_variable(checkpoint, "epoch/.ATTRIBUTES/VARIABLE_VALUE")) in (epochs_done, epochs_done + 1)
        # Nothing written half or out of order: what was kept is what the straight run recorded.
        assert_same_history(straight_history[:len(history)], history)
    train(runs_dir, "--resume", run_name="run")
    assert run.status()["state"] == "finished"
    assert_same_history(RunDirectory(straight).history(), run.history())
    assert_same_generator(straight, run.path)


def test_sample_writes_png_grids_and_raw_arrays(runs_dir, tmp_path):
    train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "2")
    result = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "12",
                     "--seed", "5", "--out", tmp_path / "three.npy")
    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / "three.npy")
    assert images.shape == (12, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    result = run_cli("sample", "--run", runs_dir / "run", "--epoch", "1", "--label", "3", "--n", "12",
                     "--seed", "5", "--out", tmp_path / "three.png")
    assert result.returncode == 0, result.stderr
    assert np.asarray(Image.open(tmp_path / "three.png")).shape == (2 * 30 + 2, 10 * 30 + 2)
    again = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "12",
                    "--seed", "5", "--out", tmp_path / "again.npy")
    assert again.returncode == 0 and np.array_equal(np.load(tmp_path / "again.npy"), images)
    # Noise scaled to 0 is the mean noise vector: every sample of a label is the same image.
    typical = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "4",
                      "--noise-scale", "0", "--out", tmp_path / "typical.npy")
    assert typical.returncode == 0, typical.stderr
    typical = np.load(tmp_path / "typical.npy")
    assert np.array_equal(typical, typical[:1].repeat(4, axis=0)) and not np.array_equal(images[0], images[1])


def test_sample_errors_are_one_clear_line(runs_dir, tmp_path):
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1", "--keep-checkpoints", "1")
    cases = [
        (("--label", "11"), "unknown label"),
        (("--label", "3", "--epoch", "7"), "kept epochs: 1"),
        (("--label", "3", "--noise-scale", "-1"), "--noise-scale: must be 0 or more"),
        (("--label", "3", "--noise-scale", "nan"), "--noise-scale: must be 0 or more"),
        ((), "--label is required"),
    ]
    for extra, message in cases:
        result = run_cli("sample", "--run", runs_dir / "run", "--out", tmp_path / "x.png", *extra)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    result = run_cli("sample", "--run", tmp_path / "nowhere", "--label", "1", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "not a run directory" in result.stderr


def test_sample_out_is_read_whatever_its_case_and_a_folder_is_refused(runs_dir, tmp_path, capsys):
    from trainer.__main__ import main

    path = train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1")
    (tmp_path / "grid.png").mkdir()
    capsys.readouterr()
    assert main(["sample", "--run", str(path), "--label", "3", "--n", "3", "--out", str(tmp_path / "GRID.PNG")]) == 0
    assert Image.open(tmp_path / "GRID.PNG").format == "PNG"
    assert main(["sample", "--run", str(path), "--label", "3", "--n", "3", "--out", str(tmp_path / "RAW.NPY")]) == 0
    assert np.load(tmp_path / "RAW.NPY").shape == (3, 28, 28, 1)
    assert main(["sample", "--run", str(path), "--label", "3", "--out", str(tmp_path / "grid.png")]) == 2
    error = capsys.readouterr().err
    assert "is a folder; name a file" in error and len(error.strip().splitlines()) == 1


def test_a_damaged_generator_is_named_with_the_way_round_it(runs_dir, tmp_path, capsys):
    from export.__main__ import main as export
    from trainer.__main__ import main

    path = train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "2", "--keep-checkpoints", "1")
    # Keras calls a damaged file "not found"; a copy cut short is the likely case.
    (path / "generator.keras").write_bytes(b"not a zip file")
    capsys.readouterr()
    capsys.readouterr()
    assert main(["sample", "--run", str(path), "--label", "3", "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err
    assert f"cannot load {path / 'generator.keras'}: it is damaged" in error and "--epoch (kept: 2)" in error
    assert len(error.strip().splitlines()) == 1
    assert main(["sample", "--run", str(path), "--label", "3", "--epoch", "2", "--out", str(tmp_path / "x.png")]) == 0
    assert export(["--run", str(path), "--web-dir", str(tmp_path / "web")]) == 2
    assert "it is damaged" in capsys.readouterr().err


@pytest.mark.parametrize("model, precision", [("cgan", "mixed_bfloat16"), ("cdcgan", "mixed_bfloat16"),
                                              ("cdcgan", "mixed_float16")])
def test_mixed_precision_trains_and_samples_in_float32(runs_dir, tmp_path, model, precision):
    """The GPU settings, as far as a CPU can try them: float16 needs its loss scaling (both
    optimizers are LossScaleOptimizers) to give finite losses."""
    import keras

    from trainer.sampling import load_generator

    path = train(runs_dir, *SMALL, "--model", model, "--epochs", "1", "--precision", precision)
    # The run's models compute in the low precision, and the process's later models are float32 again.
    assert precision.removeprefix("mixed_") in {layer.compute_dtype for layer in load_generator(path)[0].layers}
    assert keras.mixed_precision.global_policy().name == "float32"
    (record,) = RunDirectory(path).history()
    assert np.isfinite(record["d_loss"]) and np.isfinite(record["g_loss"])
    result = run_cli("sample", "--run", path, "--label", "0", "--n", "4", "--out", tmp_path / "x.npy")
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "x.npy").dtype == np.float32


@pytest.mark.parametrize("module, setting, expected", [
    ("trainer.train", None, "True"), ("export.tfjs", None, "True"), ("bench.train", None, "True"),
    ("trainer.train", "0", "False"),  # the user's own choice wins
])
def test_tensorflow_starts_with_its_onednn_kernels_unless_the_user_turned_them_off(module, setting, expected):
    # TensorFlow turns them on by itself only on some CPUs; trainer/__init__.py asks for them
    # everywhere, which works only if every entry point imports it before TensorFlow.
    environment = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        environment["TF_ENABLE_ONEDNN_OPTS"] = setting
    check = f"import {module}; from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == expected, (module, result.stderr[-2000:])


def test_a_command_starts_without_tensorflows_native_start_up_lines(runs_dir):
    # TensorFlow 2.19 wrote ten lines like "E0000 ... Unable to register cuDNN factory" and
    # "failed call to cuInit" to standard error on every start, past TF_CPP_MIN_LOG_LEVEL.
    path = train(runs_dir, "--dataset", "mnist", "--model", "cgan", "--limit-per-class", "10",
                 "--batch-size", "50", "--epochs", "1")
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "trainer", "sample", "--run", str(path), "--label", "3",
                             "--n", "4", "--out", str(runs_dir / "x.png")],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_start_up_filter_passes_on_every_other_line():
    script = ("import os, trainer\n"
              "with trainer.native_start_up_noise_filtered():\n"
              "    os.write(2, b'E0000 00:00:1.5 1 cuda_dnn.cc:8579] Unable to register cuDNN factory: x\\n')\n"
              "    os.write(2, b'a line of the user\\'s own\\n')\n"
              "    print('and a Python one', file=__import__('sys').stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "a line of the user's own\nand a Python one\n", result.stderr


# Step records: 100 iterations an epoch in calls of 7, a record once 30 have passed since the last.
STEPPED = ("--dataset", "mnist", "--limit-per-class", "100", "--batch-size", "10", "--model", "cgan",
           "--steps-per-call", "7", "--epochs", "2")
STEP_KEYS = {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"}


@pytest.fixture
def record_every_30(monkeypatch):
    from trainer.recorder import StepLog

    monkeypatch.setattr(StepLog, "every", 30)


def tensorboard_steps(path, tag):
    import tensorflow as tf

    return sorted(event.step for file in (path / "tb").glob("events.*")
                  for event in tf.compat.v1.train.summary_iterator(str(file))
                  for value in event.summary.value if value.tag == tag)


def test_step_records_come_every_few_calls_and_at_each_epochs_end(runs_dir, record_every_30):
    path = train(runs_dir, *STEPPED)
    records = RunDirectory(path).step_records()
    # After the call that reaches 30 iterations since the last record (35, 70), and the epoch's last (100).
    assert [(record["epoch"], record["step"]) for record in records] == [
        (1, 35), (1, 70), (1, 100), (2, 135), (2, 170), (2, 200)]
    assert all(set(record) == STEP_KEYS and record["seconds"] > 0 and record["images_per_second"] > 0
               for record in records)
    # Each record holds the means of its own iterations: weighted by them, an epoch's records
    # give the epoch's means, which history.jsonl takes from the running sums.
    for epoch in RunDirectory(path).history():
        ends = [0 if epoch["epoch"] == 1 else 100] + [record["step"] for record in records
                                                      if record["epoch"] == epoch["epoch"]]
        ours = [record for record in records if record["epoch"] == epoch["epoch"]]
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            weighted = sum(record[key] * (end - start) for record, start, end in zip(ours, ends, ends[1:])) / 100
            assert weighted == pytest.approx(epoch[key], rel=1e-9), key
    assert len({record["d_loss"] for record in records}) == 6  # not one epoch mean repeated
    assert tensorboard_steps(path, "steps/d_loss") == [35, 70, 100, 135, 170, 200]
    assert tensorboard_steps(path, "d_loss") == [1, 2]  # the epoch scalars stay by epoch


def stop_after(monkeypatch, stops):
    """SIGTERM to this process, as the app's Stop sends it, once training reaches each global
    iteration in `stops` (the signal handler of the training loop saves and stops)."""
    from trainer.recorder import EpochRecorder

    update = EpochRecorder.update

    def update_then_stop(self, done):
        update(self, done)
        if int(self.state.global_step) in stops:
            stops.remove(int(self.state.global_step))
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(EpochRecorder, "update", update_then_stop)


def test_step_records_resume_without_repeats_or_gaps(runs_dir, record_every_30, monkeypatch):
    straight = RunDirectory(train(runs_dir, *STEPPED, run_name="straight")).step_records()
    run = RunDirectory(runs_dir / "run")
    # Stopped between two records (49: after the one at 35), then exactly at one (170).
    stop_after(monkeypatch, [49, 170])
    train(runs_dir, *STEPPED, expect=130)
    assert [record["step"] for record in run.step_records()] == [35]
    # What a process killed after writing a record but before its checkpoint leaves behind: a
    # record past the saved position, then a line cut short by the kill.
    with open(run.steps_path, "a") as file:
        file.write(json.dumps(dict(straight[1], d_loss=99.0)) + "\n" + '{"step": 105, "epoch": 2, "d_lo')
    assert [record["step"] for record in run.step_records()] == [35, 70]  # the cut line is skipped
    train(runs_dir, "--resume", expect=130)
    assert [record["step"] for record in run.step_records()] == [35, 70, 100, 135, 170]
    train(runs_dir, "--resume")
    lines = run.steps_path.read_text().splitlines()
    resumed = [json.loads(line) for line in lines]  # every line whole: the cut one is gone
    assert [record["step"] for record in resumed] == [35, 70, 100, 135, 170, 200]
    for ours, theirs in zip(resumed, straight, strict=True):
        assert ours["epoch"] == theirs["epoch"]
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-6), (ours["step"], key)
    assert tensorboard_steps(run.path, "steps/d_loss")[-1] == 200


def test_a_step_file_cut_short_anywhere_is_read_up_to_the_cut(tmp_path):
    run = RunDirectory(tmp_path)
    assert run.step_records() == []  # a run from before step records
    records = [dict(step=step, epoch=1, d_loss=0.5) for step in (100, 200)]
    run.write_step_records(records)
    whole = run.steps_path.read_text()
    for cut in range(len(whole) - 1, len(whole.splitlines()[0]), -1):
        run.steps_path.write_text(whole[:cut])
        assert run.step_records() == (records if cut >= len(whole) - 1 else records[:1]), cut
    run.append_step_record(dict(step=300, epoch=2, d_loss=0.4))  # appended after a whole file
    assert [record["step"] for record in run.step_records()] == [100, 300]
