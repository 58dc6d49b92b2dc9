#!/usr/bin/env bash
# Builds everything and runs every test suite (GPU suites skip with a message where no GPU is present;
# suites using ../shared/data skip when FUSEDRNN_DATA is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh "$@"
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 600
