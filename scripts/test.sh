#!/usr/bin/env bash
# The test suite, after the same set-up as the main job. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --durations: the slowest tests at the end of every run, to keep the suite under CI's half hour.
.venv/bin/python -m pytest tests --durations=25 "$@"
