#!/usr/bin/env bash
# Everything Ganvas needs on a fresh Debian machine, run as root: system packages, the Python
# virtual environment with the pinned requirements, and the data sets. Safe to run again: each
# step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

missing=()
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v chromium >/dev/null || missing+=(chromium)                  # browser tests
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)   # the emoji data set
[ -f /usr/share/unicode/emoji/emoji-test.txt ] || missing+=(unicode-data)                       # its labels
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# pip installs everything in one go: a later, separate install that upgrades `packaging`
# would break tensorflowjs's pin (see requirements.txt).
stamp=.venv/.requirements.sha256
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  log "creating .venv and installing requirements.txt (a few minutes the first time)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  .venv/bin/pip check
  echo "$wanted" > "$stamp"
fi

# The `ganvas` command (pyproject.toml), installed editable: it runs this checkout's code, so an
# edit needs no reinstall; only a change to pyproject.toml does. No dependencies: those are above.
project_stamp=.venv/.pyproject.sha256
project=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/ganvas ] || [ ! -f "$project_stamp" ] || [ "$(cat "$project_stamp")" != "$project" ]; then
  log "installing the ganvas command (.venv/bin/ganvas)"
  .venv/bin/pip install -qq --no-deps -e .   # -qq: not setuptools' notice on every editable install
  echo "$project" > "$project_stamp"
fi

if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.ganvas-lock; then
  log "installing the page's TF.js packages (web/package-lock.json)"
  (cd web && npm ci --no-audit --no-fund --silent && cp package-lock.json node_modules/.ganvas-lock)
fi
bash web/tools/vendor.sh
.venv/bin/python -m export.model_index   # web/models/index.json, the page's list of models

log "data sets"
bash scripts/fetch_data_sources.sh
.venv/bin/ganvas data fetch
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -m export.web_data   # web/data/, what web/train.html trains on
