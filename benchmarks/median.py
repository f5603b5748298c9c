#!/usr/bin/env python3
"""median.py -- the performance targets over several `make bench` runs, and their medians.

    python3 benchmarks/median.py build/bench-run1 build/bench-run2 build/bench-run3

Runs table.py on each OUT folder, takes its targets table, and prints one markdown
table: each target's ratio in every run, the median ratio, and the status of the
run whose ratio is the median (with an odd number of runs, that run's own
met/missed). Every ratio compares numbers of the same run; only the medians are
taken across runs.
"""
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def targets(folder):
    out = subprocess.run([sys.executable, os.path.join(HERE, "table.py"), folder],
                         capture_output=True, text=True, check=True).stdout
    rows, inside = [], False
    for line in out.splitlines():
        if line.startswith("## Targets"):
            inside = True
            continue
        if inside and line.startswith("## "):
            break
        if inside and line.startswith("| ") and not line.startswith("| target") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells)  # target, swann, reference, ratio, status
    return rows


def value(ratio_text):
    m = re.match(r"([\d.]+)", ratio_text)
    return float(m.group(1)) if m else None


def main():
    folders = sys.argv[1:]
    if not folders:
        print(__doc__)
        return 2
    runs = [targets(f) for f in folders]
    print("| target | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " | median | status |")
    print("|---|" + "---|" * len(runs) + "---|---|")
    for k, row in enumerate(runs[0]):
        name = row[0]
        cells, vals = [], []
        for run in runs:
            r = next((x for x in run if x[0] == name), None)
            cells.append(r[3] if r else "n/a")
            v = value(r[3]) if r else None
            if v is not None:
                vals.append((v, r))
        if not vals:
            info = all(r[4] == "info" for run in runs for r in run if r[0] == name)
            print(f"| {name} | " + " | ".join(cells) + (" | - | info |" if info else " | n/a | not measured |"))
            continue
        med = statistics.median(v for v, _ in vals)
        # the run at the median (lower middle for an even count) gives the status and the unit
        ordered = sorted(vals, key=lambda x: x[0])
        mid = ordered[(len(ordered) - 1) // 2][1]
        unit = re.sub(r"^[\d.]+", "", mid[3])
        shown = f"{med:.0f}{unit}" if unit.startswith("%") else f"{med:.2f}{unit}"
        print(f"| {name} | " + " | ".join(cells) + f" | {shown} | {mid[4]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
