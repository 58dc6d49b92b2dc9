#!/usr/bin/env bash
# fusedrnn — everything to run on the GPU machine, in one script:
#   env        record the machine: nvidia-smi, nvcc, cuDNN header/runtime versions, compute-sanitizer
#   build      configure + build (Release, CUDA on, -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH, Ninja, -Werror) in build-gpu/
#   gpu-tests  test_gpu_backends on its own, failing if any GPU test SKIPS (a GPU machine must run them)
#   ctest      every CTest suite
#   memcheck   compute-sanitizer --tool memcheck  on test_gpu_backends (small shapes)
#   racecheck  compute-sanitizer --tool racecheck on test_gpu_backends (small shapes)
#   initcheck, synccheck  the two other sanitizer tools (advisory: logged, do not fail the run)
#   bench      bench_gpu_rnn → $OUT/bench_gpu_rnn.json (the fused/cuDNN table is in its log)
#   forecast-bench  end-to-end `fusedrnn train` windows/s on a WEATHER-5K-scale synthetic set (cuda and
#              cudnn backends) vs PyTorch + DataLoader → $OUT/forecast/forecast_bench.json (not in the
#              default list: ~5 minutes; run it in its own call)
#   lm-bench   char-rnn training tokens/s (`fusedrnn lm-train`, cuda and cudnn) vs PyTorch on the same GPU
#              → $OUT/lm/lm_bench.json (not in the default list; needs tiny-shakespeare: $FUSEDRNN_DATA or a
#              copy in gpu-data/tinyshakespeare.txt carried to the machine; ~2 minutes)
#
# Usage:  scripts/gpu_check.sh [--quick] [--stages env,build,gpu-tests,...]
#   --quick    quick benchmark (hidden 128, 1 layer) — the full grid takes several minutes
#   --stages   run only these stages (each run on the device machine is capped at 10 minutes, so
#              split it: e.g. `--stages env,build`, then `--stages gpu-tests,memcheck,racecheck`,
#              then `--stages ctest`, then `--stages bench`; build-gpu/ is kept between runs)
# Environment: OUT (default ./out), BUILD_DIR (default build-gpu), JOBS (default nproc),
#              CUDA_ARCH (default 90), SANITIZER_FILTER (gtest filter for the sanitizer runs).
# Writes $OUT/<stage>.log, $OUT/summary.json, $OUT/summary.txt and the JSON outputs of the tests and
# the benchmark. Every stage runs even when an earlier one failed (those needing the build are marked
# "skipped" if it failed); the exit status is non-zero if any required stage failed.
# shellcheck disable=SC2317  # stage functions are invoked indirectly through `stage`
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

OUT=${OUT:-$ROOT/out}
BUILD_DIR=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}
CUDA_ARCH=${CUDA_ARCH:-90}
SANITIZER_FILTER=${SANITIZER_FILTER:-'GpuRnnSmall.*:GpuDense.*'}
QUICK=0
STAGES="env,build,gpu-tests,ctest,memcheck,racecheck,initcheck,synccheck,bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --stages) STAGES="$2"; shift ;;
    --stages=*) STAGES="${1#--stages=}" ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PATH="$PATH:/usr/local/cuda/bin"

SUMMARY_ROWS=()
FAILED=0
want() { [[ ",$STAGES," == *",$1,"* ]]; }

# stage NAME REQUIRED(1|0) COMMAND...: runs COMMAND with its output in $OUT/NAME.log, records the result.
stage() {
  local name=$1 required=$2; shift 2
  local log="$OUT/$name.log" start end rc status
  echo "== $name" >&2
  start=$(date +%s)
  set +e
  ( set -euo pipefail; "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s)
  if [ $rc -eq 0 ]; then status=passed
  elif [ "$required" = 1 ]; then status=failed; FAILED=1
  else status=advisory-failed
  fi
  echo "   $status (rc $rc, $((end - start)) s) — $log" >&2
  [ $rc -eq 0 ] || tail -n 25 "$log" | sed 's/^/   | /' >&2
  SUMMARY_ROWS+=("{\"stage\": \"$name\", \"status\": \"$status\", \"rc\": $rc, \"seconds\": $((end - start)), \"log\": \"$log\"}")
  return 0
}

skip() {
  local name=$1 why=$2
  echo "== $name: skipped ($why)" >&2
  echo "skipped: $why" >"$OUT/$name.log"
  SUMMARY_ROWS+=("{\"stage\": \"$name\", \"status\": \"skipped\", \"rc\": -1, \"seconds\": 0, \"log\": \"$OUT/$name.log\", \"why\": \"$why\"}")
  FAILED=1
}

find_sanitizer() {
  command -v compute-sanitizer 2>/dev/null && return 0
  for p in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}

env_stage() {
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | wc -l) changed files"
  nvidia-smi
  nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.max.sm --format=csv
  nvcc --version
  for h in /usr/include/x86_64-linux-gnu/cudnn_version.h /usr/include/cudnn_version.h /usr/local/cuda/include/cudnn_version.h; do
    if [ -f "$h" ]; then
      echo "$h: $(grep -E '#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ' "$h" | awk '{print $3}' | paste -sd.)"
    fi
  done
  ls -l /usr/lib/x86_64-linux-gnu/libcudnn.so* /usr/local/cuda/lib64/libcudnn.so* 2>/dev/null || true
  local cs
  if cs=$(find_sanitizer); then "$cs" --version; else echo "compute-sanitizer: NOT FOUND"; fi
  cmake --version | head -1
  g++ --version | head -1
}

