"""The compiled part of training: one graph call runs many whole iterations.

Speed on a laptop CPU comes from keeping Python out of the inner loop: the data set lives in
memory as one uint8 tensor, each epoch's order is a permutation computed in the graph, and one
`tf.function` runs `steps_per_call` iterations (D steps, then G steps) before Python sees a
number again.

Reproducibility comes from stateless randomness: the data order is keyed by (seed, epoch) and
every noise draw by (seed, global step). A resumed run therefore draws exactly what the
uninterrupted run would have, and a run split across replicas draws the same global batch as a
single device, each replica taking its slice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from trainer.augment import augment
from trainer.config import LOSSES as LOSS_NAMES
from trainer.config import TrainConfig
from trainer.models import get_family, is_conditional, is_image_conditioned
from trainer.sampling import to_model_range
from trainer.state import TrainingState

if TYPE_CHECKING:
    from trainer.data import ImageDataset


# Each loss takes logits. "bce" is the non-saturating loss of Goodfellow et al.: the generator
# maximises log D(G(z)) rather than minimising log(1 - D(G(z))), whose gradient vanishes early.
def bce_discriminator(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def bce_generator(fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def hinge_discriminator(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


def hinge_generator(fake_logits):
    return -tf.reduce_mean(fake_logits)


LOSSES = {"bce": (bce_discriminator, bce_generator), "hinge": (hinge_discriminator, hinge_generator)}
assert tuple(LOSSES) == LOSS_NAMES  # the names TrainConfig.check accepts


def mode_seeking_loss(images, latent):
    """MSGAN (Mao et al. 2019): the batch's first and second halves are pairs with the same label
    (see `_replica_step`), and G minimises 1 / (image distance / noise distance) over the pairs.
    A generator that maps different noise to the same image, as GANs drift towards, pays for it.
    Why here: the class loss makes digits typical of their label, and a classifier trained on
    typical digits alone misses the real test set's odd ones (docs/recipes.md's train-on-synthetic)."""
    pairs = images.shape[0] // 2
    images = tf.cast(images, tf.float32)
    image_distance = tf.reduce_mean(tf.abs(images[:pairs] - images[pairs:2 * pairs]), axis=[1, 2, 3])
    latent_distance = tf.reduce_mean(tf.abs(latent[:pairs] - latent[pairs:2 * pairs]), axis=1)
    return tf.reduce_mean(1.0 / (image_distance / latent_distance + 1e-5))


# Named rather than "auto_select", which may pick another generator per device. (XLA's kernels
# still turn the same seed into other normal numbers, so a run with --jit-compile follows a
# different, equally valid path than one without; resuming keeps whichever the run uses.)
RANDOM = "philox"


# Most of a GPU's memory is the networks' and their activations'; a data set up to this size
# is kept on the GPU itself.
DATA_ON_GPU_BYTES = 1 << 30


# Keeps the balanced order's label draws apart from its key draws (both keyed by seed and epoch).
BALANCE_SALT = 1 << 40


def class_index(labels, num_classes: int):
    """Image indices sorted by label, where each label's run starts, and its length: what a
    balanced draw needs to pick "image m of label c" as members[starts[c] + m]."""
    members = np.argsort(labels, kind="stable").astype(np.int32)
    sizes = np.bincount(labels, minlength=num_classes).astype(np.int32)
    starts = (np.cumsum(sizes) - sizes).astype(np.int32)
    return tuple(tf.Variable(array, trainable=False, name=name)
                 for array, name in ((members, "class_members"), (starts, "class_starts"), (sizes, "class_sizes")))


def balanced_draw(labels, keys, members, starts, sizes):
    """For each drawn label, the image at fraction `keys` (uniform in [0, 1)) of its run in `class_index`."""
    size = tf.gather(sizes, labels)
    member = tf.minimum(tf.cast(keys * tf.cast(size, tf.float32), tf.int32), size - 1)
    return tf.gather(members, tf.gather(starts, labels) + member)


def data_device(strategy: tf.distribute.Strategy, size: int) -> str:
    """Where the data set lives: on the GPU when one device trains on it and it fits there, so
    that no batch crosses from host memory (what a tf.data pipeline's prefetch to the device would
    do, with nothing left to prefetch); else in host memory, which every replica gathers from."""
    if strategy.num_replicas_in_sync == 1 and tf.config.list_logical_devices("GPU") and size <= DATA_ON_GPU_BYTES:
        return "/gpu:0"
    return "/cpu:0"


class TrainSteps:
    def __init__(self, config: TrainConfig, state: TrainingState, dataset: ImageDataset,
                 strategy: tf.distribute.Strategy):
        self.config, self.state, self.strategy = config, state, strategy
        self.conditional = is_conditional(config.model)
        # An image-conditioned family (colorize) tells the steps how to make its condition from
        # a real batch and what its generator's loss against the real batch is: `_paired_step`.
        self.image_conditioned = is_image_conditioned(config.model)
        self.family = get_family(config.model)
        self.num_classes = len(config.label_names)
        self.discriminator_loss, self.generator_loss = LOSSES[config.loss]
        self.replicas = strategy.num_replicas_in_sync
        # The whole data set in memory as variables: no per-step Python or NumPy work. Variables,
        # not constants, so the graph passes them by reference instead of embedding 47 MB of
        # pixels in every traced function (which XLA would then spend minutes compiling).
        with tf.device(data_device(strategy, dataset.images.nbytes)):
            self.images = tf.Variable(dataset.images, trainable=False, name="images")
            self.labels = tf.Variable(dataset.labels.astype("int32"), trainable=False, name="labels")
            if config.balance_classes:
                self.class_members, self.class_starts, self.class_sizes = class_index(dataset.labels, self.num_classes)
        self.iterations_per_epoch = len(dataset.labels) // (config.batch_size * config.d_steps)
        # XLA compiles the whole call, loop, gathers and noise included: for the MLP families
        # that is 1.6x faster than compiling the update alone (per-op overhead dominates their
        # small matrices). Not under a distribution strategy, whose all-reduce XLA cannot hold.
        jit = bool(config.jit_compile) and self.replicas == 1 and config.strategy == "default"
        self.train_steps = tf.function(self._train_steps, jit_compile=jit)
        self.epoch_order = tf.function(self._epoch_order)
        self._count_workers_asking = tf.function(self._count_asking)

    def any_worker(self, asked: bool) -> bool:
        """Whether any worker asked for `asked` (a stop). Every worker must leave the loop after
        the same graph call: one that stopped alone would leave the others waiting at the next
        exchange. A collective in a tf.function, where the strategy's timeout applies."""
        if self.config.strategy != "multiworker":
            return asked
        return int(self._count_workers_asking(tf.constant(int(asked)))) > 0

    def _count_asking(self, asked):
        per_replica = self.strategy.run(lambda: tf.identity(asked))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _epoch_order(self, epoch):
        """The epoch's image indices: a permutation of the data set, or with --balance-classes as
        many draws, each a label drawn evenly and then one of its images."""
        count = tf.shape(self.labels)[0]
        keys = tf.random.stateless_uniform([count], seed=(self.config.seed, epoch), alg=RANDOM)
        if not self.config.balance_classes:
            return tf.argsort(keys)
        labels = tf.random.stateless_uniform([count], seed=(self.config.seed, epoch + BALANCE_SALT),
                                             maxval=self.num_classes, dtype=tf.int32, alg=RANDOM)
        return balanced_draw(labels, keys, self.class_members, self.class_starts, self.class_sizes)

    def _noise(self, step, salt, local_batch, replica):
        """This replica's slice of the global batch of latent vectors and random labels."""
        global_batch = self.config.batch_size
        seed = tf.stack([tf.cast(self.config.seed, tf.int64), step * 64 + salt])
        latent = tf.random.stateless_normal((global_batch, self.config.latent_dim), seed=seed, alg=RANDOM)
        labels = tf.random.stateless_uniform((global_batch,), seed=seed + 1, maxval=self.num_classes, dtype=tf.int32,
                                             alg=RANDOM)
        # tf.slice with a constant size keeps shapes static, which XLA needs.
        start = replica * local_batch
        return (tf.slice(latent, tf.stack([start, 0]), [local_batch, self.config.latent_dim]),
                tf.slice(labels, tf.reshape(start, [1]), [local_batch]))

    def _inputs(self, first, condition):
        """The discriminator's inputs, and a label family's generator's: `first` (images or noise)
        and the condition (labels, or an image-conditioned family's grey image)."""
        if self.image_conditioned:
            return [first, condition]
        if not self.conditional:
            return [first]
        return [first, tf.one_hot(condition, self.num_classes)]

    def _generate(self, latent, condition):
        if self.image_conditioned:  # no noise: the grey image alone
            return self.state.generator(condition, training=True)
        return self.state.generator(self._inputs(latent, condition), training=True)

    def _scaled(self, optimizer, loss):
        # Each replica's loss is its share of the global mean, so the gradients that the
        # optimizer sums over replicas equal those of one device on the whole batch. (The
        # optimizer's own loss scale matters only for mixed_float16.) Inside the tape.
        return optimizer.scale_loss(loss / self.replicas)

    def _apply(self, optimizer, model, tape, scaled_loss):
        gradients = tape.gradient(scaled_loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    def _real_indices(self, order, iteration, d_step, replica, local_batch):
        """This replica's slice of the real batch of D step `d_step`: each D step sees the next
        real batch, so an epoch is one pass of the discriminator."""
        start = (iteration * self.config.d_steps + d_step) * self.config.batch_size + replica * local_batch
        return tf.slice(order, tf.reshape(start, [1]), [local_batch])

    def _replica_step(self, order, iteration, step):
        """Gather this replica's slice of the data and noise, then update both networks."""
        context = tf.distribute.get_replica_context()
        replica = tf.cast(context.replica_id_in_sync_group, tf.int64)
        local_batch = self.config.batch_size // self.replicas
        # --augment's draws: keyed by (seed, step) apart from the noise's (whose first key is the
        # seed itself, below 2**32), a further key per use in this iteration (counted while the
        # graph is traced), and the replica, each of which augments its own slice.
        self._augment_seed = tf.stack([tf.cast(self.config.seed, tf.int64) + (1 << 33) * (1 + replica), step * 64])
        self._augment_uses = 0
        if self.image_conditioned:
            return self._paired_step(order, iteration, step, replica, local_batch)
        real_batches, real_labels, d_latents, g_latents, g_labels = [], [], [], [], []
        for d_step in range(self.config.d_steps):
            indices = self._real_indices(order, iteration, d_step, replica, local_batch)
            real_batches.append(to_model_range(tf.gather(self.images, indices), self.config.output_range))
            real_labels.append(tf.gather(self.labels, indices))
            d_latents.append(self._noise(step, d_step, local_batch, replica)[0])
        for g_step in range(self.config.g_steps):
            # Fresh noise and fresh random labels, as in the SJTU report's generator step.
            latent, labels = self._noise(step, 32 + g_step, local_batch, replica)
            if self.config.mode_seeking_weight:  # the second half repeats the first's labels: pairs
                pairs = local_batch // 2
                labels = tf.concat([labels[:pairs], labels[:local_batch - pairs]], 0)
            g_latents.append(latent)
            g_labels.append(labels)
        return self._update(real_batches, real_labels, d_latents, g_latents, g_labels)

    def _paired_step(self, order, iteration, step, replica, local_batch):
        """An image-conditioned family's iteration: each D step's real batch, jittered, makes its
        own condition (the family's `condition_of`: its grey image), and G step g learns to colour
        the batch of D step g (modulo the D steps), the real one being its target."""
        real_batches = []
        for d_step in range(self.config.d_steps):
            indices = self._real_indices(order, iteration, d_step, replica, local_batch)
            real = to_model_range(tf.gather(self.images, indices), self.config.output_range)
            real_batches.append(self._jittered(real, step, d_step, local_batch, replica))
        conditions = [self.family.condition_of(real) for real in real_batches]
        chosen = [g_step % self.config.d_steps for g_step in range(self.config.g_steps)]
        return self._update(real_batches, conditions, [None] * len(real_batches), [None] * len(chosen),
                            [conditions[d_step] for d_step in chosen], [real_batches[d_step] for d_step in chosen])

    def _jittered(self, images, step, salt, local_batch, replica):
        """pix2pix's random jitter: the batch scaled up by the family's JITTER, each image cropped
        back to its size at a random place and mirrored left to right half the time. Drawn for the
        global batch, keyed by (seed, step) as the noise is, each replica taking its slice. A resize
        and two gathers, since tf.image's random crop takes one window for the whole batch."""
        size = images.shape[1]
        larger = round(size * self.family.JITTER)
        global_batch = self.config.batch_size
        seed = tf.stack([tf.cast(self.config.seed, tf.int64), step * 64 + salt])
        corners = tf.random.stateless_uniform((global_batch, 2), seed=seed, maxval=larger - size + 1, dtype=tf.int32,
                                              alg=RANDOM)
        mirrored = tf.random.stateless_uniform((global_batch, 1), seed=seed + 1, alg=RANDOM) < 0.5
        start = replica * local_batch
        corners = tf.slice(corners, tf.stack([start, 0]), [local_batch, 2])
        mirrored = tf.slice(mirrored, tf.stack([start, 0]), [local_batch, 1])
        rows = corners[:, :1] + tf.range(size)
        columns = corners[:, 1:] + tf.range(size)
        columns = tf.where(mirrored, tf.reverse(columns, [1]), columns)
        scaled = tf.image.resize(images, (larger, larger))
        return tf.gather(tf.gather(scaled, rows, axis=1, batch_dims=1), columns, axis=2, batch_dims=1)

    def _discriminate(self, images, labels):
        """D's real-or-fake logits, and the weighted class losses for `labels` of its AC-GAN head
        and of its twin head (0 for a head the run does not have). (`labels`: an image-conditioned
        family's grey images, which it has no class head for.)"""
        if self.config.augment:  # DiffAugment: every image D sees, real or fake, in G's steps too
            self._augment_uses += 1
            images = augment(images, self.config.augment, self._augment_seed + [0, self._augment_uses])
        outputs = self.state.discriminator(self._inputs(images, labels), training=True)
        if not self.config.class_loss_weight:
            return tf.cast(outputs, tf.float32), 0.0, 0.0
        logits, *heads = outputs

        def class_loss(head):
            return self.config.class_loss_weight * tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(head, tf.float32)))

        twin_loss = class_loss(heads[1]) if self.config.twin_class_head else 0.0
        return tf.cast(logits, tf.float32), class_loss(heads[0]), twin_loss

    def _update(self, real_batches, real_labels, d_latents, g_latents, g_labels, g_targets=None):
        """The D steps, then the G steps, on tensors only: the part XLA may compile. (An image-
        conditioned family's "labels" are its grey images, and `g_targets` the real images that
        its G steps' paired loss compares with.)"""
        state = self.state
        d_loss = d_real = d_fake = g_loss = tf.constant(0.0)
        for real, labels, latent in zip(real_batches, real_labels, d_latents):
            with tf.GradientTape() as tape:
                fake = self._generate(latent, labels)
                # The class head learns from real images only; the twin head, if any, from fakes only.
                real_logits, class_loss, _ = self._discriminate(real, labels)
                fake_logits, _, twin_loss = self._discriminate(fake, labels)
                loss = self.discriminator_loss(real_logits, fake_logits) + class_loss + twin_loss
                scaled_loss = self._scaled(state.d_optimizer, loss)
            self._apply(state.d_optimizer, state.discriminator, tape, scaled_loss)
            d_loss += loss
            d_real += tf.reduce_mean(tf.sigmoid(real_logits))
            d_fake += tf.reduce_mean(tf.sigmoid(fake_logits))
        for latent, labels, target in zip(g_latents, g_labels, g_targets or [None] * len(g_labels)):
            with tf.GradientTape() as tape:
                fake = self._generate(latent, labels)
                fake_logits, class_loss, twin_loss = self._discriminate(fake, labels)
                adversarial = self.generator_loss(fake_logits)
                if self.config.adversarial_weight not in (None, 1):  # colorize; 0: its L1-only baseline
                    adversarial *= self.config.adversarial_weight
                # TAC-GAN (Gong et al. 2019): minus the twin's loss cancels the class loss's reward
                # for fakes far from other classes, so G matches each class's real spread.
                loss = adversarial + class_loss - twin_loss
                if self.config.mode_seeking_weight:
                    loss += self.config.mode_seeking_weight * mode_seeking_loss(fake, latent)
                if self.config.l1_weight:  # pix2pix: the distance to the true image keeps the colours right
                    loss += self.config.l1_weight * self.family.paired_loss(fake, target)
                scaled_loss = self._scaled(state.g_optimizer, loss)
            self._apply(state.g_optimizer, state.generator, tape, scaled_loss)
            g_loss += loss
        # Means over this replica's batch divided by the replica count: summed over replicas
        # they give the global mean.
        share = 1.0 / self.replicas
        return tf.stack([d_loss, g_loss, d_real, d_fake]) * share

    def _train_steps(self, order, start, count):
        # A while loop, not `for ... in tf.range(count)`: XLA wants a range's bounds as constants
        # and compiled the graph again for every new value.
        state = self.state
        iteration = start
        while iteration < start + count:
            per_replica = self.strategy.run(self._replica_step, args=(order, iteration, state.global_step))
            totals = tf.cast(self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None), tf.float64)
            finite = tf.reduce_all(tf.math.is_finite(totals))
            state.first_bad_step.assign(
                tf.where(finite | (state.first_bad_step >= 0), state.first_bad_step, iteration))
            counts = tf.constant([self.config.d_steps, self.config.g_steps], tf.float64)
            state.sums.assign_add(tf.concat([totals, counts], 0))
            state.global_step.assign_add(1)
            if self.config.lr_decay_epochs:
                self.apply_learning_rate()
            if self.config.average_decay:
                state.update_average()
            iteration += 1

    def apply_learning_rate(self) -> None:
        """config.lr (config.json, not a checkpoint, rules), falling linearly to zero over the
        last lr_decay_epochs epochs. GAN weights keep circling a good solution at a constant
        rate; shrinking the steps lets them settle near it. In the graph after every iteration,
        and once on resume, where a new --epochs may have moved the schedule."""
        rate = tf.constant(self.config.lr, tf.float32)
        if self.config.lr_decay_epochs:
            decay_steps = self.config.lr_decay_epochs * self.iterations_per_epoch
            start = (self.config.epochs - self.config.lr_decay_epochs) * self.iterations_per_epoch
            progress = tf.cast(self.state.global_step - start, tf.float32) / decay_steps
            rate = rate * (1.0 - tf.clip_by_value(progress, 0.0, 1.0))
        for optimizer in self.state.optimizers:
            optimizer.learning_rate.assign(rate)
