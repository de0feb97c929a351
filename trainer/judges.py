"""The judges (the classifiers that score generators) as the command line and the app choose
them: which architectures there are, how long `classifier train` trains by default, and the
training-set sizes `tstr` takes. Free of TensorFlow, so that `--help`, a mistyped option and the
app's pages answer at once; trainer/classifier.py builds and trains the networks, and
trainer/rundir.py names their folders.
"""

from __future__ import annotations

import math

# lenet: the Sony thesis's LeNet; dfn: the IME-USP slides' deep feed-forward network. The first is
# the judge of every command that is not told another.
ARCHITECTURES = ("lenet", "dfn")
DEFAULT_ARCH = ARCHITECTURES[0]
ARCHITECTURES_HELP = "lenet (Sony thesis) or dfn (deep feed-forward, IME-USP slides)"
NAMES = {"lenet": "LeNet", "dfn": "DFN"}  # as the output and the app write them
FEATURES_ARCH = "lenet"  # --classifier-features reads the convolutions of a LeNet, whatever judges the run

DEFAULT_EPOCHS = 20
CLASSIFIER_STEPS = 2000  # the fewest steps `classifier train` takes by default


def default_epochs(train_images: int, batch_size: int) -> int:
    """`classifier train`'s epochs when none are given. Twenty MNIST epochs are ~9,400 steps;
    twenty epochs of emoji's 3,000 images would be 460, which left the LeNet at 83 % on its own
    training images (test 73 %); 2,000 steps fit it (78 %)."""
    steps_per_epoch = max(1, train_images // batch_size)
    return max(DEFAULT_EPOCHS, math.ceil(CLASSIFIER_STEPS / steps_per_epoch))


def parse_sizes(text: str) -> list[int]:
    """`tstr --sizes`, and the app's field that runs it: whole numbers above 0 separated by
    commas, each once (a size twice would be one table row twice); a ValueError that says so
    for anything else."""
    try:
        sizes = list(dict.fromkeys(int(size) for size in text.split(",")))
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes takes whole numbers above 0 separated by commas, not {text!r}")
    return sizes
