"""How good is a generator? The classifier's verdict, in numbers.

- Label accuracy: does a sample show the label that was asked for? Overall, per class, and the
  confusion matrix (rows: requested label, columns: the classifier's answer).
- Fréchet distance between generated and real test images in the classifier's feature space,
  beside the floor: the same figure for real training images against real test images of the
  same count, i.e. what a perfect generator would score.
- Mode coverage and collapse (the Metropolia thesis's chapter on mode collapse): the share of
  samples the classifier puts in each class, and per class the mean pairwise feature distance
  of generated samples divided by that of real ones. A generator that collapsed to a few images
  per class scores far below 1.

A colorizer (`ColourEvaluator`) is judged on the test images themselves instead: PSNR and SSIM of
its colours against the true ones, colourfulness as a fraction of the real images', and, where
the data set has a classifier, the Fréchet distance in its features; beside the same figures for
the grey image itself and, if asked, for another run (the L1-only baseline).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from trainer import data
from trainer.classifier import Classifier, to_unit_float
from trainer.models import is_conditional, is_image_conditioned
from trainer.rundir import RunError
from trainer.sampling import colorize, generate, latent_noise

DIVERSITY_SAMPLES = 200  # per class: pairwise distances grow with the square


def frechet_distance(first: np.ndarray, second: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) between Gaussians fitted to two feature sets.
    The trace of the matrix square root is taken through the symmetric S1^1/2 S2 S1^1/2, which
    has the same eigenvalues and needs no general sqrtm."""
    mean_first, mean_second = first.mean(0), second.mean(0)
    cov_first = np.cov(first, rowvar=False)
    cov_second = np.cov(second, rowvar=False)
    values, vectors = np.linalg.eigh(cov_first)
    root_first = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    product_values = np.linalg.eigvalsh(root_first @ cov_second @ root_first)
    trace_root = np.sqrt(np.clip(product_values, 0, None)).sum()
    distance = ((mean_first - mean_second) ** 2).sum() + np.trace(cov_first) + np.trace(cov_second) - 2 * trace_root
    return float(max(distance, 0.0))


def mean_pairwise_distance(features: np.ndarray, rng: np.random.Generator) -> float:
    if len(features) > DIVERSITY_SAMPLES:
        features = features[rng.choice(len(features), DIVERSITY_SAMPLES, replace=False)]
    if len(features) < 2:
        return 0.0
    squared = (features ** 2).sum(1)
    distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2 * features @ features.T, 0, None))
    count = len(features)
    return float(distances.sum() / (count * (count - 1)))


def real_reference(config, split: str, fall_back: bool = True):
    """The run's data set as the classifier sees it; folders without a test split fall back to
    their training images, unless `fall_back` is false."""
    options = dict(data_dir=config.data_dir, image_size=config.image_size, channels=config.channels,
                   log=lambda *_: None, flat=is_image_conditioned(config.model))
    try:
        return data.load(config.dataset, split, **options)
    except data.DataError:
        if fall_back and split == "test" and config.dataset.startswith("folder:"):
            return data.load(config.dataset, "train", **options)
        raise


def generate_balanced(generator, config, count: int, seed: int, noise_scale: float = 1.0):
    """`count` samples in [0, 1], the labels in equal shares (cycled), and the labels asked for."""
    num_classes = len(config.label_names)
    labels = np.arange(count) % num_classes
    latent = latent_noise(seed, count, config.latent_dim, noise_scale)
    return generate(generator, config, latent, tf.one_hot(labels, num_classes)), labels


