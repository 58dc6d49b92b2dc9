#!/usr/bin/env bash
# fusedrnn — everything to run on the GPU machine, in one script, sized for its lease (15 minutes of device
# time per task, 10 minutes per call, at most 8 files back from $OUT).
#
# Before the first call, here:  bash scripts/gpu_prepare.sh   (fills the git-ignored gpu-data/: the Debian
# packages fusedrnn builds with, which that machine lacks and cannot fetch, and the lm-bench text), then
#   run(command="bash scripts/gpu_check.sh --plan first",  carry=["gpu-data"], timeout_s=560)
#   run(command="bash scripts/gpu_check.sh --plan second --deadline S", carry=["gpu-data"], timeout_s=S+20)
#       at once, while the machine is warm (30 s), with S = status's budget_left_s minus a minute
#       (a machine that went back in between starts bare: the second plan builds again, at a cost)
# and afterwards, here: tar xzf <files_at>/results.tar.gz -C /tmp/gpu; python3 bench/gpu_results_table.py /tmp/gpu
#
# Stages:
#   deps       unpack gpu-data/debs/*.deb into $DEPS_PREFIX (never into /) and point CMake and the loader at it
#              (automatic whenever gpu-data/debs holds packages)
#   env        record the machine: nvidia-smi, nvcc, cuDNN header/runtime versions, compute-sanitizer
#   build      configure + build (Release, CUDA on, -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH, Ninja) in build-gpu/;
#              $BUILD_TARGETS only when set. -Werror only with WERROR=ON: that machine's g++ 13 warns where
#              CI's g++ 12 does not, and a lease is too short to lose to a new warning; the count is reported
#   gpu-tests  test_gpu_backends on its own, failing if any GPU test SKIPS (a GPU machine must run them); its
#              recurrent-stack suites again on the persistent recurrence kernels (FUSEDRNN_CUDA_RECURRENCE)
#   ctest      every CTest suite (builds every target first)
#   memcheck   compute-sanitizer --tool memcheck  on test_gpu_backends (small shapes; both recurrence strategies)
#   racecheck  compute-sanitizer --tool racecheck on test_gpu_backends (small shapes; both recurrence strategies)
#   initcheck, synccheck  the two other sanitizer tools (advisory: logged, do not fail the run)
#   bench      bench_gpu_rnn → bench_gpu_rnn.json (the fused/cuDNN table is in its log), then PyTorch's
#              cuDNN at the same shapes (torch-bench, advisory)
#   forecast-bench  end-to-end `fusedrnn train` windows/s on a WEATHER-5K-shaped synthetic set (cuda and
#              cudnn backends) vs PyTorch + DataLoader → forecast_bench.json (STATIONS, YEARS, BATCHES,
#              FORECAST_CELLS as in bench/forecast_bench.sh)
#   lm-bench   char-rnn training tokens/s (`fusedrnn lm-train`, cuda and cudnn) vs PyTorch → lm_bench.json
#              (text: $FUSEDRNN_DATA or gpu-data/tinyshakespeare.txt; CHUNKS as in bench/lm_bench.sh)
#
# Plans (what a call runs when --stages is not given), in this order:
#   first   env,build,gpu-tests,bench,forecast-bench,memcheck,racecheck,lm-bench — the GPU tests, then the
#           numbers the open work needs, then the sanitizers (150 s each); building only the three binaries
#           they use, the quick benchmark grid, the forecaster on 1,000 stations x 10 years (lstm, 200 batches)
#           and 200 lm chunks; deadline 540 s
#   second  build,memcheck,racecheck,lm-bench,bench,forecast-bench,ctest,initcheck,synccheck — what the first
#           call left undone (a stage that passed in an earlier call on this machine is not run again: see
#           $BUILD_DIR/gpu_check.passed), the full benchmark grid, the forecaster at the full WEATHER-5K shape
#           (5,672 stations; lstm, then gru), every CTest suite; deadline 200 s unless given
#   all     everything at full size, no deadline (a machine without a per-call cap)
#
# Usage:  scripts/gpu_check.sh [--plan first|second|all] [--stages a,b,...] [--quick] [--deadline SECONDS]
#   --stages    run only these stages (the plan's sizes still apply when --plan is given too)
#   --quick     the quick benchmark grid (hidden 128, 1 layer) and a one-cell forecast bench
#   --deadline  seconds this call may take: each stage's time limit is cut to what is left, and a stage with
#               under a minute left is skipped, so the summary and the results always come back
# Environment: OUT (default ./out), RESULTS (default ./gpu-results), BUILD_DIR (default build-gpu), JOBS
#              (default nproc), CUDA_ARCH (default 90), SANITIZER_FILTER (gtest filter for the sanitizer runs),
#              PERSISTENT_ROWS (bench_gpu_rnn --persistent-rows; default 0,1,2,4,8,16 on the quick grid, else 0),
#              SANITIZER_PERSISTENT_FILTER (the same for their persistent-recurrence run: by default the small
#              cross-checks, every cell, GpuRnnSmall.CudaCudnnCpuAgree:GpuRnnSmall.OptionalArgumentsMayBeNull),
#              SANITIZER_KERNELS (racecheck, initcheck and synccheck instrument only kernels whose name holds
#              it; default fusedrnn, empty = every kernel; memcheck always checks every kernel),
#              DEPS_PREFIX (default /opt/fusedrnn-deps), WERROR (default OFF).
# A stage that finds its tool unusable on this machine (compute-sanitizer refuses the device on gVisor
# machines) is reported "unavailable" and does not fail the run.
# Writes every log and JSON under $RESULTS, and after each stage packs them into $OUT/results.tar.gz next to
# $OUT/summary.txt, $OUT/summary.json and copies of the three benchmark JSONs (six files: the device tool
# brings back at most eight). The summary and the benchmark highlights are printed last. Every stage runs even
# when an earlier one failed (those needing the build are marked "skipped" if it failed); the exit status is
# non-zero if any required stage failed.
# shellcheck disable=SC2317  # stage functions are invoked indirectly through `stage`
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$(date +%s)

