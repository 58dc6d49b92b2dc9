#!/usr/bin/env bash
# Character-level language-model training throughput (char-rnn on tiny-shakespeare: embedding 32, LSTM 128,
# 32 streams x 64-step chunks, Adam, clip 5): `fusedrnn lm-train` with each backend in BACKENDS next to the
# same model and batches in PyTorch (bench/torch_lm_bench.py) on TORCH_DEVICE, in one run.
#
# Usage:  bench/lm_bench.sh BUILD_DIR OUT_DIR [TEXT]
#   TEXT defaults to $FUSEDRNN_DATA/tinyshakespeare/input.txt (FUSEDRNN_DATA defaults to ../shared/data),
#   else gpu-data/tinyshakespeare.txt (a git-ignored copy carried to the GPU machine).
# Environment: BACKENDS ("cuda cudnn"), TORCH_DEVICE (cuda), CHUNKS (300 timed chunks), CELL (lstm),
#              PYTHON (python3: one with torch)
# Writes OUT_DIR/lm_bench.json (one row per framework x backend, tokens/s; rewritten after every row, so a run
# cut short keeps what it measured) and the logs; a PyTorch failure fails the script, the fusedrnn rows kept.
# fusedrnn's figure is the epoch's training tokens/s (first chunk included, held-out evaluation not), read
# from last.safetensors.
set -euo pipefail
BUILD_DIR=${1:?usage: lm_bench.sh BUILD_DIR OUT_DIR [TEXT]}
OUT_DIR=${2:?usage: lm_bench.sh BUILD_DIR OUT_DIR [TEXT]}
cd "$(dirname "$0")/.."
DATA=${FUSEDRNN_DATA:-../shared/data}
TEXT=${3:-}
if [ -z "$TEXT" ]; then
  for t in "$DATA/tinyshakespeare/input.txt" gpu-data/tinyshakespeare.txt; do
    [ -f "$t" ] && { TEXT=$t; break; }
  done
fi
[ -n "$TEXT" ] && [ -f "$TEXT" ] || { echo "lm_bench.sh: no text (give TEXT, or set FUSEDRNN_DATA)" >&2; exit 1; }
BACKENDS=${BACKENDS:-"cuda cudnn"}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
CHUNKS=${CHUNKS:-300}
CELL=${CELL:-lstm}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
rows=()
write_json() {
  printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"text": sys.argv[1], "chunks": int(sys.argv[2]), "rows": rows}, open(sys.argv[3], "w"), indent=2)
' "$TEXT" "$CHUNKS" "$OUT_DIR/lm_bench.json"
}

for backend in $BACKENDS; do
  run="$OUT_DIR/lm-$CELL-$backend"
  rm -rf "$run"
  "$BUILD_DIR/fusedrnn" lm-train --text "$TEXT" --tokenizer char --mode stream --cell "$CELL" --epochs 1 \
    --max-chunks "$CHUNKS" --heldout 0.01 --backend "$backend" --out "$run" >"$run.log" 2>&1 ||
    { echo "fusedrnn lm-train --backend $backend failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
  tps=$(python3 - "$run/last.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
extra = json.loads(json.loads(b[8:8 + n])["__metadata__"]["fusedrnn.extra"])
print(round(extra["training"]["history"][-1]["tokens_per_s"]))
PY
)
  echo "fusedrnn $backend $CELL: $tps tokens/s"
  rows+=("{\"framework\": \"fusedrnn\", \"backend\": \"$backend\", \"cell\": \"$CELL\", \"tokens_per_s\": $tps}")
  write_json
done

if ! "$PYTHON" bench/torch_lm_bench.py --text "$TEXT" --cell "$CELL" --chunks "$CHUNKS" --device "$TORCH_DEVICE" \
    --json "$OUT_DIR/torch_lm.json" >"$OUT_DIR/torch_lm.log" 2>&1; then
  echo "torch_lm_bench.py failed:" >&2; tail -5 "$OUT_DIR/torch_lm.log" >&2
  exit 1
fi
read -r ttps tdev < <(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(round(j['tokens_per_s']), j['device'].replace(' ', '_'))" "$OUT_DIR/torch_lm.json")
echo "torch ($tdev) $CELL: $ttps tokens/s"
rows+=("{\"framework\": \"torch\", \"backend\": \"$tdev\", \"cell\": \"$CELL\", \"tokens_per_s\": $ttps}")

write_json
echo "wrote $OUT_DIR/lm_bench.json"
