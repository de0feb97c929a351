"""Labelled synthetic data sets from a generator, and "train on synthetic, test on real".

The Sony thesis's question (Table 5.7, Figures 6.19-6.26): are generated images good enough to
train a classifier on? For each size k, a LeNet (or with `arch` another of trainer/judges.py's
classifiers) is trained on k real images, on k synthetic images, and on both together (2k), and
each is tested on the real test set. The gap between the real and the synthetic accuracy is the
answer in one number.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from trainer import data
from trainer.classifier import train_classifier
from trainer.images import png_bytes
from trainer.judges import DEFAULT_ARCH, NAMES
from trainer.metrics import generate_balanced, real_reference
from trainer.models import FAMILIES, is_conditional
from trainer.rundir import RunDirectory, RunError, atomic_write
from trainer.sampling import load_for_drawing, to_model_range


def synthetic_dataset(generator, config, count: int, seed: int, noise_scale: float = 1.0,
                      hardest_of: int = 1, discriminator=None, log=print) -> data.ImageDataset:
    """`count` generated images in equal shares per label, as uint8 like a loaded data set.

    With `hardest_of` K above 1, K times as many are drawn and, per label, the run's
    discriminator keeps the ones its class head finds hardest to name while still naming the
    asked label. Why: the class loss makes fakes typical of their label, so a LeNet trained on
    plain draws never meets the awkward real digits that shape its decision boundaries; the class
    head, trained on the real images, knows which fakes lie near those boundaries. In docs/recipes.md's
    MNIST recipe, K = 5 took the train-on-synthetic gap from 0.88 points to 0.17 (30,000 images,
    mean of three LeNet seeds). K = 1 gives exactly the plain draw of the same seed."""
    if not is_conditional(config.model):
        raise RunError(f"{config.model} is unconditional: its images have no labels to make a labelled data set "
                       f"of; use a conditional run (cdcgan, cgan or cdcgan-sony)")
    if hardest_of > 1:
        if not config.class_loss_weight:
            why = "--class-loss-weight 0" if "class_loss_weight" in FAMILIES[config.model].options else config.model
            raise RunError(f"--hardest-of needs a discriminator with a class head: this run was trained without "
                           f"one ({why}); leave --hardest-of out")
        if discriminator is None:
            raise ValueError("hardest_of above 1 needs the run's discriminator")
        log(f"drawing {count * hardest_of} images; the discriminator keeps the hardest {count}")

    def draw(draw_seed):
        images, labels = generate_balanced(generator, config, count, draw_seed, noise_scale)
        return np.round(images * 255).astype(np.uint8), labels

    images, labels = draw(seed)
    if hardest_of > 1:
        keep = np.bincount(labels, minlength=len(config.label_names))
        # Seeds far from those of other draws (tstr draws with seed + size).
        draws = [(images, labels)] + [draw(seed + index * 1_000_003) for index in range(1, hardest_of)]
        images = np.concatenate([images for images, _ in draws])
        labels = np.concatenate([labels for _, labels in draws])
        chosen = hardest_named(discriminator, config, images, labels, keep)
        images, labels = images[chosen], labels[chosen]
    return data.ImageDataset(images, labels.astype(np.int32), tuple(config.label_names), f"synthetic:{config.run_name}")


def hardest_named(discriminator, config, images, labels, keep_per_label, batch_size: int = 1000) -> np.ndarray:
    """Indices of the images to keep: per label `keep_per_label[label]` of them, those its
    class head names correctly with the lowest probability first, then (if too few are named
    correctly) the rest, most probable first; in draw order."""
    num_classes = len(config.label_names)
    probabilities, named = [], []
    for start in range(0, len(labels), batch_size):
        batch_labels = labels[start:start + batch_size]
        batch = to_model_range(images[start:start + batch_size], config.output_range)
        class_logits = discriminator([batch, tf.one_hot(batch_labels, num_classes)], training=False)[1]
        probabilities.append(tf.gather(tf.nn.softmax(class_logits), batch_labels, batch_dims=1).numpy())
        named.append(tf.argmax(class_logits, axis=1).numpy() == batch_labels)
    probabilities, named = np.concatenate(probabilities), np.concatenate(named)
    chosen = []
    for label, count in enumerate(keep_per_label):
        candidates = np.flatnonzero(labels == label)
        # Named first, hardest first among them; a misnamed one only to make up the number.
        rank = np.where(named[candidates], probabilities[candidates], 2.0 - probabilities[candidates])
        chosen.append(candidates[np.argsort(rank, kind="stable")[:count]])
    return np.sort(np.concatenate(chosen))


def folder_name(label_name: str) -> str:
    # "T-shirt/top" must not become a path; letters of any script stay ("猫" and "犬" are two classes).
    name = re.sub(r"[^\w. -]", "_", label_name)
    return name if name.strip(".") else name.replace(".", "_") or "_"  # never "", "." or ".."


def check_destination(out: str | Path) -> None:
    """RunError if `write_dataset` could not write to `out`; `synth` asks before drawing, which
    can take minutes."""
    out = Path(out)
    nearest = next(parent for parent in out.absolute().parents if parent.exists())  # "/" at worst
    if not nearest.is_dir():
        raise RunError(f"--out {out} cannot be made: {nearest} is a file, not a folder")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise RunError(f"--out {out} cannot be made: no permission to write in {nearest}")
    if out.suffix.lower() == ".npz":
        if out.is_dir():
            raise RunError(f"--out {out} is a folder; name a file, FILE.npz, or a new folder for class folders")
        return
    if out.suffix.lower() in (".npy", ".png", ".jpg", ".jpeg", ".zip", ".gz", ".tar"):  # would become a folder
        raise RunError(f"--out must be a folder (class folders of PNGs) or FILE.npz, not {out}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} is not an empty folder; choose a new folder")


def write_dataset(dataset: data.ImageDataset, out: str | Path) -> None:
    """Class folders of PNGs (`OUT/<label>/<index>.png`, usable again as `folder:OUT`) or, for a
    path ending in .npz (any case), arrays `images` (uint8 N, H, W, C), `labels` and `label_names`."""
    out = Path(out)
    check_destination(out)
    if out.suffix.lower() == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary = out.with_name(f"{out.name}.tmp")
        try:
            with open(temporary, "wb") as file:
                np.savez_compressed(file, images=dataset.images, labels=dataset.labels,
                                    label_names=np.array(dataset.label_names))
            temporary.replace(out)
        finally:  # a failed write leaves nothing behind
            temporary.unlink(missing_ok=True)
        return
    names = [folder_name(name) for name in dataset.label_names]
    if len(set(names)) < len(names):
        raise RunError(f"the labels {dataset.label_names} do not make distinct folder names; write FILE.npz instead")
    for index, (image, label) in enumerate(zip(dataset.images, dataset.labels)):
        atomic_write(out / names[label] / f"{index:06d}.png", png_bytes(image))


def write_synthetic(run_dir: str | Path, out: str | Path, count: int, epoch: int | None = None, seed: int = 0,
                    noise_scale: float = 1.0, hardest_of: int = 1, log=print) -> None:
    """`ganvas synth`: `count` labelled images of a run's generator written to `out` (see
    `synthetic_dataset` and `write_dataset`)."""
    generator, config, discriminator, _ = load_for_drawing(run_dir, epoch, hardest_of)
    classes = len(config.label_names)
    conditional = is_conditional(config.model)  # if not, synthetic_dataset says why it cannot
    if conditional and count < classes:  # a labelled data set with labels missing would reload without them
        raise RunError(f"--n must be at least {classes}: one image of each label")
    if conditional and count % classes:
        log(f"note: {count} is not a multiple of the {classes} labels: the first {count % classes} labels "
            f"get one image more than the others")
    dataset = synthetic_dataset(generator, config, count, seed, noise_scale, hardest_of, discriminator, log=log)
    write_dataset(dataset, out)


def real_training_set(real_train: data.ImageDataset, size: int, seed: int) -> data.ImageDataset:
    """`size` real training images in equal shares per class, or the whole training set when
    `size` is its size: MNIST's classes are unequal (5,421 fives, 6,742 ones), so its 60,000 (the
    Sony thesis's largest phase) cannot be balanced."""
    if size == len(real_train.labels):
        return real_train
    smallest = int(np.bincount(real_train.labels, minlength=real_train.num_classes).min())
    largest = smallest * real_train.num_classes
    if size > largest:
        raise RunError(f"--sizes {size}: the real training set has {smallest} images in its smallest class, so "
                       f"at most {largest} in equal shares; use a size up to {largest}, or "
                       f"{len(real_train.labels)} for the whole set")
    if size % real_train.num_classes:  # the real set would be smaller than the synthetic one it is set against
        raise RunError(f"--sizes {size}: use a multiple of the {real_train.num_classes} labels, or "
                       f"{len(real_train.labels)} for the whole set")
    return data.balanced_subset(real_train, size // real_train.num_classes, seed, log=lambda *_: None)


def concatenate(first: data.ImageDataset, second: data.ImageDataset, name: str) -> data.ImageDataset:
    return data.ImageDataset(np.concatenate([first.images, second.images]),
                             np.concatenate([first.labels, second.labels]), first.label_names, name)


def train_on_synthetic_test_on_real(generator, config, sizes, epochs: int, seed: int = 0, noise_scale: float = 1.0,
                                    hardest_of: int = 1, discriminator=None, log=print,
                                    arch: str = DEFAULT_ARCH) -> dict:
    real_train = real_reference(config, "train")
    # Never the training images of a folder without test/: the real LeNet would be scored on
    # the very images it trained on, and the gap would mean nothing.
    real_test = real_reference(config, "test", fall_back=False)
    reals = {size: real_training_set(real_train, size, seed) for size in sizes}  # every size checked first
    results = []
    for size in sizes:
        real = reals[size]
        synthetic = synthetic_dataset(generator, config, size, seed + size, noise_scale, hardest_of, discriminator, log)
        mixed = concatenate(real, synthetic, "mixed")
        for kind, name, train_set in (("real", f"real_{size}", real), ("synthetic", f"synthetic_{size}", synthetic),
                                      ("mixed", f"real_{size}_synthetic_{size}", mixed)):
            log(f"training {NAMES[arch]} on {name} ({len(train_set.labels)} images)")
            _, history = train_classifier(train_set, arch, epochs, seed=seed, test=real_test,
                                          log=lambda line: log("  " + line))
            results.append(dict(name=name, kind=kind, size=size, train_images=len(train_set.labels),
                                test_accuracy=history[-1]["test_accuracy"], history=history))
    by_name = {result["name"]: result["test_accuracy"] for result in results}
    gaps = {str(size): by_name[f"real_{size}"] - by_name[f"synthetic_{size}"] for size in sizes}
    return dict(sizes=list(sizes), epochs=epochs, arch=arch, noise_scale=noise_scale, hardest_of=hardest_of,
                test_images=len(real_test.labels),
                results=results, gap_real_minus_synthetic=gaps)


def tstr_report(run_dir: str | Path, sizes, epochs: int, epoch: int | None = None, seed: int = 0,
                noise_scale: float = 1.0, hardest_of: int = 1, arch: str = DEFAULT_ARCH) -> tuple[dict, Path]:
    """`ganvas tstr`: `train_on_synthetic_test_on_real` of a run's generator (of its kept
    checkpoint for `epoch`), written as tstr.json (tstr_epoch_E.json) beside it; the table and
    its path."""
    generator, config, discriminator, loaded = load_for_drawing(run_dir, epoch, hardest_of)
    if min(sizes) < len(config.label_names):
        raise RunError(f"--sizes must be at least {len(config.label_names)}: one image of each label")
    table = train_on_synthetic_test_on_real(generator, config, sizes, epochs, seed, noise_scale, hardest_of,
                                            discriminator, arch=arch)
    table = dict(epoch=loaded, **table)
    output = RunDirectory(run_dir).report_path("tstr", epoch)
    atomic_write(output, json.dumps(table, indent=2))
    return table, output


def tstr_summary(table: dict) -> str:
    """`tstr_report`'s table as the terminal shows it: each training set's real test accuracy,
    then the gap at each size."""
    lines = [f"{'training set':32s} {'images':>8s} {'real test accuracy':>19s}  ({NAMES[table['arch']]}s)"]
    for result in table["results"]:
        lines.append(f"{result['name']:32s} {result['train_images']:8d} {result['test_accuracy']:19.2%}")
    for size, gap in table["gap_real_minus_synthetic"].items():
        lines.append(f"gap real - synthetic at {size}: {gap * 100:.2f} points")
    return "\n".join(lines)
