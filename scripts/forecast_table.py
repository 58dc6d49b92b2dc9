#!/usr/bin/env python3
"""Collects <table>/<cell>-T<h>/metrics.json into the README's Markdown tables.

The same-time-of-day persistence and wind direction columns come from metrics.json, or — for runs trained before
they were reported — from eval_test.json beside it (`fusedrnn eval --checkpoint <run>/best.safetensors --json
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


def reports(run, test):
    """The test report in metrics.json, then eval_test.json's (for what older runs did not report)."""
    yield test
    if (run / "eval_test.json").exists():
        yield json.loads((run / "eval_test.json").read_text())


def same_time(run, test):
    for t in reports(run, test):
        if "persistence_same_time_of_day" in t:
            return f"{t['persistence_same_time_of_day']['mse']:.3f}"
    return "n/a"


def wind_arc(run, test):
    """Wind direction's mean error the shorter way round the compass, model (persistence), in degrees."""
    for t in reports(run, test):
        if "wind_direction" in t["model"]:
            return f"{t['model']['wind_direction']['mae_arc']:.1f}° ({t['persistence']['wind_direction']['mae_arc']:.1f}°)"
    return "n/a"


rows = []
for cell in ["rnn_tanh", "lstm", "gru"]:
    for h in [24, 48, 72]:
        run = root / f"{cell}-T{h}"
        f = run / "metrics.json"
        if not f.exists():
            continue
        m = json.loads(f.read_text())
        t = m["test"]
        rows.append([cell, f"{h} h", f"{t['model']['mse']:.3f}", f"{t['persistence']['mse']:.3f}",
                     f"{t['skill_mse']:.2f}", same_time(run, t), f"{t['model']['mae']:.3f}", wind_arc(run, t),
                     f"{m['epochs']} ({m['best_epoch']})", f"{COURSE[h]:.2f}"])
header = ["cell", "horizon", "test MSE", "persistence MSE", "skill", "same-time-of-day persistence MSE", "test MAE",
          "wind direction arc MAE (persistence)", "epochs (best)", "course figure (WEATHER-5K)"]
if all(r[7] == "n/a" for r in rows):  # no wind direction among the targets: no column for it
    header.pop(7)
    for r in rows:
        r.pop(7)
print("| " + " | ".join(header) + " |")
print("|" + " --- |" * len(header))
for r in rows:
    print("| " + " | ".join(r) + " |")
