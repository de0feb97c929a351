#!/usr/bin/env bash
# The main job: set up, train the default conditional generator on MNIST in a few CPU minutes,
# score it with the LeNet classifier, export it to TF.js, and serve the app and the page on 127.0.0.1.
# Extra arguments go to `ganvas train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
py=.venv/bin/python
ganvas=.venv/bin/ganvas  # the command line, installed by scripts/setup.sh
if [ ! -f classifiers/mnist-lenet/classifier.keras ]; then
  printf '\n== training the MNIST classifier (8 epochs, about 1.5 minutes)\n'
  $ganvas classifier train --dataset mnist --epochs 8
fi
# Three epochs take 95-105 s on a 2-core Zen 3 and leave room under three minutes for the slower
# ones (docs/recipes.md, "The three-minute recipes"). The discriminator reads the classifier just
# trained (--classifier-features, as Projected GANs read a pretrained network), so it teaches the
# generator from the first steps; the learning rate is 8 times cdcgan's own, which the moving
# average of the generator's weights (--average-decay 0.99, roughly the last hundred steps) makes
# safe: the raw weights swing, their average does not. Sixteen noise dimensions instead of 64 and
# Adam without momentum (--beta1 0) took the Frechet distance from 2.8 to 1.9 times its floor.
printf '\n== training the default MNIST generator (runs/mnist-demo, about 2 minutes)\n'
$ganvas train --dataset mnist --model cdcgan --epochs 3 --average-decay 0.99 --lr 0.0016 --beta1 0 \
  --latent-dim 16 --classifier-features --run-name mnist-demo --overwrite "$@"
printf '\n== scoring it\n'
$ganvas eval --run mnist-demo
printf '\n== exporting it to web/models/mnist-demo\n'
$py -m export --run mnist-demo --name mnist-demo
host=${GANVAS_HOST:-127.0.0.1}
port=${GANVAS_PORT:-8000}
app_port=${GANVAS_APP_PORT:-8501}
# Shared, the app is read-only to anyone without this token (streamlit_app/access.py).
case $host in
  127.*|localhost|::1|'[::1]') shared= ;;
  *) shared=1; export GANVAS_TOKEN=${GANVAS_TOKEN:-$($py -c 'import secrets; print(secrets.token_urlsafe(16))')} ;;
esac
$py -m streamlit run streamlit_app/app.py --server.address "$host" --server.port "$app_port" >/dev/null 2>&1 &
app=$!
trap 'kill $app 2>/dev/null' EXIT
printf '\nThe run is in runs/mnist-demo (samples/, history.jsonl, metrics.json).\n'
printf 'The app (runs, live training, generate, classifier): http://%s:%s/\n' "$host" "$app_port"
printf 'The page (draw digits in your browser): http://%s:%s/?model=mnist-demo\n' "$host" "$port"
printf 'Train a GAN in your browser and watch it learn: http://%s:%s/train.html\n' "$host" "$port"
if [ -n "$shared" ]; then
  printf 'Shared: the app is read-only until a visitor enters the token %s in its sidebar.\n' "$GANVAS_TOKEN"
  printf 'Folders to train on: inside GANVAS_DATA_ROOT (%s).\n' "${GANVAS_DATA_ROOT:-not set, so none}"
fi
printf 'Ctrl-C stops both.\n'
# The isolation headers let the pages run TF.js's WASM backend on more than one thread.
$py web/tools/serve.py --port "$port" --bind "$host" --directory web
