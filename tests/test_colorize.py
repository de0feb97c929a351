"""The colorize family end to end, kept tiny: its colour maths, its networks, a run on a folder of
colour images without class folders and on emoji, exact resume, the L1-only baseline, eval with
both baselines, `trainer colorize` on photos of any size, and every bad input in one line."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import train
from trainer.rundir import RunDirectory

FLAT = ("--model", "colorize", "--image-size", "32", "--batch-size", "8")


def draw_flat_folder(root, count=32, size=40, grey=False):
    """`count` colour (or grey) images directly in `root`: a disc on a background, random colours."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for index in range(count):
        background, disc = (tuple(int(value) for value in rng.integers(0, 256, 3)) for _ in range(2))
        image = Image.new("RGB", (size, size), background)
        low, high = sorted(rng.integers(2, size - 2, 2))
        ImageDraw.Draw(image).ellipse((low, low, max(high, low + 6), max(high, low + 6)), fill=disc)
        (image.convert("L") if grey else image).save(root / f"{index:02d}.png")
    return root


def png_header(path, width, height):
    """A PNG that declares its size and has no pixels: enough for a reader that checks the size first."""
    def chunk(kind, content):
        return struct.pack(">I", len(content)) + kind + content + struct.pack(">I", zlib.crc32(kind + content))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """A folder of 32 colour images without class folders, an adversarial run on it (1 epoch,
    scored every epoch) and an L1-only run, and a one-class LeNet for the Fréchet distance."""
    from trainer.classifier import classifier_dir, save_classifier, train_classifier
    from trainer import data

    root = tmp_path_factory.mktemp("colorize")
    folder = draw_flat_folder(root / "photos")
    dataset = f"folder:{folder}"
    classifiers = root / "classifiers"
    images = data.load(dataset, image_size=32, flat=True, log=lambda *_: None)
    model, history = train_classifier(images, "lenet", epochs=1, batch_size=16, log=lambda *_: None)
    info = dict(dataset=dataset, arch="lenet", image_shape=[32, 32, 3], label_names=[data.FLAT_LABEL],
                test_accuracy=1.0, history=history)
    save_classifier(model, info, classifier_dir(dataset, "lenet", classifiers, 32))
    runs = root / "runs"
    common = ("--dataset", dataset, *FLAT, "--epochs", "1", "--classifiers-dir", str(classifiers))
    train(runs, *common, "--eval-every", "1", "--eval-samples", "16", run_name="gan")
    train(runs, *common, "--adversarial-weight", "0", run_name="l1")
    return dict(root=root, folder=folder, runs=runs, classifiers=classifiers, run=runs / "gan")


# ---- the colour maths and the networks ---------------------------------------------------------