build_stage() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFUSEDRNN_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" -DFUSEDRNN_WERROR=ON -DFUSEDRNN_BUILD_BENCH=ON
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

gpu_tests_stage() {
  # Not `| tee /dev/stderr`: stderr is this stage's log file, and tee reopening it (O_TRUNC, its own
  # offset) lets later writes through the shell's descriptor (a crash message, the SKIPPED note below)
  # overwrite the start of the test output. Capture, then copy into the log.
  local rc=0
  "$BUILD_DIR/tests/test_gpu_backends" --gtest_output="json:$OUT/test_gpu_backends.json" \
    > "$OUT/test_gpu_backends.stdout" 2>&1 || rc=$?
  cat "$OUT/test_gpu_backends.stdout"
  [ "$rc" -eq 0 ] || return "$rc"
  if grep -q '\[  SKIPPED \]' "$OUT/test_gpu_backends.stdout"; then
    echo "GPU tests SKIPPED on the GPU machine: the CUDA backends did not register (see env.log)" >&2
    return 1
  fi
}

ctest_stage() {
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900 --output-junit "$OUT/ctest.xml"
}

sanitizer_stage() {
  local tool=$1 cs
  cs=$(find_sanitizer) || { echo "compute-sanitizer not found (looked in PATH and /usr/local/cuda)"; return 1; }
  # GpuMemory.* is left out on purpose: its absurd allocation makes cudaMalloc fail, which the
  # sanitizer reports as an API error.
  "$cs" --tool "$tool" --error-exitcode 99 --print-limit 50 \
        "$BUILD_DIR/tests/test_gpu_backends" --gtest_filter="$SANITIZER_FILTER"
}

bench_stage() {
  local args=(--out "$OUT/bench_gpu_rnn.json")
  [ "$QUICK" = 1 ] && args+=(--quick)
  "$BUILD_DIR/bench/bench_gpu_rnn" "${args[@]}"
}

lm_bench_stage() {
  bash bench/lm_bench.sh "$BUILD_DIR" "$OUT/lm"
}

forecast_bench_stage() {
  local cells=(lstm gru)
  [ "$QUICK" = 1 ] && cells=(lstm)
  bash bench/forecast_bench.sh "$BUILD_DIR" "$OUT/forecast" "${cells[@]}"
}

# PyTorch + cuDNN on the same GPU in the same session: the side-by-side anchor for RESULTS.md.
torch_bench_stage() {
  python3 bench/torch_gpu_rnn_bench.py --json "$OUT/torch_gpu_rnn.json"
}

have_build() { [ -x "$BUILD_DIR/tests/test_gpu_backends" ]; }

want env && stage env 1 env_stage
want build && stage build 1 build_stage
for s in gpu-tests ctest memcheck racecheck initcheck synccheck bench forecast-bench lm-bench; do
  want "$s" || continue
  if ! have_build; then skip "$s" "no build in $BUILD_DIR (run the build stage)"; continue; fi
  case "$s" in
    gpu-tests) stage gpu-tests 1 gpu_tests_stage ;;
    ctest) stage ctest 1 ctest_stage ;;
    memcheck) stage memcheck 1 sanitizer_stage memcheck ;;
    racecheck) stage racecheck 1 sanitizer_stage racecheck ;;
    initcheck) stage initcheck 0 sanitizer_stage initcheck ;;
    synccheck) stage synccheck 0 sanitizer_stage synccheck ;;
    bench)
      if [ -x "$BUILD_DIR/bench/bench_gpu_rnn" ]; then stage bench 1 bench_stage
      else skip bench "$BUILD_DIR/bench/bench_gpu_rnn not built"; fi
      stage torch-bench 0 torch_bench_stage ;;
    forecast-bench) stage forecast-bench 1 forecast_bench_stage ;;
    lm-bench) stage lm-bench 1 lm_bench_stage ;;
  esac
done

{
  echo "{\"stages\": ["
  for i in "${!SUMMARY_ROWS[@]}"; do
    [ "$i" -gt 0 ] && echo ","
    echo -n "  ${SUMMARY_ROWS[$i]}"
  done
  echo ""
  echo "], \"failed\": $FAILED}"
} >"$OUT/summary.json"
{
  echo "fusedrnn gpu_check $(date -u +%FT%TZ) — $( [ $FAILED = 0 ] && echo ALL REQUIRED STAGES PASSED || echo SOME STAGES FAILED)"
  for r in "${SUMMARY_ROWS[@]}"; do echo "  $r"; done
} | tee "$OUT/summary.txt" >&2
exit $FAILED
