#!/usr/bin/env bash
# The CPU backend on a machine it shares: training windows/s of one `fusedrnn train` alone, and of PROCS of them
# at once, with libgomp's default wait policy (a thread that reaches the end of a parallel region spins before it
# sleeps) and with OMP_WAIT_POLICY=passive (it sleeps at once). Several OpenMP programs on the same cores spin
# against each other's work; docs/forecasting.md ("Threads") quotes the figures.
#
# Usage:  bench/shared_cpu_bench.sh BUILD_DIR OUT_DIR
# Environment: PROCS (3 processes at once), REPEATS (3 runs of each case, the median reported), BATCHES (40 timed
#              training batches per process), HIDDEN (64)
# Writes OUT_DIR/shared_cpu_bench.json: per case (policy x processes) every run's mean windows/s per process and
# the median; the logs beside it.
set -euo pipefail
BUILD_DIR=${1:?usage: shared_cpu_bench.sh BUILD_DIR OUT_DIR}
OUT_DIR=${2:?usage: shared_cpu_bench.sh BUILD_DIR OUT_DIR}
PROCS=${PROCS:-3}
REPEATS=${REPEATS:-3}
BATCHES=${BATCHES:-40}
HIDDEN=${HIDDEN:-64}
BIN="$BUILD_DIR/fusedrnn"
[ -x "$BIN" ] || { echo "shared_cpu_bench.sh: no fusedrnn in $BUILD_DIR (build it first: bash scripts/build.sh)" >&2; exit 2; }
mkdir -p "$OUT_DIR"
cores=$(nproc)
echo "shared_cpu_bench: $cores cores; 1 and $PROCS processes at once, $REPEATS runs each, $BATCHES batches, hidden $HIDDEN"

# One process's training windows/s: the windows_per_s column of its run's log.csv (the epoch line rounds to "10k").
rate_of() { python3 -c 'import csv, sys; print(next(csv.DictReader(open(sys.argv[1])))["windows_per_s"])' "$1"; }

results=()
for policy in default passive; do
  for procs in 1 "$PROCS"; do
    runs=()
    for r in $(seq 1 "$REPEATS"); do
      pids=()
      for p in $(seq 1 "$procs"); do
        log="$OUT_DIR/${policy}_${procs}_${r}_${p}.log"
        (
          [ "$policy" = passive ] && export OMP_WAIT_POLICY=passive || unset OMP_WAIT_POLICY
          "$BIN" train --epochs 1 --max-batches "$BATCHES" --hidden "$HIDDEN" --eval-windows 2000 --seed "$p" \
              --out "$OUT_DIR/run_${p}" --overwrite > "$log" 2>&1
        ) &
        pids+=($!)
      done
      for p in $(seq 1 "$procs"); do
        wait "${pids[$((p - 1))]}" ||
          { echo "a training failed: see $OUT_DIR/${policy}_${procs}_${r}_${p}.log" >&2; tail -n 3 \
              "$OUT_DIR/${policy}_${procs}_${r}_${p}.log" >&2; exit 1; }
      done
      sum=0
      for p in $(seq 1 "$procs"); do
        rate=$(rate_of "$OUT_DIR/run_${p}/log.csv") ||
          { echo "no epoch in $OUT_DIR/run_${p}/log.csv: see $OUT_DIR/${policy}_${procs}_${r}_${p}.log" >&2; exit 1; }
        sum=$((sum + rate))
      done
      runs+=($((sum / procs)))
    done
    echo "  $policy, $procs at once: ${runs[*]} windows/s per process"
    results+=("{\"policy\": \"$policy\", \"processes\": $procs, \"windows_per_s\": [$(IFS=,; echo "${runs[*]}")]}")
  done
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
for r in rows:
    r["median"] = statistics.median(r["windows_per_s"])
json.dump({"cores": int(sys.argv[1]), "timed_batches": int(sys.argv[2]), "hidden": int(sys.argv[3]), "rows": rows},
          open(sys.argv[4], "w"), indent=2)
for r in rows:
    print("%-8s %d at once: median %.0f windows/s per process" % (r["policy"], r["processes"], r["median"]))
' "$cores" "$BATCHES" "$HIDDEN" "$OUT_DIR/shared_cpu_bench.json"
