#!/usr/bin/env python3
"""Tabulates scripts/wind_forms.sh's runs (runs/wind/<set>/<form>-T<h>-s<seed>/metrics.json) as Markdown.

Three tables, each figure the mean over the seeds ± their sample standard deviation (the seeds in brackets where
a form misses some): the wind direction's mean error round the compass (test split; persistence's after it), the
wind speed's MAE, and what each form costs the other variables — the change of their test MSE against `angle`'s
run with the same seed (mean, and the range over the seeds).
"""
import json
import pathlib
import re
import statistics
import sys

FORMS = ["angle", "uv", "uv+speed"]
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/wind")
runs = {}  # (set, horizon, form, seed) -> test report
for f in sorted(root.glob("*/*/metrics.json")):
    m = re.fullmatch(r"(angle|uv|uv\+speed)-T(\d+)-s(\d+)", f.parent.name)
    if m:
        runs[(f.parent.parent.name, int(m[2]), m[1], int(m[3]))] = json.loads(f.read_text())["test"]
if not runs:
    sys.exit(f"wind_forms.py: no <set>/<form>-T<h>-s<seed>/metrics.json under {root} (scripts/wind_forms.sh)")
cases = sorted({(s, h) for s, h, _, _ in runs})
forms = [f for f in FORMS if any(k[2] == f for k in runs)]


def seeds(s, h, form):
    return sorted(k[3] for k in runs if k[:3] == (s, h, form))


def spread(values, digits):
    """Mean ± sample standard deviation (the value alone for one seed)."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def pct(x):
    """A signed change to 0.1, without a negative zero (-0.01 prints +0.0)."""
    return f"{round(x, 1) + 0.0:+.1f}"


def speed_mae(report):
    """The speed's MAE: WND_RATE's where it is a target, else the one the components make."""
    if "WND_RATE" in report["per_variable"]:
        return report["per_variable"]["WND_RATE"]["mae_original"]
    return report["wind_direction"]["speed_mae"]


def table(title, header, rows):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


n_seeds = sorted({k[3] for k in runs})
print(f"{len(runs)} runs; seeds {', '.join(map(str, n_seeds))}")
for title, figure, digits in [("Wind direction, mean error round the compass (°), model (persistence)",
                               lambda r: r["wind_direction"]["mae_arc"], 1),
                              ("Wind speed MAE (m/s), model (persistence)", speed_mae, 3)]:
    rows = []
    for s, h in cases:
        row = [s, f"{h} h"]
        for form in forms:
            got = [runs[(s, h, form, seed)] for seed in seeds(s, h, form)]
            model = [figure(r["model"]) for r in got]
            persistence = [figure(r["persistence"]) for r in got]
            cell = spread(model, digits)
            if persistence:
                cell += f" ({statistics.mean(persistence):.{digits}f})"
            if got and len(got) != len(n_seeds):
                cell += f" [seeds {','.join(map(str, seeds(s, h, form)))}]"
            row.append(cell)
        rows.append(row)
    table(title, ["set", "horizon"] + [f"`{f}`" for f in forms], rows)

# The other variables: test MSE in original units against angle's run with the same seed.
others = ["TMP", "DEW", "SLP"]
rows = []
for s, h in cases:
    for form in [f for f in forms if f != "angle"]:
        paired = [seed for seed in seeds(s, h, form) if (s, h, "angle", seed) in runs]
        if not paired:
            continue
        row = [s, f"{h} h", f"`{form}`"]
        for v in others:
            change = [100 * (runs[(s, h, form, seed)]["model"]["per_variable"][v]["mse_original"] /
                             runs[(s, h, "angle", seed)]["model"]["per_variable"][v]["mse_original"] - 1)
                      for seed in paired
                      if v in runs[(s, h, form, seed)]["model"]["per_variable"]]
            row.append(f"{pct(statistics.mean(change))}% [{pct(min(change))}, {pct(max(change))}]" if change else "n/a")
        row.append(str(len(paired)))
        rows.append(row)
if rows:
    table("Test MSE of the other variables against `angle` with the same seed: mean change [range over the seeds]",
          ["set", "horizon", "form"] + others + ["seeds"], rows)
