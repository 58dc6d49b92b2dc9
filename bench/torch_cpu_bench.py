#!/usr/bin/python3
"""PyTorch CPU anchor for bench/bench_cpu_rnn.cpp: the same shapes with torch.nn.RNN / LSTM / GRU.

  /usr/bin/python3 bench/torch_cpu_bench.py [--repeats 10] [--warmup 2] [--threads 2] [--json out.json]

Shapes: T 48, batch 1024, input 5, hidden 64 and 128, one layer, unidirectional, time-major
(batch_first=False), float32, fresh random inputs (U(-1, 1)) and PyTorch's default init.
  training step  forward + backward of sum(y * dy) (x does not require grad: it is data, as in
                 fusedrnn's benchmark, which does not request dx; weight gradients are computed)
  inference      forward under torch.no_grad()
Times are medians over --repeats timed runs after --warmup untimed ones. PyTorch has no reset-before GRU,
so gru_reset_before is absent here. Run with Debian's interpreter (/usr/bin/python3, PyTorch 1.13).
"""
import argparse
import json
import platform
import statistics
import sys
import time

import torch

T, N, C = 48, 1024, 5
CELLS = {
    "rnn_tanh": lambda H: torch.nn.RNN(C, H, nonlinearity="tanh"),
    "rnn_relu": lambda H: torch.nn.RNN(C, H, nonlinearity="relu"),
    "lstm": lambda H: torch.nn.LSTM(C, H),
    "gru": lambda H: torch.nn.GRU(C, H),
}
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def forward_flops(cell, H):
    """GEMM FLOPs of one forward pass, the formula bench_cpu_rnn.cpp uses: 2·T·N·G·H·(C + H)."""
    return 2.0 * T * N * GATES[cell] * H * (C + H)


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def bench(cell, H, warmup, repeats):
    model = CELLS[cell](H)
    x = torch.empty(T, N, C).uniform_(-1, 1)
    dy = torch.empty(T, N, H).uniform_(-1, 1)

    def train_step():
        model.zero_grad(set_to_none=False)
        y, _ = model(x)
        (y * dy).sum().backward()

    def infer():
        with torch.no_grad():
            model(x)

    train = timed(train_step, warmup, repeats)
    inf = timed(infer, warmup, repeats)
    f = forward_flops(cell, H)
    return {
        "cell": cell, "hidden": H, "T": T, "batch": N, "input": C,
        "train_ms": 1e3 * statistics.median(train), "infer_ms": 1e3 * statistics.median(inf),
        "train_ms_all": [1e3 * t for t in train], "infer_ms_all": [1e3 * t for t in inf],
        "train_gflops": 3 * f / statistics.median(train) * 1e-9,
        "infer_gflops": f / statistics.median(inf) * 1e-9,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--json", default="torch_cpu_bench.json", help="where to write the results")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(int(time.time()))  # fresh random inputs and weights each run
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, T={T} N={N} C={C}, "
          f"medians of {args.repeats} after {args.warmup} warm-up", flush=True)
    print(f"{'cell':<10} {'H':>4} {'train ms':>10} {'infer ms':>10} {'train GFLOP/s':>14} {'infer GFLOP/s':>14}",
          flush=True)
    for H in args.hidden:
        for cell in args.cells:
            r = bench(cell, H, args.warmup, args.repeats)
            rows.append(r)
            print(f"{cell:<10} {H:>4} {r['train_ms']:>10.1f} {r['infer_ms']:>10.1f} {r['train_gflops']:>14.2f} "
                  f"{r['infer_gflops']:>14.2f}", flush=True)
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": sys.version.split()[0],
            "machine": platform.processor() or platform.machine(), "repeats": args.repeats, "warmup": args.warmup,
            "config": torch.__config__.show()}
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "results": rows}, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
