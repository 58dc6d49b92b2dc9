#!/usr/bin/env bash
# How the wind's form (`train --wind angle|uv|uv+speed`) changes the forecast, over several seeds: GRU, hidden 64,
# the README tables' flags, on the real station sets of the shared data folder (FUSEDRNN_DATA, default
# ../shared/data). Each run goes to runs/wind/<set>/<form>-T<h>-s<seed>/; the script ends by printing
# scripts/wind_forms.py's tables (docs/forecasting.md, "Wind as components").
# Usage: [SETS="isd-lite beijing-multisite"] [HORIZONS="24 72"] [FORMS="angle uv uv+speed"] [SEEDS="1 2 3 4 5"]
#   bash scripts/wind_forms.sh [extra fusedrnn train flags, e.g. --backend cuda]
# A run whose metrics.json exists is kept, so an interrupted sweep continues where it stopped (delete runs/wind/
# to start again).
set -euo pipefail
cd "$(dirname "$0")/.."
SETS=${SETS:-isd-lite beijing-multisite}
HORIZONS=${HORIZONS:-24 72}
FORMS=${FORMS:-angle uv uv+speed}
SEEDS=${SEEDS:-1 2 3 4 5}
bash scripts/build.sh >/dev/null
for set in $SETS; do
  case "$set" in
    isd-lite) split=years:2009-2016,2017,2018 ;;
    beijing-multisite) split=dates:,2015-09-01,2016-03-01 ;;
    *) echo "SETS holds isd-lite and/or beijing-multisite, got '$set'" >&2; exit 2 ;;
  esac
  data=${FUSEDRNN_DATA:-../shared/data}/$set
  [ -d "$data" ] || { echo "no $set data at $data (set FUSEDRNN_DATA)" >&2; exit 1; }
  mkdir -p "runs/wind/$set"
  for h in $HORIZONS; do
    for form in $FORMS; do
      for seed in $SEEDS; do
        out=runs/wind/$set/$form-T$h-s$seed
        [ -f "$out/metrics.json" ] && continue
        echo "== $set: --wind $form, horizon $h, seed $seed" >&2
        build/fusedrnn train --data "$data" --split "$split" --cell gru --hidden 64 --horizon "$h" --epochs 20 \
          --patience 3 --lr 2e-3 --clip 1 --seed "$seed" --wind "$form" --out "$out" --overwrite "$@" \
          >"$out.log" 2>&1 || { echo "failed: see $out.log" >&2; exit 1; }
      done
    done
  done
done
python3 scripts/wind_forms.py runs/wind