def test_the_generator_keeps_the_luminance_it_is_given_even_out_of_gamut():
    from trainer.models.colorize import chroma_of, colour_offsets, luminance, with_luminance

    rng = np.random.default_rng(0)
    rgb = rng.uniform(-1, 1, (500, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(with_luminance(luminance(rgb), chroma_of(rgb))), rgb, atol=1e-5)
    # Chroma far outside the RGB cube: desaturated into it, the luminance untouched (clipping moved it).
    grey = rng.uniform(-1, 1, (500, 1)).astype("float32")
    chroma = rng.uniform(-3, 3, (500, 2)).astype("float32")
    colour = np.asarray(with_luminance(grey, chroma))
    assert colour.min() >= -1 - 1e-5 and colour.max() <= 1 + 1e-5
    np.testing.assert_allclose(np.asarray(luminance(colour)), grey, atol=1e-5)
    clipped = np.clip(grey + np.asarray(colour_offsets(chroma)), -1, 1)
    assert np.abs(np.asarray(luminance(clipped)) - grey).max() > 0.1
    # The weights are Pillow's: its "L" of an RGB image is our luminance, rounded.
    pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    ours = np.asarray(luminance(pixels.astype("float32")))[..., 0]
    assert np.abs(ours - np.asarray(Image.fromarray(pixels).convert("L"), "float32")).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("size", [32, 64, 128])
def test_the_unet_and_the_patchgan_at_each_size(size):
    from trainer.models import get_family
    from trainer.models.colorize import luminance

    family = get_family("colorize")
    generator = family.build_generator(None, (size, size, 3), 1)
    discriminator = family.build_discriminator((size, size, 3), 1)
    assert [tensor.name for tensor in generator.inputs] == ["grey"]
    assert sorted(tensor.name for tensor in discriminator.inputs) == ["grey", "image"]
    grey = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 1)).astype("float32")
    colour = np.asarray(generator(grey, training=False))
    assert colour.shape == (2, size, size, 3) and colour.min() >= -1.0001 and colour.max() <= 1.0001
    np.testing.assert_allclose(np.asarray(luminance(colour)), grey, atol=1e-5)
    logits = discriminator({"image": colour, "grey": grey}, training=False)
    assert logits.shape == (2, size // 4, size // 4, 1)  # one logit per patch
    assert generator.count_params() < 1_000_000  # under 1 MB as the page's uint8 model
    with pytest.raises(ValueError, match="multiple of 16"):
        family.build_generator(None, (40, 40, 3), 1)


def test_the_jitter_crops_and_mirrors_each_image_its_own_way():
    import tensorflow as tf

    from trainer.config import TrainConfig
    from trainer.steps import TrainSteps

    steps = TrainSteps.__new__(TrainSteps)  # only what _jittered reads
    steps.config = TrainConfig(model="colorize", batch_size=64, seed=3)
    from trainer.models import get_family

    steps.family = get_family("colorize")
    # Each image is a ramp of its own column index: a crop shifts it, a mirror reverses it.
    ramp = tf.tile(tf.reshape(tf.range(32, dtype=tf.float32), (1, 1, 32, 1)), (64, 32, 1, 3))
    jittered = steps._jittered(ramp, tf.constant(5, tf.int64), 0, 64, tf.constant(0, tf.int64)).numpy()
    assert jittered.shape == (64, 32, 32, 3)
    slopes = np.sign(jittered[:, 16, -1, 0] - jittered[:, 16, 0, 0])
    assert 10 < (slopes < 0).sum() < 54  # about half mirrored
    assert len(np.unique(jittered[:, 16, 16, 0].round(3))) > 3  # crops at different places
    again = steps._jittered(ramp, tf.constant(5, tf.int64), 0, 64, tf.constant(0, tf.int64)).numpy()
    np.testing.assert_array_equal(jittered, again)  # keyed by (seed, step): a resumed run draws the same


# ---- training ---------------------------------------------------------------------------------

def test_a_run_on_a_folder_without_class_folders(flat):
    run = RunDirectory(flat["run"])
    config = json.loads(run.config_path.read_text())
    assert config["model"] == "colorize" and config["image_shape"] == [32, 32, 3]
    assert config["label_names"] == ["image"] and config["latent_dim"] is None
    assert config["l1_weight"] == 100.0 and config["adversarial_weight"] == 1.0 and config["loss"] == "bce"
    (record,) = run.history()
    assert all(np.isfinite(record[key]) for key in ("d_loss", "g_loss", "d_real", "d_fake"))
    # --eval-every: the colorizer's scores, without a classifier's label accuracy.
    assert record["psnr"] > 5 and 0 < record["ssim"] <= 1 and record["colourfulness"] >= 0
    assert "frechet_distance" in record and "label_accuracy" not in record
    assert run.status()["state"] == "finished" and run.generator_path.exists()
    # The grid: 8 rows of grey | generated | original, 32 + 2 pixels a cell.
    grid = np.asarray(Image.open(run.sample_path(1)).convert("RGB"), np.int16)
    assert grid.shape == (8 * 34 + 2, 3 * 34 + 2, 3)
    grey, generated, original = (grid[2:34, 2 + 34 * column:34 + 34 * column] for column in range(3))
    assert (grey[..., 0] == grey[..., 2]).all() and np.abs(original[..., 0] - original[..., 2]).mean() > 5
    assert np.abs(generated[..., 0] - generated[..., 2]).mean() > 0.5
    luminance = np.asarray(Image.fromarray(generated.astype(np.uint8)).convert("L"), np.int16)
    assert np.abs(luminance - grey[..., 0]).max() <= 1


def test_resume_on_emoji_equals_an_uninterrupted_run(tmp_path):
    from trainer.sampling import colorize, load_generator

    emoji = ("--dataset", "emoji", "--model", "colorize", "--limit-per-class", "3", "--batch-size", "9")
    straight = train(tmp_path, *emoji, "--epochs", "2", run_name="straight")
    train(tmp_path, *emoji, "--epochs", "1", run_name="resumed")
    resumed = train(tmp_path, "--epochs", "2", "--resume", run_name="resumed")
    first, second = RunDirectory(straight).history(), RunDirectory(resumed).history()
    assert [record["epoch"] for record in second] == [1, 2]
    for a, b in zip(first, second):
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), (key, a, b)
    (a, config), (b, _) = load_generator(straight), load_generator(resumed)
    grey = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 1), dtype=np.uint8)
    np.testing.assert_allclose(colorize(a, config, grey), colorize(b, config, grey), atol=1e-5)
    assert config.image_shape == [32, 32, 3] and config.label_names[0] == "Smileys & Emotion"
    assert (RunDirectory(straight).samples_dir / "epoch_0002.png").read_bytes() == \
        (RunDirectory(resumed).samples_dir / "epoch_0002.png").read_bytes()


