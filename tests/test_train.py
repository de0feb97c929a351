"""Training: the run directory each family writes, the losses and options that shape it, and
the refusals before anything starts."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, SMALL, assert_same_generator, assert_same_history, draw_shapes_folder, run_cli, train
from trainer.models import FAMILIES
from trainer.rundir import RunDirectory


HISTORY_KEYS = {"epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"}


# Every family that trains on grey MNIST; dcgan and colorize train on colour, in their own tests.
@pytest.mark.parametrize("model", [name for name in FAMILIES if name not in ("dcgan", "colorize")])
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


@pytest.mark.slow
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
    takers = "cdcgan, cdcgan-small" if option == "--class-loss-weight" else "cdcgan"
    assert f"{option} is not an option of cgan (it is of: {takers})" in capsys.readouterr().err
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


def test_tensorflow_starts_with_its_onednn_kernels_unless_the_user_turned_them_off():
    # TensorFlow turns them on by itself only on some CPUs; trainer/__init__.py asks for them
    # everywhere, which works only if every entry point imports it before TensorFlow. A fresh
    # process each, all four at once: each spends its time importing TensorFlow.
    cases = [("trainer.train", None, "True"), ("export.tfjs", None, "True"), ("bench.train", None, "True"),
             ("trainer.train", "0", "False")]  # the user's own choice wins
    processes = []
    for module, setting, _ in cases:
        environment = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
        if setting is not None:
            environment["TF_ENABLE_ONEDNN_OPTS"] = setting
        check = f"import {module}; from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())"
        processes.append(subprocess.Popen([sys.executable, "-c", check], cwd=ROOT, env=environment,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for (module, setting, expected), process in zip(cases, processes):
        stdout, stderr = process.communicate(timeout=180)
        assert stdout.strip() == expected, (module, setting, stderr[-2000:])


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
