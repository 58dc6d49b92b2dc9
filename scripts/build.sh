#!/usr/bin/env bash
# Configures and builds fusedrnn in ./build (Release). CUDA backends are compiled when nvcc is found
# (FUSEDRNN_CUDA=AUTO); pass extra CMake arguments through, e.g. -DFUSEDRNN_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFUSEDRNN_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