def test_data_without_colour_and_options_the_family_lacks_are_refused_before_anything_is_written(
        tmp_path, capsys):
    runs = tmp_path / "runs"
    grey = draw_flat_folder(tmp_path / "grey", count=16, grey=True)
    for options, message in [
        (("--dataset", "mnist"), "mnist has no colour, and colorize learns colour from colour images"),
        (("--dataset", "fashion_mnist"), "fashion_mnist has no colour"),
        (("--dataset", "emoji", "--channels", "1"), "--channels 1 has no colour"),
        (("--dataset", f"folder:{grey}"), f"folder:{grey} has no colour (every image is grey)"),
        (("--dataset", f"folder:{grey}", "--channels", "3"), "has no colour (every image is grey)"),
        (("--dataset", "emoji", "--latent-dim", "8"), "--latent-dim is not an option of colorize"),
        (("--dataset", "emoji", "--mode-seeking-weight", "1"), "--mode-seeking-weight is not an option of colorize"),
        (("--dataset", "emoji", "--augment", "translation"), "--augment is not an option of colorize"),
        (("--dataset", "emoji", "--l1-weight", "0", "--adversarial-weight", "0"), "nothing to learn"),
        (("--dataset", "emoji", "--image-size", "40"), "multiple of 16"),
    ]:
        train(runs, *FLAT[:2], *options, "--epochs", "1", run_name="refused", expect=2)
        assert message in capsys.readouterr().err, options
        assert not (runs / "refused" / "config.json").exists()
    train(runs, "--dataset", "mnist", "--model", "cdcgan", "--l1-weight", "5", run_name="refused", expect=2)
    assert "--l1-weight is not an option of cdcgan (it is of: colorize)" in capsys.readouterr().err


def test_a_label_family_still_refuses_a_folder_without_class_folders(tmp_path, capsys):
    folder = draw_flat_folder(tmp_path / "flat", count=4)
    train(tmp_path / "runs", "--dataset", f"folder:{folder}", "--model", "cgan", run_name="refused", expect=2)
    assert "has no class subfolders" in capsys.readouterr().err


def test_a_flat_folder_with_flat_train_and_test_splits(tmp_path):
    from trainer import data

    root = tmp_path / "photos"
    draw_flat_folder(root / "train", count=6)
    draw_flat_folder(root / "test", count=4)
    train_set, test_set = (data.load(f"folder:{root}", split, image_size=16, flat=True) for split in ("train", "test"))
    assert len(train_set.images) == 6 and len(test_set.images) == 4 and test_set.label_names == ("image",)


# ---- judging ----------------------------------------------------------------------------------

