#!/usr/bin/env bash
# Copy the TF.js builds the page loads from npm's packages into web/vendor/: no CDN, no bundler.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p vendor
cp node_modules/@tensorflow/tfjs/dist/tf.min.js vendor/
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js vendor/
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm vendor/
# WebGPU: offered only where the browser grants an adapter and TF.js starts it (web/js/webgpu.js).
cp node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js vendor/
