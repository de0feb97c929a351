"""The classifier that judges generators: the Sony thesis's LeNet, or the IME-USP slides' deep
feed-forward network for comparison.

A classifier lives in `classifiers/<dataset>-<arch>/`: `classifier.keras` and `info.json` (data
set, architecture, image shape, label names, test accuracy, per-epoch history). Its penultimate
layer, named "features", is the feature space of the Fréchet distance and the diversity figure.
Images go in as float32 in [0, 1], the range every generator's samples are converted to.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

from trainer import data
from trainer.data import ImageDataset
from trainer.judges import DEFAULT_ARCH, FEATURES_ARCH, default_epochs
from trainer.rundir import (CLASSIFIER_INFO_FILE, CLASSIFIER_MODEL_FILE, CLASSIFIERS_DIR, RunError, atomic_write,
                            classifier_dir, save_model, take_lock, trained_classifier_dir)


def build_lenet(image_shape, num_classes):
    """LeNet as in Caffe's DIGITS (Sony thesis, Figure 5.1): conv 20@5x5, max-pool, conv 50@5x5,
    max-pool, dense 500 ReLU, dense to the classes."""
    image = keras.Input(tuple(image_shape), name="image")
    hidden = layers.Conv2D(20, 5)(image)
    hidden = layers.MaxPooling2D(2)(hidden)
    hidden = layers.Conv2D(50, 5)(hidden)
    hidden = layers.MaxPooling2D(2)(hidden)
    features = layers.Dense(500, activation="relu", name="features")(layers.Flatten()(hidden))
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(image, logits, name="lenet")


def lenet_feature_maps(image_shape, num_classes):
    """The LeNet's two convolution stages (each after its max-pool), frozen: what cdcgan's
    discriminator reads with --classifier-features. Built exactly as `build_lenet` builds them, so
    that a trained classifier's weights copy in (`copy_feature_weights`) and a run's checkpoints,
    which carry their own copy, restore into it."""
    lenet = build_lenet(image_shape, num_classes)
    pools = [layer.output for layer in lenet.layers if isinstance(layer, layers.MaxPooling2D)]
    maps = keras.Model(lenet.input, pools, name="classifier_features")
    maps.trainable = False
    return maps


def copy_feature_weights(classifier: keras.Model, maps: keras.Model) -> None:
    """The classifier's convolution weights into `lenet_feature_maps`, layer by layer in order
    (Keras numbers layer names per process, so names do not match)."""
    sources = [layer for layer in classifier.layers if isinstance(layer, layers.Conv2D)]
    targets = [layer for layer in maps.layers if isinstance(layer, layers.Conv2D)]
    if len(sources) != len(targets):
        raise RunError(f"the classifier {classifier.name} is not a LeNet: --classifier-features reads a LeNet's "
                       f"convolutions (train one with `ganvas classifier train --arch {FEATURES_ARCH}`)")
    for source, target in zip(sources, targets):
        target.set_weights(source.get_weights())


def build_dfn(image_shape, num_classes):
    """A deep feed-forward network (IME-USP slides): dense ReLU layers with dropout."""
    image = keras.Input(tuple(image_shape), name="image")
    hidden = layers.Dropout(0.2)(layers.Dense(512, activation="relu")(layers.Flatten()(image)))
    features = layers.Dense(256, activation="relu", name="features")(hidden)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.2)(features))
    return keras.Model(image, logits, name="dfn")


def to_unit_float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def train_classifier(train: ImageDataset, arch: str = DEFAULT_ARCH, epochs: int = 20, batch_size: int = 128,
                     seed: int = 0, log=print, test: ImageDataset | None = None):
    """Adam 1e-3 with the thesis's exponential policy, gamma 0.95, as Caffe's DIGITS applies it:
    once per hundredth of the training, so the rate falls smoothly to about 0.95^100 (0.6 %) of its
    start by the last step, whatever the number of epochs (a last, smaller batch is one step more). Twenty epochs by default because the
    rate is down to a tenth by mid-training: ten left Fashion-MNIST at 89.7-90.0 %, twenty reach 91 %.
    Returns the model and its per-epoch history (with test accuracy and loss when given)."""
    keras.utils.set_random_seed(seed)
    build = {"lenet": build_lenet, "dfn": build_dfn}[arch]  # trainer/judges.py's ARCHITECTURES
    model = build(train.image_shape, train.num_classes)
    steps_per_epoch = max(1, len(train.labels) // batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, steps_per_epoch * epochs / 100, 0.95)
    model.compile(keras.optimizers.Adam(schedule),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    validation = (to_unit_float(test.images), test.labels) if test is not None else None
    history = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            record = dict(epoch=epoch + 1, loss=logs["loss"], accuracy=logs["accuracy"],
                          seconds=round(time.perf_counter() - self.began, 3))
            if validation is not None:
                record.update(test_loss=logs["val_loss"], test_accuracy=logs["val_accuracy"])
            history.append(record)
            log(f"epoch {epoch + 1}/{epochs}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}"
                + (f"  test accuracy {logs['val_accuracy']:.4f}" if validation else ""))

    model.fit(to_unit_float(train.images), train.labels, batch_size=batch_size, epochs=epochs,
              validation_data=validation, shuffle=True, verbose=0, callbacks=[Record()])
    return model, history


def train_and_keep(dataset: str, arch: str = DEFAULT_ARCH, classifiers_dir: str | Path = CLASSIFIERS_DIR, *,
                   overwrite: bool = False, epochs: int | None = None, batch_size: int = 128,
                   limit_per_class: int | None = None, seed: int = 0, log=print, **load_options) -> tuple[dict, Path]:
    """`trainer classifier train`: the data set's `arch` classifier trained and kept in its folder
    with its info.json, which is returned with the folder. A classifier kept there is replaced only
    with `overwrite`, and a second training into the same folder at the same moment is refused.
    `load_options`: `data_dir`, `image_size` and `channels`, as trainer.data.load takes them."""
    image_size = load_options.get("image_size")
    if arch == "lenet" and image_size is not None and image_size < 16:
        # Two 5x5 convolutions, each pooled by 2, leave nothing of a smaller image.
        raise RunError(f"--image-size must be at least 16 for lenet, not {image_size} (or choose --arch dfn)")
    directory = classifier_dir(dataset, arch, classifiers_dir, image_size)
    refuse_to_replace(directory, overwrite)
    train_set = data.load(dataset, "train", limit_per_class=limit_per_class, seed=seed, **load_options)
    test_set = data.load(dataset, "test", **load_options)
    if epochs is None:
        epochs = default_epochs(len(train_set.labels), batch_size)
    lock = take_lock(directory)  # a second `classifier train` into this folder is refused, not overwriting
    if lock is None:
        raise RunError(f"another `classifier train` is writing {directory}; wait for it to finish")
    with lock:
        refuse_to_replace(directory, overwrite)  # again: one that finished while this one loaded the data
        log(f"training {arch} on {dataset}: {len(train_set.labels)} training images, "
            f"{len(test_set.labels)} test images, {epochs} epochs")
        model, history = train_classifier(train_set, arch, epochs, batch_size, seed, log=log, test=test_set)
        info = dict(dataset=dataset, arch=arch, image_shape=list(train_set.image_shape),
                    label_names=list(train_set.label_names), train_images=len(train_set.labels),
                    test_accuracy=history[-1]["test_accuracy"], test_loss=history[-1]["test_loss"],
                    epochs=epochs, history=history)
        save_classifier(model, info, directory)
    return info, directory


def refuse_to_replace(directory: Path, overwrite: bool) -> None:
    if (directory / CLASSIFIER_INFO_FILE).exists() and not overwrite:
        raise RunError(f"{directory} already holds a classifier, which eval, --eval-every and export use: "
                       f"add --overwrite to replace it")


def save_classifier(model, info: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_model(model, directory / CLASSIFIER_MODEL_FILE)
    atomic_write(directory / CLASSIFIER_INFO_FILE, json.dumps(info, indent=2))


class Classifier:
    """A trained classifier with its feature extractor, for scoring images in [0, 1]."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        if not (self.directory / CLASSIFIER_MODEL_FILE).exists():
            raise RunError(f"no classifier in {self.directory}")
        try:
            self.info = json.loads((self.directory / CLASSIFIER_INFO_FILE).read_text())
            self.model = keras.models.load_model(self.directory / CLASSIFIER_MODEL_FILE, compile=False)
        except Exception as error:  # Keras and json raise many kinds for a damaged or missing file
            raise RunError(f"cannot load the classifier in {self.directory}: it is damaged or incomplete "
                           f"({type(error).__name__}: {str(error)[:160]}); train it again with `ganvas "
                           f"classifier train --overwrite` and its data set") from None
        self.features_model = keras.Model(self.model.input, [self.model.get_layer("features").output,
                                                             self.model.output])

    @classmethod
    def for_run(cls, config, root: str | Path = CLASSIFIERS_DIR, arch: str = DEFAULT_ARCH) -> "Classifier":
        directory = trained_classifier_dir(config.dataset, arch, root, config.image_shape[0])
        classifier = cls(directory)
        if list(classifier.info["image_shape"]) != list(config.image_shape):
            raise RunError(f"the classifier in {directory} takes {classifier.info['image_shape']} images, "
                           f"the run makes {config.image_shape}; train a classifier with matching "
                           f"--image-size/--channels")
        if list(classifier.info["label_names"]) != list(config.label_names):
            raise RunError(f"the classifier in {directory} knows labels {classifier.info['label_names']}, "
                           f"the run has {config.label_names}")
        return classifier

    def features_and_predictions(self, images: np.ndarray, batch_size: int = 1000):
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            batch_features, batch_logits = self.features_model(images[start:start + batch_size], training=False)
            features.append(np.asarray(batch_features))
            logits.append(np.asarray(batch_logits))
        return np.concatenate(features), np.concatenate(logits).argmax(-1)
