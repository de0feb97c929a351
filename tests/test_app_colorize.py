"""The app on a colorize run: the Colorize page, and every other page on it."""

import io
import subprocess
import sys

import pytest

from app_pages import APP, fake_run, open_page, shown_image, texts  # noqa: F401 (shown_image: a fixture)
from conftest import ROOT, train, wait_for
from streamlit_app import runs as run_files
from trainer.__main__ import main as trainer


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