OUT=${OUT:-$ROOT/out}
RESULTS=${RESULTS:-$ROOT/gpu-results}
BUILD_DIR=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}
CUDA_ARCH=${CUDA_ARCH:-90}
SANITIZER_FILTER_GIVEN=${SANITIZER_FILTER:-}
SANITIZER_FILTER=${SANITIZER_FILTER:-'GpuRnnSmall.*:GpuDense.*:-GpuRnnSmall.Tf32StaysWithinItsTolerance'}
SANITIZER_KERNELS=${SANITIZER_KERNELS-fusedrnn}
DEPS_PREFIX=${DEPS_PREFIX:-/opt/fusedrnn-deps}
WERROR=${WERROR:-OFF}
BUILD_TARGETS=${BUILD_TARGETS:-}
QUICK=0
PLAN=""
STAGES=""
DEADLINE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --plan) PLAN="$2"; shift ;;
    --plan=*) PLAN="${1#--plan=}" ;;
    --stages) STAGES="$2"; shift ;;
    --stages=*) STAGES="${1#--stages=}" ;;
    --deadline) DEADLINE="$2"; shift ;;
    --deadline=*) DEADLINE="${1#--deadline=}" ;;
    -h|--help) sed -n '2,61p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$DEADLINE" =~ ^[0-9]+$ ]] || { echo "gpu_check.sh: --deadline takes whole seconds, not '$DEADLINE'" >&2; exit 2; }

# Each stage's time limit (seconds) when no deadline cuts it shorter.
declare -A LIMIT=([deps]=120 [env]=60 [build]=420 [gpu-tests]=240 [ctest]=600 [memcheck]=300 [racecheck]=300
                  [initcheck]=240 [synccheck]=240 [bench]=300 [torch-bench]=180 [forecast-bench]=480
                  [lm-bench]=300)
ONCE_STAGES=""  # stages not run again when they passed in an earlier call on this machine

