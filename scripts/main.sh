#!/usr/bin/env bash
# The main job: set up, then train the default conditional generator on MNIST in a few CPU
# minutes and say where the run went. Extra arguments go to `trainer train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n== training the default MNIST generator (runs/mnist-demo)\n'
.venv/bin/python -m trainer train --dataset mnist --model cdcgan --epochs 6 \
  --run-name mnist-demo --overwrite "$@"
printf '\nThe run is in runs/mnist-demo: samples/ holds a grid per epoch, history.jsonl the losses.\n'
printf 'Draw more digits with: .venv/bin/python -m trainer sample --run mnist-demo --label 7 --out seven.png\n'
