#!/usr/bin/env python3
"""test_bench_tools.py -- checks of the bench's own arithmetic on made-up results.

    python3 benchmarks/test_bench_tools.py

No library, no timing: it writes a fake `make bench` output folder and a fake demo, and
checks that
  - table.py measures W4 against the fastest sgemm of the run (numpy's, here), not
    against a C OpenBLAS that fell back to SSE3 kernels (the Intel case of issue #15,
    where the old table printed W4 at "181 %"), and names what set the ceiling;
  - table.py's W1 target falls back to 85 % of the ceiling at 2.41 MFLOP per sample;
  - demo_epochs.py sums epochs 1-15 and 16-30 of the demo's table into the right ratio.
Prints 'N passed, N failed' and exits non-zero on a failure.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def put(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def fake_run(d):
    """The Intel machine of issue #15, in round numbers."""
    res = lambda w1, w4gf: {"W1": {"samples_per_s_median": w1, "gflops_median": 0},
                            "W4": {"samples_per_s_median": 0, "gflops_median": w4gf}}
    put(f"{d}/swann_t1.json", {"results": res(40000, 120.0)})
    put(f"{d}/swann_t2.json", {"results": res(60000, 240.0)})
    put(f"{d}/peers/numpy_t1.json", {"results": res(45608, 130.4)})
    put(f"{d}/peers/torch_t2.json", {"results": res(64482, 233.2)})
    put(f"{d}/peers/ceiling.json", {"n": 4096, "results": {
        "numpy_t1": {"gflops_median": 158.0}, "numpy_t2": {"gflops_median": 300.0},
        "torch_t1": {"gflops_median": 150.0}, "torch_t2": {"gflops_median": 315.0}}})
    for t, v in ((1, 30.0), (2, 58.0)):  # the unaided C OpenBLAS: Prescott kernels
        put(f"{d}/ceiling_c_t{t}_own.json", {"gflops_median": v, "corename": "Prescott",
                                            "OPENBLAS_CORETYPE": "<unset>"})
        put(f"{d}/peers/sgemm_c_t{t}.json", {"gflops_median": v, "corename": "Prescott", "threads": t})
    for t, v in ((1, 136.0), (2, 260.0)):
        put(f"{d}/ceiling_c_t{t}_named.json", {"gflops_median": v, "corename": "SkylakeX",
                                              "OPENBLAS_CORETYPE": "SkylakeX"})


def targets(out):
    rows = {}
    inside = False
    for line in out.splitlines():
        if line.startswith("## Targets"):
            inside = True
        elif line.startswith("## "):
            inside = False
        elif inside and line.startswith("| ") and not line.startswith(("| target", "|---")):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


with tempfile.TemporaryDirectory() as d:
    fake_run(d)
    out = subprocess.run([sys.executable, os.path.join(HERE, "table.py"), d], capture_output=True,
                         text=True, check=True).stdout
    t = targets(out)
    w4_1 = next((v for k, v in t.items() if k.startswith("W4 train") and k.endswith("t=1")), None)
    w4_2 = next((v for k, v in t.items() if k.startswith("W4 train") and k.endswith("t=2")), None)
    check("W4 t=1 against numpy's 158, not Prescott's 30", w4_1 and w4_1[3] == "76%", str(w4_1))
    check("W4 t=1 names the ceiling's source", w4_1 and "158.0" in w4_1[2] and "numpy" in w4_1[2], str(w4_1))
    check("W4 t=2 against torch's 315", w4_2 and w4_2[3] == "76%" and "torch" in w4_2[2], str(w4_2))
    check("W4 below 90% of the ceiling is missed", w4_1 and "missed" in w4_1[4], str(w4_1))
    check("the ceiling section names what set it", "Ceiling at t=1: 158.0 GFLOP/s, set by numpy matmul" in out)
    w1_1 = next((v for k, v in t.items() if k.startswith("W1 samples/s >= 1.2x") and "t=1" in k), None)
    # 40,000 samples/s x 2.41 MFLOP = 96.4 GFLOP/s: 61 % of 158; 0.88x numpy: missed.
    check("W1 t=1 against the best peer and the ceiling", w1_1 and w1_1[3] == "0.88x (61% of ceiling)"
          and "missed" in w1_1[4], str(w1_1))

with tempfile.TemporaryDirectory() as d:
    demo = os.path.join(d, "demo.sh")
    with open(demo, "w") as f:  # 30 epochs: 0.010 s each, then 0.030 s from epoch 16
        f.write("#!/bin/sh\necho 'epoch  train_loss  train_acc   test_acc    time_s'\n"
                "for e in $(seq 1 30); do t=0.010; [ $e -gt 15 ] && t=0.030;"
                " printf '%5d  %10.4f  %9.4f  %9.4f  %8.3f\\n' $e 0.5 0.9 0.97 $t; done\n"
                "echo 'held-out accuracy: 0.9700 (360 images)'\n")
    os.chmod(demo, 0o755)
    js = os.path.join(d, "demo.json")
    subprocess.run([sys.executable, os.path.join(HERE, "demo_epochs.py"), "--runs", "2", "--json", js, "--", demo],
                   capture_output=True, text=True, check=True)
    j = json.load(open(js))
    r = j["runs"][0]
    check("demo early half", abs(r["early_s"] - 0.150) < 1e-9, str(r))
    check("demo late half", abs(r["late_s"] - 0.450) < 1e-9, str(r))
    check("demo ratio and median", abs(j["ratio_median"] - 3.0) < 1e-9 and len(j["runs"]) == 2, str(j))
    check("demo accuracy read", r["test_acc"] == 0.97, str(r))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