# A plan sets the stage list, the sizes and the deadline; anything given explicitly wins.
plan_default() { [ -n "${!1:-}" ] || printf -v "$1" '%s' "$2"; }
case "$PLAN" in
  first)
    plan_default STAGES "env,build,gpu-tests,bench,forecast-bench,memcheck,racecheck,lm-bench"
    plan_default BUILD_TARGETS "test_gpu_backends fusedrnn_cli bench_gpu_rnn"
    plan_default STATIONS 1000; plan_default BATCHES 200; plan_default FORECAST_CELLS lstm
    plan_default CHUNKS 200
    LIMIT[memcheck]=150; LIMIT[racecheck]=150
    # In 150 s: memcheck instruments cuDNN's and cuBLAS's kernels too, and the twenty cuDNN plan rebuilds of
    # CudnnPlansEvictedAndRebuiltAgree are the slowest part under it (a timeout would read as a failed stage).
    [ -n "${SANITIZER_FILTER_GIVEN:-}" ] ||
      SANITIZER_FILTER="$SANITIZER_FILTER:GpuRnnSmall.CudnnPlansEvictedAndRebuiltAgree"
    QUICK=1
    [ "$DEADLINE" -gt 0 ] || DEADLINE=540 ;;
  second)
    plan_default STAGES "build,memcheck,racecheck,lm-bench,bench,forecast-bench,ctest,initcheck,synccheck"
    plan_default BUILD_TARGETS "test_gpu_backends fusedrnn_cli bench_gpu_rnn"  # ctest builds the rest
    plan_default FORECAST_CELLS "lstm gru"
    plan_default CHUNKS 200
    ONCE_STAGES="memcheck,racecheck,lm-bench"
    [ "$DEADLINE" -gt 0 ] || DEADLINE=200 ;;
  all|"")
    plan_default STAGES "env,build,gpu-tests,ctest,memcheck,racecheck,initcheck,synccheck,bench,forecast-bench,lm-bench" ;;
  *) echo "gpu_check.sh: unknown plan '$PLAN' (first, second or all)" >&2; exit 2 ;;
esac
[ "$QUICK" = 1 ] && plan_default FORECAST_CELLS lstm
KNOWN_STAGES=",env,build,gpu-tests,ctest,memcheck,racecheck,initcheck,synccheck,bench,forecast-bench,lm-bench,"
IFS=',' read -r -a STAGE_LIST <<<"$STAGES"
for s in "${STAGE_LIST[@]}"; do
  [[ "$KNOWN_STAGES" == *",$s,"* ]] || { echo "gpu_check.sh: unknown stage '$s' (see --help)" >&2; exit 2; }
done
export STATIONS YEARS BATCHES CHUNKS FORECAST_CELLS

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
export PATH="$PATH:/usr/local/cuda/bin"
UNAVAILABLE=75  # a stage's exit status when its tool does not work on this machine (EX_TEMPFAIL)
export ROOT OUT RESULTS BUILD_DIR JOBS CUDA_ARCH SANITIZER_FILTER SANITIZER_KERNELS DEPS_PREFIX WERROR BUILD_TARGETS QUICK UNAVAILABLE

RESERVE=20   # seconds kept back for the summary and packing
PASSED_FILE=$BUILD_DIR/gpu_check.passed
MIN_STAGE=60 # a stage with less than this left is skipped rather than started

SUMMARY_ROWS=()
NOT_AVAILABLE=()
FAILED=0
elapsed() { echo $(($(date +%s) - T0)); }

json_row() {  # name status rc seconds [why]
  local why=""
  [ -n "${5:-}" ] && why=", \"why\": \"$5\""
  SUMMARY_ROWS+=("{\"stage\": \"$1\", \"status\": \"$2\", \"rc\": $3, \"seconds\": $4, \"log\": \"$1.log\"$why}")
}

skip() {
  local name=$1 why=$2
  echo "== $name: skipped ($why)" >&2
  echo "skipped: $why" >"$RESULTS/$name.log"
  json_row "$name" skipped -1 0 "$why"
  FAILED=1
}

