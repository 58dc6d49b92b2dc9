#!/usr/bin/env python3
"""PyTorch + cuDNN anchor for bench_gpu_rnn: the same shapes on the same GPU, in the same session.

Training step = forward + backward of sum(y * dy) (fresh random dy), inference = forward under
no_grad; fp32 with TF32 off (PyTorch allows TF32 for cuDNN RNNs by default; fusedrnn's default is
plain fp32). Timed with CUDA events after warm-up; medians over repeats.

    python3 bench/torch_gpu_rnn_bench.py --json out/torch_gpu_rnn.json
"""
import argparse
import json

import torch


def bench(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cells", default="rnn_tanh,rnn_relu,lstm,gru")
    p.add_argument("--hidden", default="64,128,256,512")
    p.add_argument("--layers", default="1,2")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=48)
    p.add_argument("--input", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", default="")
    a = p.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    rows = []
    for cell in a.cells.split(","):
        for H in map(int, a.hidden.split(",")):
            for L in map(int, a.layers.split(",")):
                if cell.startswith("rnn"):
                    m = torch.nn.RNN(a.input, H, L, nonlinearity=cell.split("_")[1])
                else:
                    m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](a.input, H, L)
                m = m.to(dev)
                x = torch.randn(a.steps, a.batch, a.input, device=dev, requires_grad=True)
                dy = torch.randn(a.steps, a.batch, H, device=dev)

                def train():
                    y, _ = m(x)
                    (y * dy).sum().backward()

                def infer():
                    with torch.no_grad():
                        m(x)

                r = {"cell": cell, "hidden": H, "layers": L, "batch": a.batch, "steps": a.steps,
                     "train_ms": bench(train, a.warmup, a.repeats), "infer_ms": bench(infer, a.warmup, a.repeats)}
                print(f"{cell:9s} H={H:4d} L={L}  train {r['train_ms']:8.3f} ms  infer {r['infer_ms']:8.3f} ms", flush=True)
                rows.append(r)
    out = {"framework": f"torch {torch.__version__} cudnn {torch.backends.cudnn.version()}",
           "device": torch.cuda.get_device_name(), "results": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
