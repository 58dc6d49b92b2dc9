#!/usr/bin/env bash
# Fills gpu-data/ (git-ignored) with what a GPU-machine run needs and that machine cannot fetch: it has
# CUDA, cuDNN, CMake, ninja, g++ and PyTorch, but none of the Debian packages fusedrnn builds with
# (scripts/deps.sh) and no network. Run it here, then carry gpu-data/ with the device call:
#   gpu-data/debs/*.deb             the build dependencies at CI's versions (bookworm); gpu_check.sh unpacks
#                                   them into a private prefix ($DEPS_PREFIX, /opt/fusedrnn-deps), never into /
#   gpu-data/tinyshakespeare.txt    the text the lm-bench stage trains on ($FUSEDRNN_DATA is not there)
# About 15 MB in all; the device call carries at most 64 MiB with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${DEST:-gpu-data}
DATA=${FUSEDRNN_DATA:-../shared/data}

# The build dependencies and what they need at run time that a CUDA image may lack (libfmt9, OpenBLAS with
# its Fortran runtime, Google Benchmark's shared library). Keep in step with scripts/deps.sh. Open MPI is left out:
# it is optional (multi-process training, which a one-GPU machine cannot run over NCCL) and large.
packages=(libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev libopenblas-pthread-dev libopenblas0-pthread
          libgfortran5 libquadmath0 libgtest-dev libbenchmark-dev libbenchmark1debian zlib1g-dev)

mkdir -p "$DEST/debs"
rm -f "$DEST"/debs/*.deb
download() { (cd "$DEST/debs" && apt-get download "${packages[@]}") >/dev/null 2>"$DEST/debs/download.log"; }
if ! download; then
  echo "gpu_prepare: apt-get download failed; updating the package lists and trying again" >&2
  apt-get update -qq
  download || { cat "$DEST/debs/download.log" >&2; exit 1; }
fi
rm -f "$DEST/debs/download.log"
for f in "$DEST"/debs/*%3a*.deb; do   # an epoch's colon, URL-escaped: plain names travel anywhere
  [ -e "$f" ] && mv "$f" "${f//%3a/_}"
done

if [ -f "$DATA/tinyshakespeare/input.txt" ]; then
  cp "$DATA/tinyshakespeare/input.txt" "$DEST/tinyshakespeare.txt"
else
  echo "gpu_prepare: $DATA/tinyshakespeare/input.txt not found: the lm-bench stage will have no text" >&2
fi

echo "gpu_prepare: $(find "$DEST/debs" -name '*.deb' | wc -l) packages, $(du -sh "$DEST" | cut -f1) in $DEST/"
echo "carry it: run(command=\"bash scripts/gpu_check.sh --plan first\", carry=[\"$DEST\"])"