# stage NAME REQUIRED(1|0) COMMAND...: runs COMMAND (a function exported below) with its output in
# $RESULTS/NAME.log under a time limit, records the result and packs the results.
stage() {
  local name=$1 required=$2; shift 2
  local log="$RESULTS/$name.log" start end rc status limit=${LIMIT[$name]:-300}
  if [[ ",$ONCE_STAGES," == *",$name,"* ]] && grep -qx "$name" "$PASSED_FILE" 2>/dev/null; then
    echo "== $name: passed in an earlier call on this machine" >&2
    json_row "$name" passed-earlier 0 0
    pack
    return 0
  fi
  if [ "$DEADLINE" -gt 0 ]; then
    local left=$((DEADLINE - $(elapsed) - RESERVE))
    if [ "$left" -lt "$MIN_STAGE" ]; then
      if [ "$required" = 1 ]; then skip "$name" "out of time: ${left}s left of the ${DEADLINE}s deadline"
      else echo "== $name: not run (out of time)" >&2; json_row "$name" not-run -1 0 "out of time"; fi
      pack
      return 0
    fi
    [ "$left" -lt "$limit" ] && limit=$left
  fi
  echo "== $name (limit ${limit}s, $(elapsed)s into the call)" >&2
  start=$(date +%s)
  set +e
  # timeout signals its whole process group, so test binaries and sanitizers started by the stage stop too.
  timeout --kill-after=10 "$limit" bash -c 'set -euo pipefail; "$@"' _ "$@" >"$log" 2>&1 </dev/null
  rc=$?
  set -e
  end=$(date +%s)
  if [ $rc -eq 0 ]; then status=passed; mkdir -p "$BUILD_DIR"; echo "$name" >>"$PASSED_FILE"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timed-out; echo "timed out after ${limit}s" >>"$log"
  elif [ $rc -eq "$UNAVAILABLE" ]; then status=unavailable; NOT_AVAILABLE+=("$name")
  else status=failed
  fi
  if [ $rc -ne 0 ] && [ $rc -ne "$UNAVAILABLE" ]; then
    if [ "$required" = 1 ]; then FAILED=1; else status="advisory-$status"; fi
  fi
  echo "   $status (rc $rc, $((end - start)) s) — $log" >&2
  [ $rc -eq 0 ] || tail -n 25 "$log" | sed 's/^/   | /' >&2
  json_row "$name" "$status" "$rc" $((end - start))
  pack
  return 0
}

