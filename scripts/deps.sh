#!/usr/bin/env bash
# Installs the Debian packages fusedrnn builds with, when any is missing (idempotent, quiet when done).
# Pinned by Debian bookworm's versions: CLI11 2.3, nlohmann-json 3.11, fmt 9.1, OpenBLAS 0.3.21,
# GoogleTest 1.12, Google Benchmark 1.7, zlib 1.2.13, Open MPI 4.1 (multi-process training: mpirun),
# CMake ≥ 3.24 (bookworm: 3.25), Ninja.
set -euo pipefail
packages=(cmake ninja-build g++ pkgconf libcli11-dev nlohmann-json3-dev libfmt-dev libopenblas-dev
          libgtest-dev libbenchmark-dev zlib1g-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fusedrnn: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
