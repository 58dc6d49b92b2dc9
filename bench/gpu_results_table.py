#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md from a GPU check's results (scripts/gpu_check.sh).

    mkdir -p /tmp/gpu && tar xzf <files_at>/results.tar.gz -C /tmp/gpu
    python3 bench/gpu_results_table.py /tmp/gpu

Reads whichever of these the folder holds: bench_gpu_rnn.json (fused `cuda` vs `cudnn`, every cuDNN algorithm),
torch_gpu_rnn.json (PyTorch + cuDNN at the same shapes), forecast/forecast_bench.json (end-to-end training
windows/s next to PyTorch + DataLoader) and lm/lm_bench.json (char-rnn tokens/s), and env.log for the device.
Ratios are computed from the medians in the files, never typed by hand: fused/cuDNN below 1 means the fused
kernels are faster; fusedrnn/PyTorch above 1 means fusedrnn trains more windows (tokens) per second.
Only the standard library, so it runs anywhere.
"""
import json
import os
import re
import sys


def load(folder, name):
    """The file under folder, or under its own name at the top ($OUT holds flat copies of the JSONs)."""
    for path in (os.path.join(folder, name), os.path.join(folder, os.path.basename(name))):
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    return json.load(f)
            except (OSError, ValueError) as e:
                sys.exit(f"gpu_results_table.py: {path}: {e} (a run cut short while writing it?)")
    return None


def device_of(folder):
    path = os.path.join(folder, "env.log")
    if not os.path.isfile(path):
        return None
    with open(path, errors="replace") as f:
        text = f.read()
    # nvidia-smi --query-gpu=name,... --format=csv: the line after the header
    m = re.search(r"^name, compute_cap.*\n(.+)$", text, re.M)
    if not m:
        return None
    fields = [f.strip() for f in m.group(1).split(",")]
    return f"{fields[0]} (compute capability {', '.join(fields[1:])})" if len(fields) > 1 else fields[0]


def fmt_ms(v):
    return f"{v:.3f}" if v else "–"


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def rnn_table(bench, torch_rows):
    """One row per (cell, hidden, layers): medians in ms, the fastest cuDNN algorithm, ratios."""
    shapes = {}
    for r in bench["results"]:
        key = (r["cell"], r["hidden"], r["layers"])
        s = shapes.setdefault(key, {"batch": r["batch"], "steps": r["steps"]})
        if r["backend"] == "cuda" and "failed" in r:  # a configuration that threw: listed below the tables
            rows = r.get("rows_per_block")
            s.setdefault("failed", []).append(f"{r.get('recurrence', 'alternating')}"
                                              f"{':' + str(rows) if rows else ''}: {r['failed']}")
        elif r["backend"] == "cuda":  # by recurrence strategy; files from before there were two are "alternating"
            strategy = r.get("recurrence", "alternating")
            times = (r["train"]["median_ms"], r["infer"]["median_ms"])
            if strategy == "persistent":  # one entry per rows-per-block count timed: the fastest training is shown
                rows = r.get("rows_per_block")
                s.setdefault("persistent_sweep", {})[rows] = times
                if "persistent" not in s or times[0] < s["persistent"][0]:
                    s["persistent"], s["persistent_rows"] = times, rows
            else:
                s[strategy] = times
        elif r["backend"] == "cudnn" and "unsupported" not in r:
            for mode, i in (("train", 0), ("infer", 1)):
                best = s.get(f"cudnn_{mode}")
                if best is None or r[mode]["median_ms"] < best[0]:
                    s[f"cudnn_{mode}"] = (r[mode]["median_ms"], r["algo"])
    torch_by_key = {(r["cell"], r["hidden"], r["layers"]): r for r in (torch_rows or [])}
    half = "fused alternating | fused persistent | cuDNN (best algo) | alternating/cuDNN | persistent/cuDNN | PyTorch"
    out = [f"| cell | hidden | layers | train: {half} | infer: {half} |", "| --- " * 15 + "|"]
    for (cell, hidden, layers), s in sorted(shapes.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        t = torch_by_key.get((cell, hidden, layers), {})
        row = f"| {cell} | {hidden} | {layers} |"
        for i, mode in enumerate(("train", "infer")):
            alt, per = s.get("alternating", (0, 0))[i], s.get("persistent", (0, 0))[i]
            dnn, algo = s.get(f"cudnn_{mode}", (0, ""))
            rows = s.get("persistent_rows")
            rows_note = "" if rows is None or not per else f" (R {rows})" if rows else " (R auto)"
            row += (f" {fmt_ms(alt)} | {fmt_ms(per)}{rows_note} | {fmt_ms(dnn)}{f' ({algo})' if dnn else ''} | "
                    f"{fmt_ratio(alt, dnn)} | {fmt_ratio(per, dnn)} | {fmt_ms(t.get(f'{mode}_ms'))} |")
        out.append(row)
    out += rows_sweep_table(shapes)
    failed = [f"- {cell} hidden {hidden} layers {layers}, {what}" for (cell, hidden, layers), s in sorted(shapes.items())
              for what in s.get("failed", [])]
    if failed:
        out += ["", "**Failed** (recorded by bench_gpu_rnn, which went on with the grid and exited 1):", ""] + failed
    first = next(iter(shapes.values()), {"batch": "?", "steps": "?"})
    note = (f"Median ms per call, batch {first['batch']}, T = {first['steps']}, input 5, float32 "
            f"({bench.get('repeats', '?')} repeats after {bench.get('warmup', '?')} warm-ups, L2 flushed).")
    return note, out


def rows_sweep_table(shapes):
    """Training ms of the persistent kernels at each rows-per-block count timed, where more than one was (the
    benchmark's --persistent-rows); 'auto' is the backend's own choice. Empty when no shape was swept."""
    swept = {k: s["persistent_sweep"] for k, s in shapes.items() if len(s.get("persistent_sweep", {})) > 1}
    if not swept:
        return []
    counts = sorted({r for sweep in swept.values() for r in sweep}, key=lambda r: (r is None, r or 0))
    names = ["auto" if not r else str(r) for r in counts]
    out = ["", "Persistent kernels, training ms by rows per block (R; auto = the backend's choice):", "",
           "| cell | hidden | layers | " + " | ".join(f"R {n}" for n in names) + " |",
           "| --- " * (3 + len(names)) + "|"]
    for (cell, hidden, layers), sweep in sorted(swept.items()):
        out.append(f"| {cell} | {hidden} | {layers} | " +
                   " | ".join(fmt_ms(sweep.get(r, (0, 0))[0]) for r in counts) + " |")
    return out


def throughput_table(doc, unit):
    """fusedrnn's backends next to PyTorch, per cell, with the ratio to PyTorch."""
    by_cell = {}
    for r in doc["rows"]:
        by_cell.setdefault(r["cell"], []).append(r)
    out = [f"| cell | framework | backend | {unit} | vs PyTorch |", "| --- | --- | --- | --- | --- |"]
    for cell, rows in by_cell.items():
        torch_rate = next((r[unit] for r in rows if r["framework"] == "torch"), None)
        for r in rows:
            ratio = fmt_ratio(r[unit], torch_rate) if r["framework"] != "torch" else "1.00"
            out.append(f"| {cell} | {r['framework']} | {r['backend']} | {round(r[unit]):,} | {ratio} |")
    return out


def eval_table(doc):
    """fusedrnn's report-evaluation windows/s per cell and backend (rows written before it was measured: '–')."""
    rows = [r for r in doc["rows"] if r["framework"] == "fusedrnn"]
    if not any("eval_windows_per_s" in r for r in rows):
        return []
    out = ["| cell | backend | evaluation windows/s |", "| --- | --- | --- |"]
    for r in rows:
        rate = r.get("eval_windows_per_s")
        out.append(f"| {r['cell']} | {r['backend']} | {f'{round(rate):,}' if rate is not None else '–'} |")
    return out


def main():
    try:
        tables()
    except (KeyError, TypeError, IndexError) as e:
        sys.exit(f"gpu_results_table.py: a results file lacks an expected field ({type(e).__name__}: {e}); "
                 "was it written by this version of scripts/gpu_check.sh?")


def tables():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: gpu_results_table.py RESULTS_FOLDER   (the unpacked results.tar.gz of scripts/gpu_check.sh)")
    folder = sys.argv[1]
    found = False
    device = device_of(folder)
    if device:
        print(f"Device: {device}\n")
    bench = load(folder, "bench_gpu_rnn.json")
    if bench:
        found = True
        torch_doc = load(folder, "torch_gpu_rnn.json")
        note, rows = rnn_table(bench, torch_doc["results"] if torch_doc else None)
        print("### Recurrent stack: fused kernels vs cuDNN" + (f" vs {torch_doc['framework']}" if torch_doc else ""))
        print()
        print(note)
        print()
        print("\n".join(rows))
        print()
    forecast = load(folder, "forecast/forecast_bench.json")
    if forecast:
        found = True
        print(f"### Forecaster training, end to end ({forecast['stations']} stations x {forecast['years']} years, "
              f"batch {forecast['batch']}, {forecast['timed_batches']} timed batches)")
        print()
        print("\n".join(throughput_table(forecast, "windows_per_s")))
        print()
        evaluation = eval_table(forecast)
        if evaluation:
            print("The final report's evaluation pass (the model and both persistence baselines over up to 100k "
                  "test and 100k validation windows, forecasts folded on the host):")
            print()
            print("\n".join(evaluation))
            print()
    lm = load(folder, "lm/lm_bench.json")
    if lm:
        found = True
        print(f"### Character-level language model training ({lm['chunks']} chunks)")
        print()
        print("\n".join(throughput_table(lm, "tokens_per_s")))
        print()
    if not found:
        sys.exit(f"gpu_results_table.py: no bench_gpu_rnn.json, forecast/forecast_bench.json or lm/lm_bench.json "
                 f"in {folder}")


if __name__ == "__main__":
    main()