write_summary() {
  {
    echo "{\"plan\": \"${PLAN:-custom}\", \"stages\": ["
    for i in "${!SUMMARY_ROWS[@]}"; do
      [ "$i" -gt 0 ] && echo ","
      echo -n "  ${SUMMARY_ROWS[$i]}"
    done
    echo ""
    echo "], \"failed\": $FAILED, \"seconds\": $(elapsed)}"
  } >"$RESULTS/summary.json"
  {
    echo -n "fusedrnn gpu_check ${PLAN:-custom} $(date -u +%FT%TZ), $(elapsed) s — "
    if [ $FAILED = 0 ]; then echo -n "ALL REQUIRED STAGES PASSED"; else echo -n "SOME STAGES FAILED"; fi
    if [ ${#NOT_AVAILABLE[@]} -gt 0 ]; then echo " (NOT RUN, tool unavailable here: ${NOT_AVAILABLE[*]})"; else echo; fi
    for r in "${SUMMARY_ROWS[@]}"; do echo "  $r"; done
  } >"$RESULTS/summary.txt"
}

# After every stage, so a call cut short still brings back everything done so far.
pack() {
  write_summary
  cp "$RESULTS/summary.txt" "$RESULTS/summary.json" "$OUT/"
  local f
  for f in bench_gpu_rnn.json forecast/forecast_bench.json lm/lm_bench.json; do
    if [ -f "$RESULTS/$f" ]; then cp "$RESULTS/$f" "$OUT/"; fi
  done
  if tar czf "$OUT/results.tar.gz.tmp" -C "$RESULTS" . 2>/dev/null; then mv "$OUT/results.tar.gz.tmp" "$OUT/results.tar.gz"
  else rm -f "$OUT/results.tar.gz.tmp"; echo "gpu_check: packing the results failed (they stay in $RESULTS)" >&2
  fi
}

find_sanitizer() {
  command -v compute-sanitizer 2>/dev/null && return 0
  for p in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}

deps_stage() {
  command -v dpkg-deb >/dev/null || { echo "dpkg-deb not found: cannot unpack gpu-data/debs"; return 1; }
  mkdir -p "$DEPS_PREFIX"
  local f
  for f in gpu-data/debs/*.deb; do
    echo "unpacking $(basename "$f")"
    dpkg-deb -x "$f" "$DEPS_PREFIX"
  done
  # An absolute link (zlib1g-dev's libz.so → /lib/x86_64-linux-gnu/libz.so.1.2.13) names a file of the system
  # the package was built for; where that version is not installed, point it at the system's library of the
  # same soname (libz.so.1), or at the prefix's own copy.
  local link target soname d
  while IFS= read -r link; do
    target=$(readlink "$link")
    if [[ $target != /* ]] || [ -e "$target" ]; then continue; fi
    if [ -e "$DEPS_PREFIX$target" ]; then ln -sfn "$DEPS_PREFIX$target" "$link"; continue; fi
    soname=$(basename "$target" | sed -E 's/^(lib[^.]+\.so\.[0-9]+).*/\1/')
    for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
      if [ -e "$d/$soname" ]; then ln -sfn "$d/$soname" "$link"; echo "repointed $link -> $d/$soname"; break; fi
    done
    [ -e "$link" ] || echo "dangling link left: $link -> $target"
  done < <(find "$DEPS_PREFIX" -type l)
  ls "$DEPS_PREFIX/usr/include" "$DEPS_PREFIX/usr/lib/x86_64-linux-gnu"
}

# CMake finds the packages under the prefix before the system's; the loader finds their libraries (the
# build-tree RUNPATH covers direct links, not libopenblas's own libgfortran).
# A compiler run outside CMake (CTest's docs.CppSnippetsCompile) finds their headers through CPATH. The install
# test's pkg-config half is left out here, saying why: unpacked packages leave no pkg-config database (CI runs it).
use_deps() {
  local lib=$DEPS_PREFIX/usr/lib/x86_64-linux-gnu
  export CMAKE_PREFIX_PATH="$DEPS_PREFIX/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export CPATH="$DEPS_PREFIX/usr/include${CPATH:+:$CPATH}"
  export FUSEDRNN_SKIP_PKG_CONFIG_CHECK="build dependencies unpacked from .debs under $DEPS_PREFIX, not installed"
}

# The system's cuDNN (header + libcudnn.so) if there is one, else the copy PyTorch's pip packages bring
# (nvidia-cudnn-cu13: include/ and lib/libcudnn.so.9, no unversioned link), linked under the prefix.
locate_cudnn() {
  local d dir
  for d in /usr/include/x86_64-linux-gnu /usr/include /usr/local/cuda/include; do
    [ -f "$d/cudnn.h" ] && return 0
  done
  dir=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) || return 0
  [ -f "$dir/include/cudnn.h" ] && [ -e "$dir/lib/libcudnn.so.9" ] || return 0
  mkdir -p "$DEPS_PREFIX/cudnn/lib"
  ln -sfn "$dir/include" "$DEPS_PREFIX/cudnn/include"
  ln -sfn "$dir/lib/libcudnn.so.9" "$DEPS_PREFIX/cudnn/lib/libcudnn.so"
  export CMAKE_PREFIX_PATH="$DEPS_PREFIX/cudnn${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export CPATH="$dir/include${CPATH:+:$CPATH}"
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "gpu_check: no system cuDNN header; using PyTorch's ($dir)" >&2
}

env_stage() {  # records all it can; fails without a GPU (nvidia-smi) or a compiler (nvcc)
  local rc=0 cs h
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | wc -l) changed files"
  echo "deps prefix: $( [ -d "$DEPS_PREFIX/usr" ] && echo "$DEPS_PREFIX" || echo none)"
  grep PRETTY_NAME /etc/os-release || true
  echo "kernel: $(uname -r) (4.4.0 is gVisor, where compute-sanitizer and ncu do not work)"
  nvidia-smi || { echo "nvidia-smi FAILED"; rc=1; }
  nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.max.sm --format=csv || true
  nvcc --version || { echo "nvcc FAILED"; rc=1; }
  for h in /usr/include/x86_64-linux-gnu/cudnn_version.h /usr/include/cudnn_version.h /usr/local/cuda/include/cudnn_version.h; do
    if [ -f "$h" ]; then
      echo "$h: $(grep -E '#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ' "$h" | awk '{print $3}' | paste -sd.)"
    fi
  done
  ls -l /usr/lib/x86_64-linux-gnu/libcudnn.so* /usr/local/cuda/lib64/libcudnn.so* 2>/dev/null || true
  if cs=$(find_sanitizer); then "$cs" --version || true; else echo "compute-sanitizer: NOT FOUND"; fi
  cmake --version | head -1 || true
  g++ --version | head -1 || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' || true
  return "$rc"
}

