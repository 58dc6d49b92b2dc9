#!/usr/bin/env bash
# The README's forecasting table: RNN, LSTM and GRU at horizons 24/48/72 h on real ISD-Lite station
# files from the shared data folder (FUSEDRNN_DATA, default ../shared/data), each next to persistence.
# Split by year: train 2009-2016, validate 2017, test 2018 (the only stations with 2018 data are the five
# Norwegian ones). Writes runs/table/<cell>-T<h>/ and prints a Markdown table.
# Usage: [HIDDEN=64] bash scripts/forecast_table.sh [extra fusedrnn train flags, e.g. --backend cuda]
# (HIDDEN=128 writes runs/table128/ instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${FUSEDRNN_DATA:-../shared/data}/isd-lite
[ -d "$DATA" ] || { echo "no ISD-Lite data at $DATA (set FUSEDRNN_DATA)" >&2; exit 1; }
HIDDEN=${HIDDEN:-64}
TABLE=runs/table
[ "$HIDDEN" = 64 ] || TABLE=runs/table$HIDDEN
bash scripts/build.sh >/dev/null
for cell in rnn_tanh lstm gru; do
  for h in 24 48 72; do
    out=$TABLE/$cell-T$h
    mkdir -p "$TABLE"
    echo "== $cell horizon $h" >&2
    build/fusedrnn train --data "$DATA" --split years:2009-2016,2017,2018 --cell "$cell" --hidden "$HIDDEN" \
      --horizon "$h" --epochs 20 --patience 3 --lr 2e-3 --clip 1 --seed 1 --out "$out" "$@" >"$out.log" 2>&1 ||
      { echo "failed: see $out.log" >&2; exit 1; }
  done
done
python3 scripts/forecast_table.py "$TABLE"
