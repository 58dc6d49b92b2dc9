#!/usr/bin/env bash
# fusedrnn — coverage-guided fuzzing (libFuzzer, clang) of the code that reads untrusted files: the station readers,
# the checkpoint loaders and the tokenizers (tests/fuzz/fuzz_*.cpp say what each promises). Not part of CI: CI runs
# the seeded mutation fuzz (tests/test_data_fuzz.cpp) and the corruption tests; this searches further, for as long as
# it is given, and each bug it finds becomes an ordinary test (the *Found suites).
#
# Usage:  bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
#         (default 120 s each; targets: fuzz_station_reader fuzz_checkpoint fuzz_text fuzz_arguments)
# Builds in build-fuzz/ (clang, AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer, CPU only), writes seed
# corpora under build-fuzz/corpus/<target>/ (from FUSEDRNN_DATA, default ../shared/data, when present; from the
# repository's fixtures and from checkpoints it trains for a second otherwise), and keeps what it finds under
# build-fuzz/corpus (new inputs) and build-fuzz/crashes/<target>/ (crash-*, leak-*, timeout-*, oom-*: rerun one with
# build-fuzz/tests/fuzz/<target> <file>). Exits 1 when any target found a crash.
# Environment: JOBS (build jobs, default nproc), FUZZ_FLAGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_station_reader fuzz_checkpoint fuzz_text fuzz_arguments)
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

bash scripts/deps.sh
# clang brings libFuzzer; libomp-dev is clang's OpenMP.
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libomp-dev 2>/dev/null | grep -q "ok installed"; then
  echo "fuzz.sh: installing clang and libomp-dev (libFuzzer, OpenMP for clang)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libomp-dev >/dev/null
fi

B=build-fuzz
CXX=clang++ cmake -S . -B "$B" -G Ninja -DFUSEDRNN_FUZZ=ON -DFUSEDRNN_CUDA=OFF -DFUSEDRNN_BUILD_TESTS=OFF \
    -DFUSEDRNN_BUILD_BENCH=OFF -DFUSEDRNN_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g -DNDEBUG" >/dev/null
cmake --build "$B" -j "${JOBS:-$(nproc)}" --target "${targets[@]}" fusedrnn_cli

data=${FUSEDRNN_DATA:-../shared/data}
corpus=$B/corpus
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"  # the seed-making CLI runs; the fuzz targets set their own

# Seed files: one byte (the target's selector), then the text.
seed() {  # seed FILE SELECTOR_BYTE_OCTAL < text
  { printf "\\$2"; cat; } >"$1"
}

# The first N lines of a file, gzip-compressed or not (the reader stopping early is not a failure).
first_lines() {  # first_lines N FILE
  case "$2" in
    *.gz) { gzip -dc "$2" || true; } | head -n "$1" ;;
    *) head -n "$1" "$2" ;;
  esac
}