class Evaluator:
    """Scores generators of one run configuration; the real-data side is computed once, so that
    training can call it every few epochs."""

    def __init__(self, config, classifier: Classifier, count: int = 10000, seed: int = 0):
        self.config, self.classifier, self.count, self.seed = config, classifier, count, seed
        self.conditional = is_conditional(config.model)
        self.num_classes = len(config.label_names)
        rng = np.random.default_rng(seed)
        test = real_reference(config, "test")
        train = real_reference(config, "train")
        reference_count = min(count, len(test.labels), len(train.labels))
        test_pick = rng.choice(len(test.labels), reference_count, replace=False)
        train_pick = rng.choice(len(train.labels), reference_count, replace=False)
        self.real_features, real_predicted = classifier.features_and_predictions(to_unit_float(test.images[test_pick]))
        train_features, _ = classifier.features_and_predictions(to_unit_float(train.images[train_pick]))
        self.floor = frechet_distance(train_features, self.real_features)
        real_labels = test.labels[test_pick]
        # The judge's own accuracy on real test images: what "as recognisable as real ones" means.
        # Balanced (the mean over classes) too, since samples are asked for in equal shares.
        hits = real_predicted == real_labels
        per_class = [hits[real_labels == label].mean() for label in range(self.num_classes) if (real_labels == label).any()]
        self.real_accuracy = dict(real_label_accuracy=float(hits.mean()), real_balanced_accuracy=float(np.mean(per_class)))
        self.real_diversity = np.array([
            mean_pairwise_distance(self.real_features[real_labels == label], rng) for label in range(self.num_classes)])

    def __call__(self, generator) -> dict:
        rng = np.random.default_rng(self.seed)
        images, requested = generate_balanced(generator, self.config, self.count, self.seed)
        features, predicted = self.classifier.features_and_predictions(images)
        names = self.config.label_names
        # Unconditional samples have no requested label: group them by the classifier's answer.
        groups = requested if self.conditional else predicted
        diversity = {}
        for label, name in enumerate(names):
            members = features[groups == label]
            real = self.real_diversity[label]
            diversity[name] = mean_pairwise_distance(members, rng) / real if real and len(members) > 1 else 0.0
        shares = np.bincount(predicted, minlength=self.num_classes) / len(predicted)
        metrics = dict(
            n=self.count,
            frechet_distance=frechet_distance(features, self.real_features),
            frechet_distance_floor=self.floor,
            class_shares=dict(zip(names, shares.round(4).tolist())),
            # A class is covered when it gets at least half of its fair share of samples.
            mode_coverage=float((shares >= 0.5 / self.num_classes).mean()),
            diversity=diversity,
            diversity_mean=float(np.mean(list(diversity.values()))),
        )
        if self.conditional:
            confusion = np.zeros((self.num_classes, self.num_classes), int)
            np.add.at(confusion, (requested, predicted), 1)
            per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
            metrics.update(self.real_accuracy, label_accuracy=float((requested == predicted).mean()),
                           per_class_accuracy=dict(zip(names, per_class.round(4).tolist())),
                           confusion_matrix=confusion.tolist())
        return metrics


def summary(metrics: dict) -> str:
    lines = []
    if "label_accuracy" in metrics:
        lines.append(f"label accuracy   {metrics['label_accuracy']:.2%} on {metrics['n']} samples")
        lines.append("  per class      " + "  ".join(f"{name} {value:.1%}" for name, value in metrics["per_class_accuracy"].items()))
        if "real_label_accuracy" in metrics:  # written since the judge's own accuracy became the mark
            plain, balanced = metrics["real_label_accuracy"], metrics["real_balanced_accuracy"]
            lines.append(f"  real images    {plain:.2%} ({balanced:.2%} over classes): the classifier's own "
                         f"accuracy on real test images")
    lines.append(f"Fréchet distance {metrics['frechet_distance']:.3f}  (real train vs real test: "
                 f"{metrics['frechet_distance_floor']:.3f})")
    lines.append(f"diversity        {metrics['diversity_mean']:.3f} of real (mean over classes; "
                 f"lowest {min(metrics['diversity'].values()):.3f})")
    lines.append(f"mode coverage    {metrics['mode_coverage']:.0%} of classes")
    return "\n".join(lines)


def evaluator_for(config, count: int, seed: int = 0, classifiers_dir=None, arch: str | None = None):
    """The judge of a run's generator, as --eval-every and `trainer eval` score it: a colorizer's
    ColourEvaluator (with the data set's classifier where there is one), else the classifier's
    Evaluator (a RunError where there is none). `arch`: which of the data set's classifiers
    (default: the run's --classifier-arch)."""
    root = classifiers_dir or config.classifiers_dir
    arch = arch or config.classifier_arch
    if not is_image_conditioned(config.model):
        return Evaluator(config, Classifier.for_run(config, root, arch), count, seed)
    try:
        classifier = Classifier.for_run(config, root, arch)
    except RunError:  # no Fréchet distance then; the other figures need no judge
        classifier = None
    return ColourEvaluator(config, count, seed, classifier)


def colourfulness(images: np.ndarray) -> np.ndarray:
    """Hasler & Süsstrunk (2003)'s colourfulness M of each RGB image in [0, 1], on their 0-255
    scale: with rg = R - G and yb = (R + G) / 2 - B over the image's pixels,
    M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2). 0 for a grey image;
    they rate 33 "moderately" and 59 "highly" colourful."""
    images = np.asarray(images, np.float64) * 255
    red, green, blue = images[..., 0], images[..., 1], images[..., 2]
    rg, yb = red - green, (red + green) / 2 - blue
    axes = (1, 2)
    spread = np.sqrt(rg.std(axis=axes) ** 2 + yb.std(axis=axes) ** 2)
    offset = np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2)
    return spread + 0.3 * offset


