"""Generate: samples per label from any kept epoch, and morphs between two labels or two seeds.

Noise comes from `trainer.sampling.latent_noise`, so a seed here gives the same images as
`python -m trainer sample --seed` and the page's `?seed=`. A colorize run draws nothing from
noise: the page sends it to the Colorize page.
"""

import io

import numpy as np
import streamlit as st

from streamlit_app import common
from streamlit_app import runs as run_files

st.title("Generate")
name = common.pick_run([row for row in run_files.list_runs(run_files.runs_dir()) if row["model"] != "?"])
path = common.open_run(name) if name else None
if path is None:
    st.stop()
# Read from config.json before TensorFlow loads: a colorizer has no noise or labels to sample.
config = run_files.load_config(path)
if config is not None and common.is_colorizer(config.model):
    st.info(f"{name} is a {config.model} run: it colours grey photos rather than drawing from noise, "
            f"so there is nothing to sample here. Give it a photo on the Colorize page.")
    st.page_link("colorize_page.py", label=f"Colorize a photo with {name}", icon=":material/palette:")
    st.stop()

# TensorFlow loads only now, after the run picker: the page answers before it is ready.
generator, config, epoch = common.pick_generator(path)
import tensorflow as tf  # noqa: E402

from trainer.config import MAX_SEED  # noqa: E402
from trainer.images import grid, png_bytes  # noqa: E402
from trainer.models import is_conditional  # noqa: E402
from trainer.sampling import generate, latent_noise, parse_label  # noqa: E402

conditional = is_conditional(config.model)
# Downloads from different checkpoints get different names.
stem_prefix = name if epoch is None else f"{name}-epoch{epoch}"
labels = list(config.label_names)
num_classes = len(labels)


def images_for(latent: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    return generate(generator, config, tf.constant(latent, tf.float32), tf.constant(one_hot, tf.float32))


def noise(seed: int, count: int = 1, scale: float = 1.0) -> np.ndarray:
    return latent_noise(int(seed), count, config.latent_dim, scale).numpy()


def one_hot(indices) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[np.asarray(indices)]


def slerp(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation: Gaussian noise lives near a sphere, and a straight line between
    two points would cut through its low-probability middle and wash the images out."""
    fractions = np.linspace(0.0, 1.0, steps)[:, None]
    cosine = np.dot(start / np.linalg.norm(start), end / np.linalg.norm(end))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if angle < 1e-6:
        return (1 - fractions) * start + fractions * end
    return (np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(angle)


def show(images: np.ndarray, rows: int, columns: int, stem: str, caption: str) -> None:
    picture = png_bytes(grid(images, rows, columns))
    st.image(picture, caption=caption, width=min(60 * columns, 700), output_format="PNG")
    left, right = st.columns(2)
    left.download_button("Download PNG", picture, file_name=f"{stem}.png", mime="image/png",
                         icon=":material/image:")
    array = io.BytesIO()
    np.save(array, images)
    right.download_button("Download .npy (N, H, W, C) in [0, 1]", array.getvalue(), file_name=f"{stem}.npy",
                          mime="application/octet-stream", icon=":material/data_array:")


samples_tab, morph_tab = st.tabs(["Samples", "Interpolate"])
with samples_tab:
    left, middle, right, last = st.columns(4)
    label = left.selectbox("Label", labels, disabled=not conditional,
                           help=None if conditional else f"{config.model} is unconditional")
    count = middle.slider("How many", 1, 100, 20)
    seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0, key="sample-seed")
    scale = last.slider("Noise scale", 0.0, 2.0, 1.0, 0.1,
                        help="as `ganvas sample --noise-scale`: below 1 more typical images, above 1 more varied")
    index = parse_label(label, labels) if conditional else 0
    images = images_for(noise(seed, count, scale), one_hot([index] * count))
    what = f"{count} samples of “{label}”" if conditional else f"{count} samples"
    scaled = "" if scale == 1.0 else f", noise × {scale:g}"
    show(images, -(-count // 10), min(count, 10), f"{stem_prefix}-{label}-seed{seed}" + (f"-noise{scale:g}" if scaled else ""),
         f"{what}, seed {seed}{scaled}")

with morph_tab:
    modes = ["between two labels", "between two seeds"] if conditional else ["between two seeds"]
    mode = st.radio("Interpolate", modes, horizontal=True)
    steps = st.slider("Steps", 3, 20, 10)
    left, middle, right = st.columns(3)
    if mode == "between two labels":
        start = left.selectbox("From label", labels, index=0)
        end = middle.selectbox("To label", labels, index=min(1, num_classes - 1))
        seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0, key="morph-label-seed")
        rows = 4
        # The same noise along each row; the label input slides from one one-hot vector to the other.
        fractions = np.linspace(0.0, 1.0, steps)[:, None]
        mixture = (1 - fractions) * one_hot(labels.index(start)) + fractions * one_hot(labels.index(end))
        latent = np.repeat(noise(seed, rows), steps, axis=0)
        images = images_for(latent, np.tile(mixture, (rows, 1)))
        show(images, rows, steps, f"{stem_prefix}-{start}-to-{end}-seed{seed}",
             f"“{start}” → “{end}”, one row per noise vector (seed {seed})")
    else:
        start_seed = left.number_input("From seed", min_value=0, max_value=MAX_SEED, value=0)
        end_seed = middle.number_input("To seed", min_value=0, max_value=MAX_SEED, value=1)
        latent = slerp(noise(start_seed)[0], noise(end_seed)[0], steps)
        # One row per label, so the same path through noise space shows every label's style change.
        rows = num_classes if conditional else 1
        images = images_for(np.tile(latent, (rows, 1)), one_hot(np.repeat(np.arange(rows), steps)))
        show(images, rows, steps, f"{stem_prefix}-seed{start_seed}-to-seed{end_seed}",
             f"seed {start_seed} → seed {end_seed}" + (f". {common.label_rows(labels)}" if conditional else ""))