def test_eval_scores_against_the_grey_image_and_the_l1_only_run(flat, capsys):
    from trainer.__main__ import main

    assert main(["eval", "--run", str(flat["run"]), "--baseline-run", "l1", "--runs-dir", str(flat["runs"]),
                 "--classifiers-dir", str(flat["classifiers"]), "--n", "24"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((flat["run"] / "metrics.json").read_text())
    assert metrics["n"] == 24 and metrics["epoch"] == 1 and metrics["classifier"]
    baselines = metrics["baselines"]
    assert set(baselines) == {"grey image", "l1 (L1 only)"} and baselines["l1 (L1 only)"]["run"] == "l1"
    assert baselines["grey image"]["colourfulness"] == 0  # a grey image has no colour at all
    for row in (metrics, *baselines.values()):
        assert 5 < row["psnr"] < 100 and -1 <= row["ssim"] <= 1 and np.isfinite(row["frechet_distance"])
    assert metrics["psnr"] != baselines["grey image"]["psnr"]
    assert metrics["real_colourfulness"] > 10 and metrics["frechet_distance_floor"] >= 0
    for name in ("this run", "grey image", "l1 (L1 only)", "PSNR (dB)", "colourfulness"):
        assert name in out


def test_eval_refuses_a_baseline_that_colours_other_images(flat, tmp_path, capsys):
    import shutil

    from trainer.__main__ import main

    for name, change, message in (("other-data", dict(dataset="emoji"), "a baseline must colour the same images"),
                                  ("not-colorize", dict(model="dcgan"), "is a dcgan run, not a colorize one")):
        shutil.copytree(flat["run"], tmp_path / name)
        config = json.loads((tmp_path / name / "config.json").read_text())
        (tmp_path / name / "config.json").write_text(json.dumps({**config, **change}))
        before = (flat["run"] / "metrics.json").read_bytes() if (flat["run"] / "metrics.json").exists() else None
        assert main(["eval", "--run", str(flat["run"]), "--baseline-run", str(tmp_path / name), "--n", "8"]) == 2
        assert message in capsys.readouterr().err
        after = (flat["run"] / "metrics.json").read_bytes() if (flat["run"] / "metrics.json").exists() else None
        assert after == before


# ---- trainer colorize -------------------------------------------------------------------------

def colorize(flat, *args):
    from trainer.__main__ import main

    return main(["colorize", "--run", "gan", "--runs-dir", str(flat["runs"]), *map(str, args)])


def test_a_photo_of_any_size_keeps_its_size_and_its_luminance(flat, tmp_path, capsys):
    rng = np.random.default_rng(2)
    photo = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).resize((106, 74))
    photo.save(tmp_path / "odd.png")
    assert colorize(flat, tmp_path / "odd.png", "--out", tmp_path / "odd-coloured.png") == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(tmp_path / "odd-coloured.png") as result:
        assert result.size == (106, 74) and result.mode == "RGB"
        pixels = np.asarray(result, np.int16)
        luminance = np.asarray(result.convert("L"), np.int16)
    assert np.abs(luminance - np.asarray(photo.convert("L"), np.int16)).max() <= 1
    assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 0.5  # colour, not grey


def test_a_folder_is_colorized_file_by_file_and_a_bad_file_is_named_and_skipped(flat, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("L", (20, 30), 128).save(photos / "grey.jpg")
    Image.new("RGBA", (24, 24), (200, 20, 20, 0)).save(photos / "clear.png")
    (photos / "notes.txt").write_text("not an image")
    assert colorize(flat, photos, "--out", tmp_path / "coloured") == 0
    out = capsys.readouterr().out
    assert sorted(path.name for path in (tmp_path / "coloured").iterdir()) == ["clear.png", "grey.png"]
    assert "skipped" in out and "notes.txt is not an image" in out and "colorized 2 of 3 files" in out
    assert "clear.png has transparency: composited on white" in out
    with Image.open(tmp_path / "coloured" / "grey.png") as result:
        assert result.size == (20, 30)


@pytest.mark.parametrize("name, make, message", [
    ("text.png", lambda path: path.write_text("hello"), "is not an image that Pillow can read"),
    ("anim.gif", lambda path: [Image.new("RGB", (20, 20), (80 * index, 0, 0)) for index in range(3)][0].save(
        path, save_all=True, duration=100,
        append_images=[Image.new("RGB", (20, 20), (80 * index, 0, 0)) for index in (1, 2)]),
     "is animated (3 frames); colorize takes still images"),
    ("print.jpg", lambda path: Image.new("CMYK", (20, 20), (0, 50, 50, 0)).save(path), "is a CMYK (print) image"),
    ("dot.png", lambda path: Image.new("RGB", (1, 1)).save(path), "is 1 x 1: too small to colorize"),
    ("huge.png", lambda path: png_header(path, 20000, 20000), "larger than 40 megapixels"),
    ("wide.png", lambda path: png_header(path, 8000, 6000), "is 8000 x 6000 (48 megapixels), more than the 40"),
    ("cut.png", lambda path: png_header(path, 100, 100), "is damaged"),
])
def test_each_bad_photo_is_one_line_and_nothing_is_written(flat, tmp_path, capsys, name, make, message):
    make(tmp_path / name)
    assert colorize(flat, tmp_path / name, "--out", tmp_path / "out.png") == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.png").exists()


def test_a_16_bit_photo_is_read_by_its_top_8_bits_and_says_so(flat, tmp_path, capsys):
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(tmp_path / "scan.png")
    assert colorize(flat, tmp_path / "scan.png", "--out", tmp_path / "scan-coloured.png") == 0
    assert "is 16-bit: read by its top 8 bits" in capsys.readouterr().out
    with Image.open(tmp_path / "scan-coloured.png") as result:
        assert np.abs(np.asarray(result.convert("L"), np.int16) - (40000 >> 8)).max() <= 1


def test_commands_that_draw_samples_refuse_a_colorize_run_and_colorize_refuses_other_runs(flat, tmp_path, capsys):
    from trainer.__main__ import main

    runs = str(flat["runs"])
    for command in (["sample", "--label", "0", "--out", str(tmp_path / "s.png")],
                    ["sample", "--out", str(tmp_path / "s.png")], ["synth", "--n", "10", "--out", str(tmp_path / "synthetic")]):
        assert main([*command, "--run", "gan", "--runs-dir", runs]) == 2
        err = capsys.readouterr().err
        assert "gan is a colorize run: it colours grey images" in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())
    photo = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (10, 200, 30)).save(photo)
    for out, message in ((photo, "is the input itself"), (tmp_path / "photo.jpg", "--out must be a .png file")):
        assert colorize(flat, photo, "--out", out) == 2
        assert message in capsys.readouterr().err
    assert colorize(flat, tmp_path / "missing.png", "--out", tmp_path / "x.png") == 2
    assert "missing.png does not exist" in capsys.readouterr().err
    cgan = train(tmp_path / "runs", "--dataset", "mnist", "--model", "cgan", "--limit-per-class", "5",
                 "--batch-size", "50", "--epochs", "1", run_name="digits")
    assert main(["colorize", "--run", str(cgan), str(photo), "--out", str(tmp_path / "c.png")]) == 2
    assert "digits is a cgan run, which draws from noise" in capsys.readouterr().err


