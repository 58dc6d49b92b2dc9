#!/usr/bin/env python3
"""End-to-end forecaster training throughput in PyTorch, the anchor for `fusedrnn train` (issue 4).

The course's setup: windows of 48 h x 5 variables in, horizon x 5 out, batch 1024, Adam, MSE, an
nn.LSTM/GRU/RNN + nn.Linear head on the last step, data served by a standard Dataset/DataLoader
that slices windows out of per-station arrays on the CPU (as the course code does) and copies each
batch to the GPU. Values are random (throughput does not depend on them); the shapes match a
WEATHER-5K-scale synthetic set: --stations x --years of hourly rows.

    python3 bench/torch_forecast_bench.py --cell lstm --hidden 128 --steps 300 --json out/torch_forecast.json

Prints windows/s (wall time over the timed steps after warm-up, no synchronisation between steps, as
fusedrnn's epoch figure is measured) and writes JSON. Compare with
    build/fusedrnn train --synthetic-stations 5672 --synthetic-years 10 --synthetic-gaps 0 \
        --backend cuda --hidden 128 --epochs 1 --max-batches 300 --stride 1
on the same GPU, in the same session.
"""
import argparse
import json
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class Windows(Dataset):
    def __init__(self, series, input_len, horizon, windows_per_station):
        self.series = series  # [stations, rows, 5] float32 (host)
        self.input_len, self.horizon = input_len, horizon
        self.per = windows_per_station

    def __len__(self):
        return self.series.shape[0] * self.per

    def __getitem__(self, i):
        s, w = divmod(i, self.per)
        x = self.series[s, w:w + self.input_len]
        y = self.series[s, w + self.input_len:w + self.input_len + self.horizon]
        return torch.from_numpy(x), torch.from_numpy(y.reshape(-1))


class Forecaster(torch.nn.Module):
    def __init__(self, cell, hidden, layers, horizon):
        super().__init__()
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.rnn = rnn(5, hidden, layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, horizon * 5)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--horizon", type=int, default=24)
    p.add_argument("--stations", type=int, default=5672)
    p.add_argument("--rows", type=int, default=8760, help="hourly rows per station held in memory")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--json", default="")
    a = p.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.allow_tf32 = False  # fp32 like fusedrnn's default
    rng = np.random.default_rng(0)
    series = rng.standard_normal((a.stations, a.rows, 5), dtype=np.float32)
    ds = Windows(series, 48, a.horizon, a.rows - 48 - a.horizon + 1)
    loader = DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True,
                        pin_memory=dev.type == "cuda", persistent_workers=a.workers > 0)
    model = Forecaster(a.cell, a.hidden, a.layers, a.horizon).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    it = iter(loader)

    def step():
        x, y = next(it)
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    # Timed like fusedrnn's epoch figure: wall time over all the steps, no synchronisation between them (so
    # PyTorch overlaps its host work with the GPU as it can), one at the end.
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    med = (time.perf_counter() - t0) / a.steps
    result = {"framework": f"torch {torch.__version__}", "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
              "cell": a.cell, "hidden": a.hidden, "layers": a.layers, "horizon": a.horizon, "batch": a.batch,
              "workers": a.workers, "mean_step_ms": med * 1e3, "windows_per_s": a.batch / med}
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
