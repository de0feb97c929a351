#!/usr/bin/env bash
# Rebuild the four exports the repository ships in web/models/: three samplers, each with its data
# set's LeNet, and the emoji colorizer. MNIST's and Fashion-MNIST's come from the three-minute recipes (docs/recipes.md, "The three-minute recipes"): the
# discriminator reads the LeNet trained just before (--classifier-features), with which three MNIST
# epochs reach the Frechet distance of the 30-epoch recipe shipped before (about 3 times its floor)
# in a tenth of the time; both take 16 noise dimensions instead of 64 and Adam without momentum
# (--beta1 0). Fashion-MNIST adds half-weight mode seeking, batch norms whose scales each class
# picks (--class-batch-norm) and a lower learning rate that falls to zero over the last epoch,
# which took clothes from 15 to 4.3-4.5 times the Frechet floor.
# About 40 minutes on 2 cores. It replaces the LeNets in classifiers/ and the runs runs/shipped-mnist,
# runs/shipped-fashion_mnist, runs/shipped-emoji and runs/shipped-emoji-colour.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
ganvas=.venv/bin/ganvas  # the command line, installed by scripts/setup.sh
$ganvas classifier train --dataset mnist --epochs 8 --overwrite
$ganvas classifier train --dataset fashion_mnist --epochs 12 --overwrite
$ganvas train --dataset mnist --model cdcgan --epochs 3 --average-decay 0.99 --lr 0.0016 --beta1 0 \
  --latent-dim 16 --classifier-features --run-name shipped-mnist --overwrite
$ganvas train --dataset fashion_mnist --model cdcgan --epochs 3 --average-decay 0.99 --lr 0.0011 \
  --lr-decay-epochs 1 --beta1 0 --latent-dim 16 --mode-seeking-weight 0.5 --class-batch-norm --classifier-features \
  --run-name shipped-fashion_mnist --overwrite
# Emoji, the colour set: 100 short epochs of its 3,000 images (about 7 minutes), the discriminator
# shown every image augmented (DiffAugment), a lighter class loss and some mode seeking for variety.
$ganvas classifier train --dataset emoji --overwrite
$ganvas train --dataset emoji --model cdcgan --epochs 100 --average-decay 0.99 --lr 0.0016 --beta1 0 \
  --latent-dim 16 --classifier-features --augment color,translation,cutout --class-loss-weight 0.3 \
  --mode-seeking-weight 0.25 --run-name shipped-emoji --overwrite
# The colorizer: six epochs at 64 px (about 7 minutes), L1 at 3 (pix2pix's 100) so that the
# discriminator keeps the colours vivid, and G's weights averaged so that they stay right
# (docs/recipes.md, "Colorizing emoji at 64 px").
$ganvas train --dataset emoji --model colorize --image-size 64 --epochs 6 --l1-weight 3 --average-decay 0.99 \
  --run-name shipped-emoji-colour --overwrite
$ganvas eval --run shipped-emoji-colour
for run in shipped-mnist shipped-fashion_mnist shipped-emoji; do $ganvas eval --run $run; done
$py -m export --run shipped-mnist --name mnist --quantize uint8
$py -m export --run shipped-fashion_mnist --name fashion_mnist --quantize uint8
$py -m export --run shipped-emoji --name emoji --quantize uint8
$py -m export --run shipped-emoji-colour --name emoji-colour --quantize uint8
