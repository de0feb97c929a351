#!/usr/bin/env bash
# The main job: set up, train the default conditional generator on MNIST in a few CPU minutes,
# score it with the LeNet classifier, export it to TF.js, and serve the app and the page on 127.0.0.1.
# Extra arguments go to `trainer train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
py=.venv/bin/python
if [ ! -f classifiers/mnist-lenet/classifier.keras ]; then
  printf '\n== training the MNIST classifier (8 epochs, about 1.5 minutes)\n'
  $py -m trainer classifier train --dataset mnist --epochs 8
fi
# Four epochs fit in about 2.5 minutes on a 2-core Zen 3 (75 s on a Zen 4). In so short a run the
# moving average of the generator's weights (--average-decay 0.99, roughly the last hundred steps)
# is what lets a learning rate 8 times cdcgan's own (1.6e-3) pay off: the raw weights swing, their
# average lands at 99.45-99.58 % label accuracy and 3.5-3.9 times the Frechet floor for seeds 0-2,
# against 98.5-98.6 % and 6.7-7.7 times at 2e-4 (seeds 0, 1; docs/recipes.md, "The three-minute
# recipes").
printf '\n== training the default MNIST generator (runs/mnist-demo, about 3 minutes)\n'
$py -m trainer train --dataset mnist --model cdcgan --epochs 4 --average-decay 0.99 --lr 0.0016 --run-name mnist-demo --overwrite "$@"
printf '\n== scoring it\n'
$py -m trainer eval --run mnist-demo
printf '\n== exporting it to web/models/mnist-demo\n'
$py -m export --run mnist-demo --name mnist-demo
host=${GANVAS_HOST:-127.0.0.1}
port=${GANVAS_PORT:-8000}
app_port=${GANVAS_APP_PORT:-8501}
$py -m streamlit run streamlit_app/app.py --server.address "$host" --server.port "$app_port" >/dev/null 2>&1 &
app=$!
trap 'kill $app 2>/dev/null' EXIT
printf '\nThe run is in runs/mnist-demo (samples/, history.jsonl, metrics.json).\n'
printf 'The app (runs, live training, generate, classifier): http://%s:%s/\n' "$host" "$app_port"
printf 'The page (draw digits in your browser): http://%s:%s/?model=mnist-demo\n' "$host" "$port"
printf 'Train a GAN in your browser and watch it learn: http://%s:%s/train.html\n' "$host" "$port"
printf 'Ctrl-C stops both.\n'
# The isolation headers let the pages run TF.js's WASM backend on more than one thread.
$py web/tools/serve.py --port "$port" --bind "$host" --directory web
