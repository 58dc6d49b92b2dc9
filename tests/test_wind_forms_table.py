#!/usr/bin/env python3
"""scripts/wind_forms.py on invented runs: the direction and speed figures are the mean ± sample standard deviation
over the seeds (the speed from WND_RATE where it is a target, else the one the components make), the cost to the
other variables is paired with angle's run of the same seed, a form that misses a seed says which it has, and a
folder without runs is a clear error."""
import json
import pathlib
import subprocess
import sys
import tempfile

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "wind_forms.py"


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def report(arc, speed_var=None, speed_components=None, tmp=1.0, dew=2.0, slp=4.0):
    per = {"TMP": {"mse_original": tmp}, "DEW": {"mse_original": dew}, "SLP": {"mse_original": slp}}
    if speed_var is not None:
        per["WND_RATE"] = {"mae_original": speed_var}
    wind = {"mae_arc": arc}
    if speed_components is not None:
        wind["speed_mae"] = speed_components
    return {"per_variable": per, "wind_direction": wind}


def write(root, name, model, persistence):
    run = root / "isd-lite" / name
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"test": {"model": model, "persistence": persistence}}))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        r = subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True)
        expect(r.returncode != 0 and "no <set>/<form>-T<h>-s<seed>/metrics.json" in r.stderr,
               f"an empty folder is an error: {r.returncode} {r.stderr}")
        p = report(50.0, speed_var=3.0)
        write(root, "angle-T24-s1", report(60.0, speed_var=2.0, tmp=1.0, slp=4.0), p)
        write(root, "angle-T24-s2", report(64.0, speed_var=2.2, tmp=2.0, slp=4.0), p)
        write(root, "uv+speed-T24-s1", report(44.0, speed_var=2.1, speed_components=9.0, tmp=1.1, slp=3.0), p)
        write(root, "uv+speed-T24-s2", report(48.0, speed_var=2.3, speed_components=9.0, tmp=2.4, slp=5.0), p)
        write(root, "uv-T24-s1", report(45.0, speed_components=2.8, tmp=1.2),
              report(50.0, speed_components=3.1))
        write(root, "uv-T72-s1", report(70.0, speed_components=3.0), report(60.0, speed_components=3.5))
        (root / "isd-lite" / "not-a-run").mkdir()
        r = subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True)
        expect(r.returncode == 0, f"exit status 0, got {r.returncode}: {r.stderr}")
        out = r.stdout
        expect("6 runs; seeds 1, 2" in out, "the runs and seeds counted\n" + out)
        # direction: angle 62.0 ± 2.8 (sd of 60, 64), uv one seed, uv+speed 46.0 ± 2.8
        expect("| isd-lite | 24 h | 62.0 ± 2.8 (50.0) | 45.0 (50.0) [seeds 1] | 46.0 ± 2.8 (50.0) |" in out,
               "the direction row\n" + out)
        # speed: WND_RATE where a target (uv+speed too), the components' otherwise (uv)
        expect("| isd-lite | 24 h | 2.100 ± 0.141 (3.000) | 2.800 (3.100) [seeds 1] | 2.200 ± 0.141 (3.000) |" in out,
               "the speed row\n" + out)
        # cost: uv+speed TMP +10% and +20% (mean +15), SLP -25% and +25% (mean 0), DEW unchanged; uv one pair
        expect("| isd-lite | 24 h | `uv+speed` | +15.0% [+10.0, +20.0] | +0.0% [+0.0, +0.0] | +0.0% [-25.0, +25.0] | 2 |"
               in out, "the cost of uv+speed, paired by seed\n" + out)
        expect("| isd-lite | 24 h | `uv` | +20.0% [+20.0, +20.0] |" in out, "uv's one pair\n" + out)
        # 72 h has no angle run to pair with: a direction row, no cost row
        expect("| isd-lite | 72 h | n/a | 70.0 (60.0) [seeds 1] | n/a |" in out, "72 h's direction row\n" + out)
        expect("| isd-lite | 72 h | `uv` |" not in out, "no cost row without angle's runs\n" + out)
    print("ok")


if __name__ == "__main__":
    main()
