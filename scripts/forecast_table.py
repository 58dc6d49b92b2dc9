#!/usr/bin/env python3
"""Collects runs/table/<cell>-T<h>/metrics.json into the README's Markdown table."""
import json
import pathlib
import sys

COURSE = {24: 0.35, 48: 0.44, 72: 0.50}  # WEATHER-5K test MSE (normalized) quoted by the course material
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/table")
print("| cell | horizon | test MSE | persistence MSE | skill | test MAE | epochs (best) | course figure (WEATHER-5K) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for cell in ["rnn_tanh", "lstm", "gru"]:
    for h in [24, 48, 72]:
        f = root / f"{cell}-T{h}" / "metrics.json"
        if not f.exists():
            continue
        m = json.loads(f.read_text())
        t = m["test"]
        print(f"| {cell} | {h} h | {t['model']['mse']:.3f} | {t['persistence']['mse']:.3f} | {t['skill_mse']:.2f} | "
              f"{t['model']['mae']:.3f} | {m['epochs']} ({m['best_epoch']}) | {COURSE[h]:.2f} |")
