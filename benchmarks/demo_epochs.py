#!/usr/bin/env python3
"""demo_epochs.py -- the demo's late epochs against its early ones, from its own output.

    python3 benchmarks/demo_epochs.py [--runs 3] [--json FILE] -- build/bench_demo CSV [args]

Runs the digits demo (examples/c/train_digits.c) --runs times and reads the per-epoch
table it prints (epoch, train_loss, train_acc, test_acc, time_s; time_s is training
only, evaluation excluded). Every epoch does the same number of steps, so the time of
epochs 16-30 over the time of epochs 1-15 shows a slowdown that grows with training,
such as float32's subnormal slow path once gradients and momentum get tiny. Prints one
line per run and writes JSON: the runs and the median ratio (the target: <= 1.2x).
Each ratio compares two halves of one run, so machine drift between runs cancels.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

ROW = re.compile(r"^\s*(\d+)\s+[-\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*$")


def one_run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    times, acc = {}, None
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            times[int(m.group(1))] = float(m.group(3))
            acc = float(m.group(2))
    epochs = max(times) if times else 0
    if epochs < 2 or sorted(times) != list(range(1, epochs + 1)):
        raise SystemExit(f"demo_epochs.py: no per-epoch table in the output of {' '.join(cmd)}")
    half = epochs // 2
    early = sum(times[e] for e in range(1, half + 1))
    late = sum(times[e] for e in range(epochs - half + 1, epochs + 1))
    return {"epochs": epochs, "early_epochs": f"1-{half}", "late_epochs": f"{epochs - half + 1}-{epochs}",
            "early_s": round(early, 4), "late_s": round(late, 4),
            "ratio": late / early if early > 0 else None, "test_acc": acc}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("give the demo's command after --")
    runs = []
    for k in range(a.runs):
        r = one_run(cmd)
        runs.append(r)
        print(f"demo run {k + 1}: epochs {r['early_epochs']} {r['early_s']:.3f} s, {r['late_epochs']} "
              f"{r['late_s']:.3f} s: late/early {r['ratio']:.2f}x, held-out accuracy {r['test_acc']:.4f}",
              flush=True)
    ratios = [r["ratio"] for r in runs if r["ratio"] is not None]
    res = {"command": cmd, "runs": runs, "ratio_median": statistics.median(ratios) if ratios else None}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
