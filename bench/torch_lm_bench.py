#!/usr/bin/env python3
"""Character-level language-model training throughput in PyTorch, the anchor for `fusedrnn lm-train
--tokenizer char --mode stream` (the char-rnn setup of the course material).

Same model and batches as fusedrnn's defaults: code-point vocabulary of the whole text, embedding 32,
one LSTM (or GRU) layer of 128, a linear layer to the vocabulary, softmax cross-entropy, Adam lr 0.01,
gradient-norm clip 5; the training text (all but the last 10%) cut into 32 parallel streams read in
chunks of 64 steps, hidden state carried from chunk to chunk (truncated BPTT, detached).

    python3 bench/torch_lm_bench.py --text ../shared/data/tinyshakespeare/input.txt --chunks 200

Prints tokens/s and writes JSON with --json. On the CPU: from the median chunk time after warm-up. With
--device cuda: from the wall-clock time of all timed chunks, with the device synchronised only before and
after them (a per-chunk synchronisation would stall the queue PyTorch keeps ahead of the GPU). Compare with
    build/fusedrnn lm-train --text ../shared/data/tinyshakespeare/input.txt --tokenizer char \\
        --mode stream --epochs 1 --max-chunks 200 --out runs/lm_bench
whose epoch line reports tok/s.
"""
import argparse
import json
import time

import numpy as np
import torch


class CharLm(torch.nn.Module):
    def __init__(self, cell, vocab, embedding, hidden):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embedding)
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](embedding, hidden)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, ids, state):
        y, state = self.rnn(self.embedding(ids), state)
        return self.head(y), state


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--text", required=True)
    p.add_argument("--cell", default="lstm")
    p.add_argument("--embedding", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--bptt", type=int, default=64)
    p.add_argument("--chunks", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--json", default="")
    a = p.parse_args()
    text = open(a.text, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text[: int(len(text) * 0.9)]], dtype=np.int64)
    per_stream = len(ids) // a.streams
    streams = torch.from_numpy(ids[: per_stream * a.streams].reshape(a.streams, per_stream).T.copy())  # [L, B]
    dev = torch.device(a.device)
    streams = streams.to(dev)
    model = CharLm(a.cell, len(chars), a.embedding, a.hidden).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    state, times, pos, wall_start = None, [], 0, 0.0
    for chunk in range(a.warmup + a.chunks):
        if chunk == a.warmup:
            sync()
            wall_start = time.perf_counter()
        if pos + a.bptt + 1 > per_stream:
            pos, state = 0, None
        t0 = time.perf_counter()
        x, y = streams[pos : pos + a.bptt], streams[pos + 1 : pos + a.bptt + 1]
        opt.zero_grad(set_to_none=True)
        logits, state = model(x, state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state = detach(state)
        pos += a.bptt
        if chunk >= a.warmup:
            times.append(time.perf_counter() - t0)
    sync()
    wall = time.perf_counter() - wall_start
    med = float(np.median(times))
    tokens = a.streams * a.bptt
    device = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    result = {"framework": f"torch {torch.__version__}", "device": device, "threads": torch.get_num_threads(),
              "cell": a.cell, "hidden": a.hidden, "vocab": len(chars), "streams": a.streams, "bptt": a.bptt,
              "median_chunk_ms": med * 1e3, "wall_chunk_ms": wall / a.chunks * 1e3,
              "tokens_per_s": tokens * a.chunks / wall if dev.type == "cuda" else tokens / med,
              "last_loss": float(loss)}
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
