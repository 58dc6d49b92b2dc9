#!/usr/bin/env bash
# End-to-end forecaster training throughput (issue 4): `fusedrnn train` on a WEATHER-5K-scale synthetic
# set (5,672 stations x 10 years, dataset resident on the device, batches gathered by a kernel) next to
# the same model and batch in PyTorch + cuDNN fed by a standard DataLoader (bench/torch_forecast_bench.py),
# on the same GPU in the same run.
#
# Usage:  bench/forecast_bench.sh BUILD_DIR OUT_DIR [cells...]      (cells default: lstm gru)
# Environment: STATIONS (5672), YEARS (10), HIDDEN (128), BATCHES (300 timed training batches),
#              BACKENDS ("cuda cuda+persistent cudnn": "cuda+persistent" is the cuda backend with
#              FUSEDRNN_CUDA_RECURRENCE=persistent, kernels/cuda/rnn_recurrence.h), TORCH_WORKERS (8),
#              PYTHON (python3: one with torch),
#              GPUS (the GPUs nvidia-smi lists): with 2 or more, each cell also runs `--backend cuda --data-parallel
#              GPUS` (the same batch of 1024 split over the GPUs, gradients summed by NCCL)
# Writes OUT_DIR/forecast_bench.json (one row per framework x backend x cell, windows/s — fusedrnn's rows also
# eval_windows_per_s, its final report's evaluation pass over 2 x 100k windows; rewritten after every
# row, so a run cut short keeps what it measured) and the logs. A PyTorch failure fails the script once
# every cell has run, the rows measured kept.
set -euo pipefail
BUILD_DIR=${1:?usage: forecast_bench.sh BUILD_DIR OUT_DIR [cells...]}
OUT_DIR=${2:?usage: forecast_bench.sh BUILD_DIR OUT_DIR [cells...]}
shift 2
CELLS=("$@")
[ ${#CELLS[@]} -gt 0 ] || CELLS=(lstm gru)
STATIONS=${STATIONS:-5672}
YEARS=${YEARS:-10}
HIDDEN=${HIDDEN:-128}
BATCHES=${BATCHES:-300}
BACKENDS=${BACKENDS:-"cuda cuda+persistent cudnn"}
TORCH_WORKERS=${TORCH_WORKERS:-8}
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)}
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."
mkdir -p "$OUT_DIR"
rows=()
write_json() {
  printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
meta = dict(zip(("stations", "years", "timed_batches"), map(int, sys.argv[1:4])))
json.dump({**meta, "batch": 1024, "rows": rows}, open(sys.argv[4], "w"), indent=2)
' "$STATIONS" "$YEARS" "$BATCHES" "$OUT_DIR/forecast_bench.json"
}
torch_failed=0

runs=()
for backend in $BACKENDS; do runs+=("$backend 1"); done
[ "${GPUS:-0}" -ge 2 ] && runs+=("cuda $GPUS")
for cell in "${CELLS[@]}"; do
  for spec in "${runs[@]}"; do
    read -r backend ranks <<<"$spec"
    recurrence=alternating
    if [[ $backend == *+* ]]; then recurrence=${backend#*+}; backend=${backend%%+*}; fi
    label=$backend
    [ "$backend" = cuda ] && [ "$recurrence" != alternating ] && label="$backend ($recurrence)"
    [ "$ranks" -gt 1 ] && label="$label x$ranks GPUs"
    run="$OUT_DIR/forecast-$cell-$backend-$recurrence-$ranks"
    rm -rf "$run"
    # One epoch of BATCHES training batches; validation/test on 100k evenly spaced windows so the
    # timing is about training. windows/s is the epoch's (first step included), from log.csv.
    FUSEDRNN_CUDA_RECURRENCE=$recurrence "$BUILD_DIR/fusedrnn" train --synthetic-stations "$STATIONS" --synthetic-years "$YEARS" --synthetic-gaps 0 \
      --cell "$cell" --hidden "$HIDDEN" --batch 1024 --lr 1e-4 --epochs 1 --max-batches "$BATCHES" \
      --eval-windows 100000 --backend "$backend" --data-parallel "$ranks" --out "$run" >"$run.log" 2>&1 ||
      { echo "fusedrnn train --backend $backend ($recurrence) --data-parallel $ranks --cell $cell failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
    wps=$(python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(round(float(r[-1]['windows_per_s'])))" "$run/log.csv")
    # The final report's pass (the model and both persistence baselines, forecasts folded on the host).
    ewps=$(python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['report_evaluation']; print(round(e['windows'] / max(e['seconds'], 1e-9)))" "$run/metrics.json")
    echo "fusedrnn $label $cell: $wps windows/s training, $ewps windows/s in the report's evaluation"
    rows+=("{\"framework\": \"fusedrnn\", \"backend\": \"$label\", \"cell\": \"$cell\", \"hidden\": $HIDDEN, \"windows_per_s\": $wps, \"eval_windows_per_s\": $ewps}")
    write_json
  done
  # The same station-years as fusedrnn's set (8,760 hourly rows a year), held by the DataLoader's dataset.
  if ! "$PYTHON" bench/torch_forecast_bench.py --cell "$cell" --hidden "$HIDDEN" --steps "$BATCHES" \
      --stations "$STATIONS" --rows $((YEARS * 8760)) --workers "$TORCH_WORKERS" \
      --json "$OUT_DIR/torch_forecast_$cell.json" >"$OUT_DIR/torch_forecast_$cell.log" 2>&1; then
    echo "torch_forecast_bench.py --cell $cell failed:" >&2; tail -5 "$OUT_DIR/torch_forecast_$cell.log" >&2
    torch_failed=1
    continue
  fi
  read -r twps tdev < <(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(round(j['windows_per_s']), j['device'].replace(' ', '_'))" "$OUT_DIR/torch_forecast_$cell.json")
  echo "torch ($tdev) + DataLoader $cell: $twps windows/s"
  rows+=("{\"framework\": \"torch\", \"backend\": \"$tdev + DataLoader($TORCH_WORKERS workers)\", \"cell\": \"$cell\", \"hidden\": $HIDDEN, \"windows_per_s\": $twps}")
  write_json
done

cat "$OUT_DIR/forecast_bench.json"
exit $torch_failed
