#!/usr/bin/env bash
# The README's forecasting tables: RNN, LSTM and GRU at horizons 24/48/72 h on real station files from the
# shared data folder (FUSEDRNN_DATA, default ../shared/data), each next to persistence.
#   SET=isd-lite (default): NOAA ISD-Lite, split by year: train 2009-2016, validate 2017, test 2018 (the only
#     stations with 2018 data are the five Norwegian ones). Writes runs/table/.
#   SET=beijing-multisite: UCI Beijing Multi-Site, 12 sites 2013-03..2017-02, split by date: train to
#     2015-09-01, validate to 2016-03-01, test the last full year. Writes runs/table-beijing-multisite/.
#   SET=noaa-lcd-10yr: NOAA LCD, 17 US stations with 10 years each (TMP, DEW, RH only), split by year:
#     train 2012-2019, validate 2020, test 2021 (years every station has). Writes runs/table-noaa-lcd-10yr/.
# Each run goes to <table>/<cell>-T<h>/; the script ends by printing a Markdown table.
# Usage: [SET=isd-lite] [HIDDEN=64] [DECODER=direct] bash scripts/forecast_table.sh [extra fusedrnn train flags,
#   e.g. --backend cuda]
# (HIDDEN other than 64 appends it to the folder: runs/table128/; DECODER=seq2seq trains encoder-decoders, into
# runs/table-seq2seq/.)
set -euo pipefail
cd "$(dirname "$0")/.."
SET=${SET:-isd-lite}
case "$SET" in
  isd-lite) SPLIT=years:2009-2016,2017,2018; TABLE=runs/table ;;
  beijing-multisite) SPLIT=dates:,2015-09-01,2016-03-01; TABLE=runs/table-beijing-multisite ;;
  noaa-lcd-10yr) SPLIT=years:2012-2019,2020,2021; TABLE=runs/table-noaa-lcd-10yr ;;
  *) echo "SET must be isd-lite, beijing-multisite or noaa-lcd-10yr, got '$SET'" >&2; exit 2 ;;
esac
DATA=${FUSEDRNN_DATA:-../shared/data}/$SET
[ -d "$DATA" ] || { echo "no $SET data at $DATA (set FUSEDRNN_DATA)" >&2; exit 1; }
HIDDEN=${HIDDEN:-64}
[ "$HIDDEN" = 64 ] || TABLE=$TABLE$HIDDEN
DECODER=${DECODER:-direct}
[ "$DECODER" = direct ] || TABLE=$TABLE-$DECODER
bash scripts/build.sh >/dev/null
mkdir -p "$TABLE"
for cell in rnn_tanh lstm gru; do
  for h in 24 48 72; do
    out=$TABLE/$cell-T$h
    echo "== $SET: $cell horizon $h" >&2
    build/fusedrnn train --data "$DATA" --split "$SPLIT" --cell "$cell" --hidden "$HIDDEN" \
      --horizon "$h" --decoder "$DECODER" --epochs 20 --patience 3 --lr 2e-3 --clip 1 --seed 1 --out "$out" \
      --overwrite "$@" >"$out.log" 2>&1 ||
      { echo "failed: see $out.log" >&2; exit 1; }
  done
done
python3 scripts/forecast_table.py "$TABLE"
