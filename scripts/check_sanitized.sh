#!/usr/bin/env bash
# The sanitized check CI runs after the test suite (.ci/run): the suites of the code that takes untrusted input —
# station readers and their fuzzers, safetensors and checkpoints (corrupted ones included), text and vocabularies,
# the CLI's error paths, the wind's conversion to components (it re-lays the columns out) — and of the code that does its own pointer arithmetic or threading: the CUDA module's host
# code on its emulation, the seq2seq decoder's per-step buffer slices, the recurrent stack's per-layer slices
# (dropout) and the CPU backend's batch chunks on 1-4 threads, the data-parallel rank threads, the multi-process training under mpirun and the metrics' blocked
# parallel fold. Built with AddressSanitizer and
# UndefinedBehaviorSanitizer (every report fatal, leak detection on) and run. About 5 minutes on 2 cores, at -O1.
# The whole suite under the sanitizers is README's
# "Checking builds" (~17 min). Own build folder: build/ stays normal.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build-asan-ci}
TARGETS=(test_cuda_host_emulation test_data_fuzz test_data_readers test_data_ncei_lcd test_data_extremes
         test_safetensors test_lm_checkpoint test_lm_errors test_text_utf8 test_text_file test_text_tokenizer test_text_vocab_json
         test_cli test_cli_mpi test_cli_signals test_seq2seq_forecaster test_data_parallel test_dropout test_forecast_metrics
         test_api_misuse test_cpu_thread_invariance test_data_wind test_cli_wind forecast_api)
cmake -S . -B "$BUILD_DIR" -G Ninja -DFUSEDRNN_SANITIZE=ON -DFUSEDRNN_CUDA=OFF -DFUSEDRNN_WERROR=ON \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "${TARGETS[@]}"

# LeakSanitizer stops the process's threads through ptrace; a machine that forbids it makes every test fail with
# "LeakSanitizer has encountered a fatal error", whatever the code does. Then run without leak detection, and say so.
probe=$("$BUILD_DIR/tests/test_text_utf8" --gtest_brief=1 2>&1 || true)
if grep -q "LeakSanitizer has encountered a fatal error" <<<"$probe"; then
    echo "check_sanitized: LeakSanitizer cannot run on this machine (ptrace refused); leak detection off" >&2
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

cd "$BUILD_DIR"
# Only the targets above were built; CTest lists the others as *_NOT_BUILT.
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 600 -E '_NOT_BUILT$'
