#!/usr/bin/env bash
# The main job: build, then train an LSTM forecaster on the built-in synthetic stations (16 stations,
# 2021-2023 hourly; train 2021, validate 2022, test 2023), 48 h of 5 variables in, 24 h out, and print
# the test report next to persistence. Extra arguments go to `fusedrnn train` (e.g. --backend cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
exec build/fusedrnn train --epochs 8 --lr 2e-3 --clip 1 --out runs/forecast --overwrite "$@"
