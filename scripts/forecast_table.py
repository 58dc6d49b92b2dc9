#!/usr/bin/env python3
"""Collects <table>/<cell>-T<h>/metrics.json into the README's Markdown tables.

The same-time-of-day persistence column comes from metrics.json, or — for runs trained before that baseline
was reported — from eval_test.json beside it (`fusedrnn eval --checkpoint <run>/best.safetensors --json
<run>/eval_test.json`, same checkpoint and test windows); "n/a" where neither has it.
"""
import json
import pathlib
import sys

COURSE = {24: 0.35, 48: 0.44, 72: 0.50}  # WEATHER-5K test MSE (normalized) quoted by the course material
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/table")
if not root.is_dir():
    sys.exit(f"forecast_table.py: {root} is not a folder (scripts/forecast_table.sh writes runs/table/<cell>-T<h>/)")
if not any((root / f"{c}-T{h}" / "metrics.json").exists() for c in ("rnn_tanh", "lstm", "gru") for h in (24, 48, 72)):
    sys.exit(f"forecast_table.py: no <cell>-T<h>/metrics.json under {root}: nothing to tabulate")


def same_time(run, test):
    for t in (test, *(json.loads(p.read_text()) for p in [run / "eval_test.json"] if p.exists())):
        if "persistence_same_time_of_day" in t:
            return f"{t['persistence_same_time_of_day']['mse']:.3f}"
    return "n/a"


print("| cell | horizon | test MSE | persistence MSE | skill | same-time-of-day persistence MSE | test MAE | "
      "epochs (best) | course figure (WEATHER-5K) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for cell in ["rnn_tanh", "lstm", "gru"]:
    for h in [24, 48, 72]:
        run = root / f"{cell}-T{h}"
        f = run / "metrics.json"
        if not f.exists():
            continue
        m = json.loads(f.read_text())
        t = m["test"]
        print(f"| {cell} | {h} h | {t['model']['mse']:.3f} | {t['persistence']['mse']:.3f} | {t['skill_mse']:.2f} | "
              f"{same_time(run, t)} | {t['model']['mae']:.3f} | {m['epochs']} ({m['best_epoch']}) | {COURSE[h]:.2f} |")
