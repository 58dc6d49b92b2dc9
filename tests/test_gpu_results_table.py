#!/usr/bin/env python3
"""bench/gpu_results_table.py on a fixture of a GPU check's results (invented numbers): the ratios it prints are
computed from the medians, the fastest supported cuDNN algorithm is the one compared, unsupported algorithms and
cells cuDNN lacks are left out, the fused backend's two recurrence strategies sit side by side (the persistent one at
its fastest rows-per-block count, the sweep in a table of its own), a configuration the benchmark recorded as failed is
listed instead of timed, the flat $OUT layout reads as well, and an empty folder, a truncated file or a file
without its fields is a clear error."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "bench", "gpu_results_table.py")
FIXTURE = os.path.join(HERE, "fixtures", "gpu_results")


def run(folder):
    return subprocess.run([sys.executable, SCRIPT, folder], capture_output=True, text=True)


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def main():
    r = run(FIXTURE)
    expect(r.returncode == 0, f"exit status 0, got {r.returncode}: {r.stderr}")
    out = r.stdout
    expect("Device: Fixture GPU (compute capability 9.0" in out, "the device from env.log")
    # train: fused alternating 2.0 and persistent 1.0 vs the best cuDNN 2.5 (persist_static) -> 0.80, 0.40; infer
    # 1.0 and 0.4 vs 0.8 -> 1.25, 0.50; PyTorch beside
    expect("| lstm | 128 | 1 | 2.000 | 1.000 | 2.500 (persist_static) | 0.80 | 0.40 | 2.790 | 1.000 | 0.400 | "
           "0.800 (persist_static) | 1.25 | 0.50 | 1.350 |" in out,
           "the LSTM row with both strategies' ratios to the fastest cuDNN algorithm\n" + out)
    # a shape timed at rows per block auto, 2 and 4: the fastest training (R 2: 0.9 vs cuDNN 1.8 -> 0.50) is the
    # persistent column, its inference beside it, and the sweep has its own table
    expect("| gru | 128 | 1 | 1.600 | 0.900 (R 2) | 1.800 (standard) | 0.89 | 0.50 |" in out,
           "the fastest rows-per-block count is the persistent figure, named\n" + out)
    expect("| 0.800 | 0.450 (R 2) | 0.900 (standard) | 0.89 | 0.50 |" in out, "its inference beside it\n" + out)
    expect("| cell | hidden | layers | R auto | R 2 | R 4 |" in out and "| gru | 128 | 1 | 1.200 | 0.900 | 1.500 |" in out,
           "the rows-per-block sweep table\n" + out)
    expect(out.count("| lstm | 128 | 1 |") == 1, "a shape timed at one count only is not in the sweep table")
    expect("persist_dynamic" not in out, "an unsupported algorithm is not compared")
    expect("- lstm hidden 128 layers 1, persistent:16: CUDA call cudaGetLastError() failed" in out and
           "| R 16 |" not in out, "a configuration that failed is listed, not timed\n" + out)
    expect("| gru_reset_before | 64 | 1 | 1.200 | – | – | – | – | – |" in out,
           "a cell cuDNN lacks has no ratio; a row without a strategy (an older file) reads as alternating")
    expect("| lstm | fusedrnn | cuda | 300,000 | 4.00 |" in out, "forecaster windows/s vs PyTorch")
    expect("| lstm | fusedrnn | cudnn | 250,000 | 3.33 |" in out, "the cudnn backend vs PyTorch")
    expect("| lstm | cuda | 1,200,000 |" in out, "the report's evaluation windows/s")
    expect("| lstm | cudnn | – |" in out, "a row without the evaluation rate")
    expect("| lstm | fusedrnn | cuda | 2,000,000 | 2.00 |" in out, "language-model tokens/s vs PyTorch")

    with tempfile.TemporaryDirectory() as flat:  # $OUT: the JSONs side by side, no subfolders
        for sub in ("forecast/forecast_bench.json", "lm/lm_bench.json", "bench_gpu_rnn.json"):
            shutil.copy(os.path.join(FIXTURE, sub), flat)
        r = run(flat)
        expect(r.returncode == 0 and "| 4.00 |" in r.stdout and "| 2.00 |" in r.stdout, "the flat layout reads")
    with tempfile.TemporaryDirectory() as bad:  # a JSON cut short, then one without its rows
        path = os.path.join(bad, "lm_bench.json")
        with open(path, "w") as f:
            f.write('{"rows": [')
        r = run(bad)
        expect(r.returncode != 0 and path in r.stderr, "a truncated file is named in the error")
        with open(path, "w") as f:
            f.write('{"chunks": 3}')
        r = run(bad)
        expect(r.returncode != 0 and "lacks an expected field" in r.stderr and "Traceback" not in r.stderr,
               "a file without its fields is a clear error, not a traceback")
    with tempfile.TemporaryDirectory() as empty:
        r = run(empty)
        expect(r.returncode != 0 and "no bench_gpu_rnn.json" in r.stderr, "an empty folder is an error")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