build_stage() {
  # CMAKE_POLICY_VERSION_MINIMUM: CMake 4 refuses package files written for CMake < 3.5 without it.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFUSEDRNN_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" -DFUSEDRNN_WERROR="$WERROR" -DFUSEDRNN_BUILD_BENCH=ON \
        -DCMAKE_POLICY_VERSION_MINIMUM=3.5
  local targets=()
  [ -n "$BUILD_TARGETS" ] && read -r -a targets <<<"$BUILD_TARGETS"
  if [ ${#targets[@]} -gt 0 ]; then cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"
  else cmake --build "$BUILD_DIR" -j "$JOBS"
  fi
}

gpu_tests_stage() {
  # Not `| tee /dev/stderr`: stderr is this stage's log file, and tee reopening it (O_TRUNC, its own
  # offset) lets later writes through the shell's descriptor (a crash message, the SKIPPED note below)
  # overwrite the start of the test output. Capture, then copy into the log.
  # Three runs: the whole binary on the default (alternating) recurrence, then the recurrent-stack suites on the
  # persistent kernels (kernels/cuda/rnn_recurrence.h) with rows per block chosen for this GPU, and with 2, 4 and
  # 16 rows (partial blocks at the suites' odd batches; the small shapes only): the automatic choice picks 1, 4 or 8
  # on the suites' batches, so without these the 2- and 16-row instantiations would first run in a benchmark.
  local rc=0 run recurrence filter tag
  for run in "alternating *" "persistent GpuRnnSmall.*:GpuRnnLarge.*" "persistent:2 GpuRnnSmall.*" \
             "persistent:4 GpuRnnSmall.*" "persistent:16 GpuRnnSmall.*"; do
    read -r recurrence filter <<<"$run"
    tag=${recurrence//:/_}
    echo "== FUSEDRNN_CUDA_RECURRENCE=$recurrence --gtest_filter=$filter"
    FUSEDRNN_CUDA_RECURRENCE=$recurrence "$BUILD_DIR/tests/test_gpu_backends" --gtest_filter="$filter" \
      --gtest_output="json:$RESULTS/test_gpu_backends_$tag.json" > "$RESULTS/test_gpu_backends_$tag.stdout" 2>&1 || rc=$?
    cat "$RESULTS/test_gpu_backends_$tag.stdout"
    [ "$rc" -eq 0 ] || return "$rc"
    if grep -q '\[  SKIPPED \]' "$RESULTS/test_gpu_backends_$tag.stdout"; then
      echo "GPU tests SKIPPED on the GPU machine: the CUDA backends did not register (see env.log)" >&2
      return 1
    fi
  done
}

ctest_stage() {
  cmake --build "$BUILD_DIR" -j "$JOBS"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900 --output-junit "$RESULTS/ctest.xml"
}

sanitizer_stage() {
  local tool=$1 cs
  cs=$(find_sanitizer) || { echo "compute-sanitizer not found (looked in PATH and /usr/local/cuda)"; return 1; }
  # GpuMemory.* is left out on purpose: its absurd allocation makes cudaMalloc fail, which the
  # sanitizer reports as an API error. The recurrent stack runs twice: on the default (alternating) recurrence
  # with the dense ops, then on the persistent kernels with 4 rows per block (several blocks, partial ones, every
  # phase's __syncthreads under racecheck).
  # racecheck, initcheck and synccheck instrument only fusedrnn's own kernels (every one is in namespace fusedrnn):
  # a hazard inside cuDNN's or cuBLAS's kernels is not ours to fix, and instrumenting them costs most of the lease.
  # memcheck keeps every kernel: a library kernel reading past a buffer means fusedrnn sized or passed it wrongly.
  local only=()
  if [ "$tool" != memcheck ] && [ -n "$SANITIZER_KERNELS" ]; then
    if "$cs" --help 2>&1 | grep -q -- '--kernel-name '; then only=(--kernel-name "kns=$SANITIZER_KERNELS")
    else echo "this compute-sanitizer has no --kernel-name: $tool instruments every kernel"
    fi
  fi
  local rc=0 run recurrence filter
  for run in "alternating $SANITIZER_FILTER" "persistent:4 ${SANITIZER_PERSISTENT_FILTER:-GpuRnnSmall.CudaCudnnCpuAgree:GpuRnnSmall.OptionalArgumentsMayBeNull}"; do
    read -r recurrence filter <<<"$run"
    echo "== $tool ${only[*]}, FUSEDRNN_CUDA_RECURRENCE=$recurrence --gtest_filter=$filter"
    FUSEDRNN_CUDA_RECURRENCE=$recurrence "$cs" --tool "$tool" --error-exitcode 99 --print-limit 50 "${only[@]}" \
          "$BUILD_DIR/tests/test_gpu_backends" --gtest_filter="$filter" >"$RESULTS/$tool.out" 2>&1 || rc=$?
    cat "$RESULTS/$tool.out"
    if [ "$rc" -ne 0 ] && grep -q "Device not supported" "$RESULTS/$tool.out"; then
      echo "compute-sanitizer does not support this machine's device (a gVisor machine?): $tool unavailable"
      rc=$UNAVAILABLE
    fi
    rm -f "$RESULTS/$tool.out"
    [ "$rc" -eq 0 ] || return "$rc"
  done
}

bench_stage() {
  local args=(--out "$RESULTS/bench_gpu_rnn.json")
  [ "$QUICK" = 1 ] && args+=(--quick)
  # The persistent kernels at several rows per block (0: the backend's choice): cheap on the quick grid, where
  # it settles the default; the full grid times the backend's choice only unless PERSISTENT_ROWS says otherwise.
  local rows=${PERSISTENT_ROWS:-}
  [ -z "$rows" ] && [ "$QUICK" = 1 ] && rows=0,1,2,4,8,16
  [ -n "$rows" ] && args+=(--persistent-rows "$rows")
  "$BUILD_DIR/bench/bench_gpu_rnn" "${args[@]}"
}

# PyTorch + cuDNN on the same GPU in the same session: the side-by-side anchor for RESULTS.md.
torch_bench_stage() {
  local args=(--json "$RESULTS/torch_gpu_rnn.json")
  [ "$QUICK" = 1 ] && args+=(--hidden 128 --layers 1 --repeats 5 --warmup 2)  # bench_gpu_rnn --quick's grid
  python3 bench/torch_gpu_rnn_bench.py "${args[@]}"
}

forecast_bench_stage() {
  local cells
  read -r -a cells <<<"${FORECAST_CELLS:-lstm gru}"
  bash bench/forecast_bench.sh "$BUILD_DIR" "$RESULTS/forecast" "${cells[@]}"
}

lm_bench_stage() {
  bash bench/lm_bench.sh "$BUILD_DIR" "$RESULTS/lm"
}

export -f find_sanitizer deps_stage env_stage build_stage gpu_tests_stage ctest_stage sanitizer_stage bench_stage \
  torch_bench_stage forecast_bench_stage lm_bench_stage

highlights() {
  echo "== highlights"
  if [ -f "$RESULTS/bench.log" ]; then  # the fused-vs-cuDNN table, from its header on
    echo "-- bench_gpu_rnn"
    if grep -q '^cell ' "$RESULTS/bench.log"; then sed -n '/^cell /,$p' "$RESULTS/bench.log"; else tail -n 10 "$RESULTS/bench.log"; fi
  fi
  local f
  for f in forecast/forecast_bench.json lm/lm_bench.json; do
    [ -f "$RESULTS/$f" ] && { echo "-- $f"; cat "$RESULTS/$f"; }
  done
  echo "-- results: $OUT/results.tar.gz (every log), summary.txt, summary.json"
  cat "$RESULTS/summary.txt"
}

if compgen -G "gpu-data/debs/*.deb" >/dev/null; then
  stage deps 1 deps_stage
fi
[ -d "$DEPS_PREFIX/usr" ] && use_deps
locate_cudnn
have_build() { [ -x "$BUILD_DIR/tests/test_gpu_backends" ]; }
for s in "${STAGE_LIST[@]}"; do
  case "$s" in
    env) stage env 1 env_stage; continue ;;
    build)
      stage build 1 build_stage
      echo "build warnings: $(grep -c 'warning:' "$RESULTS/build.log" || true)" >>"$RESULTS/build.log"
      continue ;;
  esac
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

pack
highlights >&2
exit $FAILED