make_station_seeds() {
  local d=$corpus/fuzz_station_reader f
  mkdir -p "$d"
  # The family selector is the first byte, in fuzz_station_reader.cpp's order.
  seed "$d/jena_fixture" 002 <tests/fixtures/stations/jena_sample.csv
  seed "$d/ncei_lcd_fixture" 006 <tests/fixtures/stations/ncei_lcd_sample.csv
  if [ -d "$data" ]; then
    for f in "$data/isd-lite/010014-99999-2016" "$data/isd-lite/317540-99999-2016.gz"; do
      if [ -f "$f" ]; then first_lines 60 "$f" | seed "$d/isd_lite_$(basename "$f")" 000; fi
    done
    f=$(ls "$data"/beijing-multisite/*.csv 2>/dev/null | head -n 1 || true)
    if [ -n "$f" ]; then first_lines 40 "$f" | seed "$d/beijing" 003; fi
    f=$(ls "$data"/pm25-five-cities/Chengdu*.csv 2>/dev/null | head -n 1 || true)
    if [ -n "$f" ]; then { head -n 1 "$f"; sed -n 30000,30040p "$f"; } | seed "$d/pm25" 004; fi
    f=$(ls "$data"/noaa-lcd-10yr/*.csv 2>/dev/null | head -n 1 || true)
    if [ -n "$f" ]; then first_lines 40 "$f" | seed "$d/noaa_lcd" 005; fi
  else
    echo "fuzz.sh: $data is absent: station seeds from the fixtures and the generator only (set FUSEDRNN_DATA)" >&2
  fi
  # A WEATHER-5K-layout file: the synthetic generator writes that layout.
  local tmp
  tmp=$(mktemp -d)
  "$B/fusedrnn" data synth --out "$tmp/stations" --stations 1 --years 1 >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  first_lines 60 "$(ls "$tmp"/stations/*.csv | head -n 1)" | seed "$d/weather5k" 001
  rm -rf "$tmp"
}

# Real checkpoints, trained once for a second each (kept in build-fuzz/seed-runs): tiny direct and seq2seq
# forecasters, a bidirectional stack, and both language-model modes.
runs=$B/seed-runs
make_seed_runs() {
  [ -f "$runs/done" ] && return 0
  rm -rf "$runs"
  mkdir -p "$runs"
  quietly() { "$@" >"$runs/log" 2>&1 || { cat "$runs/log" >&2; echo "fuzz.sh: making a seed checkpoint failed" >&2; exit 1; }; }
  local common=(--synthetic-stations 2 --synthetic-years 3 --hidden 8 --input-len 6 --horizon 3 --batch 64
                --epochs 1 --max-batches 2 --eval-windows 64 --backend cpu)
  quietly "$B/fusedrnn" train "${common[@]}" --out "$runs/lstm"
  quietly "$B/fusedrnn" train "${common[@]}" --cell gru --decoder seq2seq --out "$runs/seq2seq"
  quietly "$B/fusedrnn" train "${common[@]}" --cell rnn_tanh --layers 2 --bidirectional --out "$runs/bidir"
  printf 'the cat sat on the mat . the dog sat on the log . a cat and a dog .\n%.0s' {1..20} >"$runs/text.txt"
  quietly "$B/fusedrnn" lm-train --text "$runs/text.txt" --hidden 8 --embedding 4 --epochs 1 --out "$runs/lm_word"
  quietly "$B/fusedrnn" lm-train --text "$runs/text.txt" --tokenizer char --mode stream --bptt 8 --streams 4 \
      --hidden 8 --embedding 4 --epochs 1 --out "$runs/lm_char"
  touch "$runs/done"
}

make_checkpoint_seeds() {
  local d=$corpus/fuzz_checkpoint
  mkdir -p "$d"
  make_seed_runs
  for run in lstm seq2seq bidir lm_word lm_char; do
    cp "$runs/$run/best.safetensors" "$d/${run}_best"
    cp "$runs/$run/last.safetensors" "$d/${run}_last"
  done
}

make_text_seeds() {
  local d=$corpus/fuzz_text
  mkdir -p "$d"
  printf 'The Cat sat on the mat.\n' | seed "$d/plain_char" 000
  printf 'The Cat sat on the mat. "Hello," said the dog -- twice!\n' | seed "$d/plain_word" 001
  printf 'The Cat sat on the mat.\n' | seed "$d/lower_word" 003
  printf 'Trăm năm trong cõi người ta,\nChữ tài chữ mệnh khéo là ghét nhau.\n' | seed "$d/vietnamese_char" 000
  printf 'ΣΊΣΥΦΟΣ İstanbul straße ǅ\n' | seed "$d/case_word" 003
  if [ -f "$data/aesop/belling_the_cat.txt" ]; then
    seed "$d/aesop_word" 001 <"$data/aesop/belling_the_cat.txt"
    seed "$d/aesop_capped" 045 <"$data/aesop/belling_the_cat.txt"
  fi
  # The tokenizer JSON inside the LM checkpoints' metadata, for the JSON mode (selector's top bit set).
  make_seed_runs
  for run in lm_word lm_char; do
    python3 - "$runs/$run/last.safetensors" >"$runs/$run/tokenizer.json" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
tok = json.loads(json.loads(raw[8:8 + n])['__metadata__']['fusedrnn.extra'])['tokenizer']
sys.stdout.write(tok if isinstance(tok, str) else json.dumps(tok))
PY
    seed "$d/${run}_tokenizer" 200 <"$runs/$run/tokenizer.json"
    seed "$d/${run}_tokenizer_lower" 202 <"$runs/$run/tokenizer.json"
  done
}

make_argument_seeds() {
  local d=$corpus/fuzz_arguments i=0 s
  mkdir -p "$d"
  # The parser selector, then the text: 0 --split, 1 --valid-range, 2 time format NUL cell, 3 date argument.
  for s in '\000weather5k' '\000years:2014-2021,2022,2023' '\000dates:,2022-01-01,2023-01-01' \
           '\000dates:2014-01-01,2022-01-01 06:00,2023-01-01,2024-01-01' '\000fraction:0.7,0.15' \
           '\001TMP=-93.2:61.8' '\001WND_RATE=0:' '\001RH (%%)=:100' '\001a=b=1:2' \
           '\002%%Y-%%m-%%d %%H:%%M:%%S\000 2014-01-01 00:00:00' '\002%%d.%%m.%%Y %%H:%%M:%%S\00001.01.2009 00:10:00' \
           '\003-2022' '\0032022-07-15 06:00' '\0032022-07-15T06:00:00'; do
    printf "$s" >"$d/seed_$i"
    i=$((i + 1))
  done
}

for t in "${targets[@]}"; do
  case "$t" in
    fuzz_station_reader) make_station_seeds ;;
    fuzz_checkpoint) make_checkpoint_seeds ;;
    fuzz_text) make_text_seeds ;;
    fuzz_arguments) make_argument_seeds ;;
    *) echo "fuzz.sh: unknown target '$t' (fuzz_station_reader, fuzz_checkpoint, fuzz_text, fuzz_arguments)" >&2
       exit 2 ;;
  esac
done

status=0
for t in "${targets[@]}"; do
  mkdir -p "$B/crashes/$t"
  echo "== $t: ${seconds} s"
  # -malloc_limit_mb: one allocation larger than this is a bug (a length field believed without a check);
  # -rss_limit_mb: so is a process that grows past it. detect_leaks on: a leak on an error path is a bug too.
  # shellcheck disable=SC2086
  if ! ASAN_OPTIONS=detect_leaks=1 "$B/tests/fuzz/$t" "$corpus/$t" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=3072 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$B/crashes/$t/" ${FUZZ_FLAGS:-} >"$B/crashes/$t.log" 2>&1; then
    status=1
    echo "   FOUND a crash: $(ls -t "$B/crashes/$t" | head -n 1) (log: $B/crashes/$t.log)"
    grep -m 3 -E "contract broken|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer" "$B/crashes/$t.log" || true
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/crashes/$t.log" | tr '\n' ' '
  echo "corpus $(ls "$corpus/$t" | wc -l) inputs; $(grep -o 'cov: [0-9]*' "$B/crashes/$t.log" | tail -n 1)"
done
exit $status