class ColourEvaluator:
    """Scores colorizers of one run configuration on up to `count` test images (chosen by `seed`):
    each colours their grey image (Pillow's "L", as a user's photo comes), and is compared with the
    true colours. The real side is computed once, so that training can call it every few epochs."""

    SSIM_BATCH = 500  # images per tf.image.ssim call: its filtered copies of 10,000 images took gigabytes

    def __init__(self, config, count: int = 10000, seed: int = 0, classifier: Classifier | None = None):
        self.config, self.classifier = config, classifier
        test = real_reference(config, "test")
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(test.images), min(count, len(test.images)), replace=False))
        self.real = to_unit_float(test.images[pick])
        self.grey = data.convert_channels(test.images[pick], 1)
        self.real_colourfulness = float(colourfulness(self.real).mean())
        self.real_features = self.floor = None
        if classifier is not None:
            self.real_features, _ = classifier.features_and_predictions(self.real)
            train = real_reference(config, "train")
            train_pick = rng.choice(len(train.images), min(len(pick), len(train.images)), replace=False)
            train_features, _ = classifier.features_and_predictions(to_unit_float(train.images[train_pick]))
            self.floor = frechet_distance(train_features, self.real_features)

    def __call__(self, generator) -> dict:
        """The run's scores, with the figures every report shares (the count, the real images'
        colourfulness and the Fréchet distance's floor)."""
        shared = dict(n=len(self.real), real_colourfulness=self.real_colourfulness)
        if self.floor is not None:
            shared["frechet_distance_floor"] = self.floor
        return {**shared, **self.score_generator(generator)}

    def score_generator(self, generator) -> dict:
        """`score` of the colours a generator (this run's, or a baseline run's) gives the grey images."""
        return self.score(colorize(generator, self.config, self.grey))

    def grey_baseline(self) -> dict:
        """The scores of the grey image itself, as colour: what colorizing must improve on."""
        return self.score(np.repeat(self.grey, 3, axis=-1) / 255.0)

    def score(self, images: np.ndarray) -> dict:
        """PSNR (dB) and SSIM against the true colours, means over the images; colourfulness as a
        fraction of the real images' mean; and the Fréchet distance to them where there is a judge."""
        psnr, ssim = [], []
        for start in range(0, len(images), self.SSIM_BATCH):
            ours = tf.constant(images[start:start + self.SSIM_BATCH], tf.float32)
            real = tf.constant(self.real[start:start + self.SSIM_BATCH], tf.float32)
            psnr.append(tf.image.psnr(ours, real, max_val=1.0).numpy())
            ssim.append(tf.image.ssim(ours, real, max_val=1.0).numpy())
        # An image equal to the truth has infinite PSNR; JSON has no infinity: 100 dB stands for it.
        psnr = np.minimum(np.concatenate(psnr), 100.0)
        scores = dict(psnr=float(psnr.mean()), ssim=float(np.concatenate(ssim).mean()),
                      colourfulness=float(colourfulness(images).mean() / max(self.real_colourfulness, 1e-9)))
        if self.classifier is not None:
            features, _ = self.classifier.features_and_predictions(images.astype(np.float32))
            scores["frechet_distance"] = frechet_distance(features, self.real_features)
        return scores


def colour_summary(metrics: dict) -> str:
    """The colorizer's scores beside its baselines', as a table."""
    rows = {"this run": metrics, **{name: row for name, row in metrics.get("baselines", {}).items()}}
    distance = "frechet_distance" in metrics
    header = f"{'':24s} {'PSNR (dB)':>9s} {'SSIM':>6s} {'colourfulness':>13s}"
    lines = [header + ("  Fréchet distance" if distance else "")]
    for name, row in rows.items():
        line = f"{name[:24]:24s} {row['psnr']:9.2f} {row['ssim']:6.3f} {row['colourfulness']:13.3f}"
        if distance:
            line += f"  {row['frechet_distance']:16.3f}"
        lines.append(line)
    lines.append(f"on {metrics['n']} test images; colourfulness as a fraction of theirs (Hasler & Süsstrunk M = "
                 f"{metrics['real_colourfulness']:.1f})")
    if distance:
        lines.append(f"Fréchet distance in the classifier's features; real train vs real test: "
                     f"{metrics['frechet_distance_floor']:.3f}")
    else:
        lines.append("no Fréchet distance: the data set has no classifier (`ganvas classifier train`)")
    return "\n".join(lines)