# ---- export -----------------------------------------------------------------------------------

def test_export_ships_a_grey_in_colour_out_graph_model_checked_in_node(flat, tmp_path):
    from export.tfjs import export_run, run_in_tfjs
    from trainer.models.colorize import luminance
    from trainer.sampling import load_generator

    target = export_run(flat["run"], "colours", tmp_path / "web", classifiers_dir=flat["classifiers"],
                        log=lambda *_: None)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["model"] == "colorize" and manifest["inputs"] == ["grey"] and manifest["latent_dim"] is None
    assert manifest["quantization"] == "uint8" and manifest["bytes"] < 2_000_000 and "classifier" not in manifest
    assert manifest["check"]["samples"] == 64 and manifest["check"]["mean_abs_difference"] < 0.05
    listed = json.loads((tmp_path / "web" / "models" / "index.json").read_text())["models"]
    assert [(entry["name"], entry["model"]) for entry in listed] == [("colours", "colorize")]
    # The page's input: a real grey image; TF.js colours it as Keras does, luminance kept.
    generator, _ = load_generator(flat["run"])
    with Image.open(sorted(flat["folder"].iterdir())[0]) as photo:
        grey = np.asarray(photo.convert("L").resize((32, 32)), np.float32)[None, ..., None] / 127.5 - 1
    in_tfjs = run_in_tfjs(target / "generator", {"grey": grey})
    assert in_tfjs.shape == (1, 32, 32, 3)
    assert np.abs(in_tfjs - np.asarray(generator(grey, training=False))).mean() < 0.05
    np.testing.assert_allclose(np.asarray(luminance(in_tfjs)), grey, atol=1e-4)  # exact, whatever the weights


@pytest.mark.parametrize("option", [("--precision", "mixed_bfloat16"), ("--strategy", "mirrored")])
def test_mixed_precision_and_the_mirrored_strategy_train_a_colorizer_that_colours(flat, tmp_path, option):
    """The options every family takes work for the image-conditioned one too: it trains, and the
    photo it colours keeps its size and luminance (in float32, whatever the training's precision)."""
    from trainer.__main__ import main

    runs = tmp_path / "runs"
    train(runs, "--dataset", f"folder:{flat['folder']}", *FLAT, "--epochs", "1", *option, run_name="run")
    config = json.loads((runs / "run" / "config.json").read_text())
    assert config[option[0][2:]] == option[1]
    grey = Image.fromarray(np.random.default_rng(3).integers(0, 256, (30, 45), dtype=np.uint8))
    grey.save(tmp_path / "grey.png")
    assert main(["colorize", "--run", str(runs / "run"), str(tmp_path / "grey.png"), "--out", str(tmp_path / "out.png")]) == 0
    with Image.open(tmp_path / "out.png") as result:
        assert result.size == (45, 30) and result.mode == "RGB"
        assert np.abs(np.asarray(result.convert("L"), np.int16) - np.asarray(grey, np.int16)).max() <= 1
