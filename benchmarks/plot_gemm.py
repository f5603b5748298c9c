#!/usr/bin/env python3
"""plot_gemm.py -- roofline-style plot of swann's matrix products against OpenBLAS.

    python3 benchmarks/plot_gemm.py build/bench [--out docs/gemm_roofline.png]

Reads OUT/gemm_t{1,2}.json (benchmarks/bench_gemm.c) and, if present, the machine's
sgemm ceiling of the run: the fastest 4096^3 product among numpy's and torch's matmul
(OUT/peers/ceiling.json) and the C OpenBLAS runs (OUT/ceiling_c_t*_*.json,
OUT/peers/sgemm_c_t*.json), as benchmarks/table.py takes it. One panel per thread
count: GFLOP/s of the square forward products (n x n x n, swann_forward on a one-layer
identity net vs cblas_sgemm NoTrans/Trans) against n, and the products of the W1 and W4
layers (fwd, dW, dX) placed at their size (m n k)^(1/3).
"""
import argparse
import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    if not os.path.exists(path):
        return None
    txt = open(path).read().strip()
    try:
        return json.loads(txt)
    except json.JSONDecodeError:
        return json.loads(txt.splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--out", default="docs/gemm_roofline.png")
    a = ap.parse_args()
    runs = {t: load(os.path.join(a.dir, f"gemm_t{t}.json")) for t in (1, 2)}
    runs = {t: j for t, j in runs.items() if j}
    if not runs:
        raise SystemExit(f"plot_gemm.py: no gemm_t*.json in {a.dir}")
    fig, axes = plt.subplots(1, len(runs), figsize=(6.2 * len(runs), 5.4), sharey=True, squeeze=False)
    ymax = 0
    for ax, (t, j) in zip(axes[0], sorted(runs.items())):
        sq = sorted((r for r in j["rows"] if r["group"] == "square"), key=lambda r: r["m"])
        n = [r["m"] for r in sq]
        sw = [r["swann"]["gflops_median"] for r in sq]
        ob = [r["openblas"]["gflops_median"] for r in sq]
        ax.plot(n, ob, "s-", color="tab:gray", label="OpenBLAS cblas_sgemm, n x n x n")
        ax.plot(n, sw, "o-", color="tab:blue", label="swann (swann_forward), n x n x n")
        ymax = max([ymax] + sw + ob)
        marks = {"fwd": "^", "dW": "v", "dX": "D"}
        for op, mk in marks.items():
            rows = [r for r in j["rows"] if r["group"] in ("W1", "W4") and r["op"] == op]
            if not rows:
                continue
            x = [(r["m"] * r["n"] * r["k"]) ** (1 / 3) for r in rows]
            ax.scatter(x, [r["openblas"]["gflops_median"] for r in rows], marker=mk, facecolors="none",
                       edgecolors="tab:gray", s=36, label=f"OpenBLAS, W1/W4 {op}")
            ax.scatter(x, [r["swann"]["gflops_median"] for r in rows], marker=mk, color="tab:orange", s=30,
                       label=f"swann, W1/W4 {op}" + (" (bwd - dW)" if op == "dX" else ""))
            ymax = max([ymax] + [r["swann"]["gflops_median"] for r in rows] + [r["openblas"]["gflops_median"] for r in rows])
        cands = []
        pc = load(os.path.join(a.dir, "peers", "ceiling.json")) or {}
        for lib in ("numpy", "torch"):
            v = (pc.get("results") or {}).get(f"{lib}_t{t}", {}).get("gflops_median")
            if v:
                cands.append((v, f"{lib} matmul"))
        for f in glob.glob(os.path.join(a.dir, f"ceiling_c_t{t}_*.json")) + \
                [os.path.join(a.dir, "peers", f"sgemm_c_t{t}.json")]:
            j = load(f)
            if j and j.get("gflops_median"):
                cands.append((j["gflops_median"], f"C OpenBLAS {j.get('corename')}"))
        if cands:
            v, lab = max(cands)
            ax.axhline(v, color="tab:red", ls="--", lw=1, label=f"ceiling: {lab} 4096^3")
            ax.axhline(0.9 * v, color="tab:red", ls=":", lw=1, label="90% of it (W4 target)")
            ymax = max(ymax, v)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("size: n, or (m n k)^(1/3) for the workload products")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s (2 m n k / median time)")
    axes[0][0].set_ylim(0, ymax * 1.08)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.suptitle("swann GEMM (timed through its C API) vs OpenBLAS sgemm, float32", fontsize=11)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"plot_gemm.py: wrote {a.out}")


if __name__ == "__main__":
    main()
