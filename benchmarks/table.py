#!/usr/bin/env python3
"""table.py -- swann next to its peers, and the performance targets, from one run's JSON.

    python3 benchmarks/table.py build/bench        (the OUT folder of benchmarks/run.sh)

Reads OUT/swann_t{1,2}.json, OUT/contention_t{1,2}.json, OUT/gemm_t{1,2}.json,
OUT/ceiling_c_t{1,2}_*.json, OUT/clock_end_t1.json, OUT/fma_peak.json, OUT/core_latency.jsonl,
OUT/demo.json, OUT/python_overhead.txt, OUT/serve.json,
OUT/serve_peers.json, OUT/products_floor.json, OUT/sysinfo.txt and
the peers' files in OUT/peers ({torch,numpy,ort}_t{1,2}.json, fann.json,
sgemm_c_t{1,2}.json, ceiling.json), and prints markdown:

  0. the machine's sgemm ceiling at 1 and 2 threads: the fastest 4096^3 float32 product
     of the run (C OpenBLAS with a named core type, numpy's and torch's matmul), and which
     one set it; every ceiling ratio below is against it; and the clock check (the
     one-thread C ceiling again at the run's end), flagging a run whose clock moved; and the
     bound over the ceiling, the cores' register-only FMA peak;
  1. every workload: swann t1 / t2 next to torch, numpy, ONNX Runtime t1 / t2 and FANN;
  2. the targets of the performance issue, each with its measured ratio, met or missed;
  3. the GEMM comparison (swann through its API vs cblas_sgemm, same shapes);
  4. the load the run saw (loadavg before each step, idle warnings) and where the two CPUs sat
     (core_latency.c's readings, flagging CPUs placed apart);
  5. serving (issue #16): memory, arenas, load time, 2-thread throughput from C and Python.

Only the standard library is used; a missing file shows as n/a and its targets as "not measured".
"""
import glob
import json
import os
import re
import statistics
import sys

D = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
P = os.path.join(D, "peers")


def load(path):
    if not os.path.exists(path):
        return None
    txt = open(path).read().strip()
    if not txt:
        return None
    try:
        return json.loads(txt)
    except json.JSONDecodeError:
        return json.loads(txt.splitlines()[-1])  # bench_sgemm prints one JSON line last


def g(j, *path):
    for k in path:
        if not isinstance(j, dict) or k not in j:
            return None
        j = j[k]
    return j


data = {
    "swann t1": load(os.path.join(D, "swann_t1.json")), "swann t2": load(os.path.join(D, "swann_t2.json")),
    "torch t1": load(os.path.join(P, "torch_t1.json")), "torch t2": load(os.path.join(P, "torch_t2.json")),
    "numpy t1": load(os.path.join(P, "numpy_t1.json")), "numpy t2": load(os.path.join(P, "numpy_t2.json")),
    "ORT t1": load(os.path.join(P, "ort_t1.json")), "ORT t2": load(os.path.join(P, "ort_t2.json")),
    "FANN": load(os.path.join(P, "fann.json")),
}
sgemm = {t: load(os.path.join(P, f"sgemm_c_t{t}.json")) for t in (1, 2)}
gemm = {t: load(os.path.join(D, f"gemm_t{t}.json")) for t in (1, 2)}
cont = {t: load(os.path.join(D, f"contention_t{t}.json")) for t in (1, 2)}
demo = load(os.path.join(D, "demo.json"))


def ceiling_candidates(t):
    """[(label, GFLOP/s)]: every 4096^3 float32 sgemm of this run at t threads."""
    c = []
    ce = load(os.path.join(P, "ceiling.json"))
    for lib in ("numpy", "torch"):
        v = g(ce, "results", f"{lib}_t{t}", "gflops_median")
        if v:
            c.append((f"{lib} matmul", v))
    for f in sorted(glob.glob(os.path.join(D, f"ceiling_c_t{t}_*.json"))):
        j = load(f)
        if j and j.get("gflops_median"):
            how = ("OpenBLAS's own choice" if j.get("OPENBLAS_CORETYPE") == "<unset>"
                   else f"OPENBLAS_CORETYPE={j.get('OPENBLAS_CORETYPE')}")
            c.append((f"C OpenBLAS {j.get('corename')} kernels, {how}", j["gflops_median"]))
    j = sgemm[t]
    if j and j.get("gflops_median"):
        c.append((f"C OpenBLAS {j.get('corename')} kernels, run_all.sh's bench_sgemm", j["gflops_median"]))
    return c


cands = {t: ceiling_candidates(t) for t in (1, 2)}
ceiling = {t: max(cands[t], key=lambda x: x[1]) if cands[t] else (None, None) for t in (1, 2)}


def ceil_ref(t):
    lab, v = ceiling[t]
    return f"ceiling t{t}: {num(v, 1)} GFLOP/s ({lab})" if v else f"ceiling t{t}: n/a"


def r(col, *path):
    return g(data[col], "results", *path)


def num(v, nd=None):
    if v is None:
        return "n/a"
    if nd is None:
        nd = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:,.{nd}f}"


# ---------------------------------------------------------------- 1. workloads
def w1(col):
    if col == "FANN":
        return r(col, "W1", "minibatch128", "samples_per_s_median")
    return r(col, "W1", "samples_per_s_median")


def w1_gf(col):
    if col == "FANN":
        return r(col, "W1", "minibatch128", "gflops_median")
    return r(col, "W1", "gflops_median")


def w2(col, opt):
    """(train seconds, test accuracy) of a W2 training run."""
    if col.startswith("ORT"):
        return None, None
    if col == "FANN":
        if opt != "sgd_lr0.1":
            return None, None
        m = "minibatch32_sgd_lr0.1"
        return r(col, "W2", m, "train_s_median"), r(col, "W2", m, "test_acc_median")
    return r(col, "W2", opt, "train_s_median"), r(col, "W2", opt, "test_acc_median")


def thru(col, wl):
    if col == "FANN" and wl == "W4":
        return r(col, "W4", "minibatch256", "samples_per_s_median"), r(col, "W4", "minibatch256", "gflops_median")
    return r(col, wl, "samples_per_s_median"), r(col, wl, "gflops_median")


def cell(col, row):
    if data[col] is None:
        return "n/a"
    if row == "W1":
        if col == "FANN":
            return f"{num(w1(col))} (incr. {num(r(col, 'W1', 'incremental', 'samples_per_s_median'))})"
        return num(w1(col))
    if row == "W1g":
        return num(w1_gf(col), 1)
    if row == "W2s" and col == "FANN":
        parts = []
        for m, lab in (("incremental_sgd_lr0.1", "incr."), ("minibatch32_sgd_lr0.1", "mb32")):
            t, a = r(col, "W2", m, "train_s_median"), r(col, "W2", m, "test_acc_median")
            if t is not None:
                parts.append(f"{lab} {t:.3f} s / {a:.3f}")
        return "; ".join(parts) or "n/a"
    if row in ("W2s", "W2a"):
        t, a = w2(col, "sgd_lr0.1" if row == "W2s" else "adam_lr1e-3")
        return f"{t:.3f} s / {a:.3f}" if t is not None else "-"
    if row == "W3":
        m, p99 = r(col, "W3", "us_median"), r(col, "W3", "us_p99")
        if m is None:
            return "n/a"
        sm = r(col, "W3", "session_us_median")
        return f"{m:.2f} (p99 {p99:.1f})" + (f"; session {sm:.2f}" if sm is not None else "")
    v, gf = thru(col, row)
    if v is None:
        return "-" if row in ("W4",) and col.startswith("ORT") else "n/a"
    return f"{num(v)} ({gf:.1f})" if gf is not None else num(v)


cols = list(data)
rows = [("W1 train 784-512-256-10 b128, samples/s", "W1"),
        ("W1 GFLOP/s (6 x params x batch)", "W1g"),
        ("W2 digits 64-128-64-10 b32 30 ep, SGD 0.1: train s / test acc", "W2s"),
        ("W2 same, Adam 1e-3: train s / test acc", "W2a"),
        ("W3 latency 784-128-10 b1, us/call median", "W3"),
        ("W4 train 1024-4096-4096-1024 b256, samples/s (GFLOP/s)", "W4"),
        ("W1i infer b128, samples/s (GFLOP/s)", "W1i"),
        ("W4i infer b256, samples/s (GFLOP/s)", "W4i")]

print(f"# swann benchmarks: {D}\n")
si = os.path.join(D, "sysinfo.txt")
if os.path.exists(si):
    for line in open(si):
        if line.startswith(("date:", "git:", "quick:", "OPENBLAS", "  Model name", "Model name", "vendor_id",
                            "cpu flags:", "swann TARGET_CPU:", "swann code:", "swann library size:",
                            "ceiling core type:")):
            print(f"    {line.rstrip()}")
if os.path.exists(os.path.join(P, "REUSED_FROM")):
    print(f"\n**Peers not run now**: their numbers are reused from {open(os.path.join(P, 'REUSED_FROM')).read().strip()}, "
          "so the ratios below are not from one run.")
print("\n## The machine's sgemm ceiling (4096^3 float32, GFLOP/s medians, this run)\n")
print("The fastest product of the run at each thread count sets the ceiling; every ceiling ratio below is")
print("against it, not against an OpenBLAS whose run-time detection may have fallen back to older kernels.\n")
labels = []
for t in (1, 2):
    for lab, _ in cands[t]:
        if lab not in labels:
            labels.append(lab)
print("| sgemm | t1 | t2 |")
print("|---|---|---|")
for lab in labels:
    cells = []
    for t in (1, 2):
        v = next((x for l2, x in cands[t] if l2 == lab), None)
        cells.append(("**" + num(v, 1) + "**") if v is not None and ceiling[t][0] == lab else num(v, 1))
    print(f"| {lab} | " + " | ".join(cells) + " |")
for t in (1, 2):
    lab, v = ceiling[t]
    print(f"\nCeiling at t={t}: {num(v, 1)} GFLOP/s, set by {lab}." if v else f"\nCeiling at t={t}: not measured.")

fma = load(os.path.join(D, "fma_peak.json"))


def fma_peak(t):
    """(width, GFLOP/s): the fastest register-only FMA rate at t threads (fma_peak.c), or (None, None)."""
    rates = [(w, g(v, f"t{t}", "gflops_median")) for w, v in (g(fma, "widths") or {}).items()]
    return max(((w, v) for w, v in rates if v), key=lambda x: x[1], default=(None, None))


if fma_peak(1)[1]:
    print("\nThe bound over the ceiling, the cores' FMA peak (benchmarks/fma_peak.c: fused multiply-adds on")
    print("registers only, no memory; GFLOP/s medians):", end="")
    for t in (1, 2):
        w, v = fma_peak(t)
        widths = ", ".join(f"{k} {num(g(x, f't{t}', 'gflops_median'), 1)}" for k, x in g(fma, "widths").items())
        share = f"; the ceiling is {ceiling[t][1] / v:.0%} of it" if v and ceiling[t][1] else ""
        print(f" t={t}: {widths}{share}." if v else f" t={t}: not measured.", end="")
    print()


def clock_check():
    """(first, last, last / first): the one-thread C ceiling at 2b and again at the run's end
    (run.sh's clock check, the same core type), or None where either is missing."""
    end = load(os.path.join(D, "clock_end_t1.json"))
    if not end or not end.get("gflops_median"):
        return None
    for f in sorted(glob.glob(os.path.join(D, "ceiling_c_t1_*.json"))):
        j = load(f)
        if j and j.get("gflops_median") and j.get("OPENBLAS_CORETYPE") == end.get("OPENBLAS_CORETYPE"):
            return j["gflops_median"], end["gflops_median"], end["gflops_median"] / j["gflops_median"]
    return None


CLOCK_TOLERANCE = 0.05
clock = clock_check()
if clock:
    first, last, ratio = clock
    moved = abs(ratio - 1) > CLOCK_TOLERANCE
    print(f"\nClock check: the one-thread C ceiling read {first:.1f} GFLOP/s before swann's steps and {last:.1f} "
          f"after the last ({ratio:.3f}x). " + (f"**WARNING: the clock moved by more than {CLOCK_TOLERANCE:.0%} "
          "within this run**; a ratio whose two sides ran minutes apart may be off by as much: compare runs, "
          "or A/B in one process (benchmarks/ab_libs.c)." if moved else
          f"Within {CLOCK_TOLERANCE:.0%}: the clock held."))

print("\n## Workloads (medians; t = threads; FANN is single-threaded: W1 mini-batch 128 (and per-sample, incr.), "
      "W4 mini-batch 256, W2 per-sample (incr.) and mini-batch 32 SGD)\n")
print("| workload | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for lab, key in rows:
    print(f"| {lab} | " + " | ".join(cell(c, key) for c in cols) + " |")

# Where the two CPUs sat (run.sh's core_latency.c readings, in run order): a cache line's round
# trip between CPU 0 and CPU 1. These VMs' CPUs move between hosts' cores within a run; a reading
# over FAR_FACTOR x the run's nearest marks the CPUs placed apart (on Zen 4: two CCDs, 320-410 ns
# against 55-120 ns in one CCX), where steps that hand data between threads run slower.
def placements():
    out = []
    path = os.path.join(D, "core_latency.jsonl")
    for line in open(path) if os.path.exists(path) else []:
        try:
            j = json.loads(line)
        except json.JSONDecodeError:
            continue
        if j.get("round_trip_ns_median"):
            out.append((j.get("label", "?"), j["round_trip_ns_median"]))
    return out


FAR_FACTOR = 3
PLACE = placements()
NEAREST = min((v for _, v in PLACE), default=None)


def far_around(prefix):
    """The largest reading whose label starts with `prefix` where it marks the CPUs apart, else None."""
    v = max((x for lab, x in PLACE if lab.startswith(prefix)), default=None)
    return v if v and NEAREST and v > FAR_FACTOR * NEAREST else None


# ---------------------------------------------------------------- 2. targets
targets = []  # (target, measured, reference, ratio text, status)


def target(name, measured, reference, ratio, ok, ratio_fmt="{:.2f}x"):
    if ratio is None or ok is None:
        targets.append((name, measured, reference, "n/a", "not measured"))
    else:
        targets.append((name, measured, reference, ratio_fmt.format(ratio), "**met**" if ok else "**missed**"))


for t in (1, 2):
    sw = r(f"swann t{t}", "W4", "gflops_median")
    ob = ceiling[t][1]
    ratio = sw / ob if sw and ob else None
    target(f"W4 train GFLOP/s >= 90% of the machine's sgemm ceiling, t={t}",
           f"swann t{t}: {num(sw, 1)} GFLOP/s", ceil_ref(t), ratio, ratio >= 0.90 if ratio else None, "{:.0%}")

# W1: 1.2x the best peer at the same thread count, or, where that peer already runs near
# the ceiling, 85 % of the ceiling counting what a W1 step must compute: 6 x params per
# sample less the first layer's input gradient (2 x 784 x 512), 2.41 MFLOP.
W1_FLOP = 6 * (784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10) - 2 * 784 * 512
for t in (1, 2):
    a = w1(f"swann t{t}")
    peers = [(w1(f"{p} t{t}"), p) for p in ("numpy", "torch") if w1(f"{p} t{t}")]
    b, bp = max(peers) if peers else (None, None)
    ce = ceiling[t][1]
    frac = a * W1_FLOP / 1e9 / ce if a and ce else None
    ratio = a / b if a and b else None
    ok = None if ratio is None and frac is None else (ratio or 0) >= 1.2 or (frac or 0) >= 0.85
    apart = far_around("swann t=2") if t == 2 else None
    targets.append((f"W1 samples/s >= 1.2x the best peer at t={t}, or >= 85% of the ceiling at "
                    f"{W1_FLOP / 1e6:.2f} MFLOP per sample",
                    f"swann t{t}: {num(a)}" + (f" ({a * W1_FLOP / 1e9:.1f} GFLOP/s)" if a else "")
                    + (f"; CPUs apart around it ({apart:.0f} ns round trip, nearest {NEAREST:.0f})" if apart else ""),
                    f"{bp} t{t}: {num(b)}; {ceil_ref(t)}",
                    (f"{ratio:.2f}x" if ratio else "n/a") + (f" ({frac:.0%} of ceiling)" if frac else ""),
                    "not measured" if ok is None else "**met**" if ok else "**missed**"))

for wl in ("W1i", "W4i"):
    for t in (1, 2):
        a, b = r(f"swann t{t}", wl, "samples_per_s_median"), r(f"ORT t{t}", wl, "samples_per_s_median")
        gf, ce = r(f"swann t{t}", wl, "gflops_median"), ceiling[t][1]
        target(f"{wl} inference samples/s >= 1.0x ONNX Runtime, t={t}",
               f"swann t{t}: {num(a)}" + (f" ({gf / ce:.0%} of ceiling)" if gf and ce else ""),
               f"ORT t{t}: {num(b)}", a / b if a and b else None, a / b >= 1.0 if a and b else None)

# The cores' FMA peak (information): how close the workloads whose goal is a peer at the
# ceiling (W4 against 90 %, W1i and W4i against ORT) run to what the arithmetic allows. Two
# programs both within a few percent of it can only differ by the machine's spread.
for t in (1, 2):
    w, v = fma_peak(t)
    if not v:
        continue
    share = lambda col, wl: r(col, wl, "gflops_median")
    mine = [f"{wl} {share(f'swann t{t}', wl) / v:.0%}" for wl in ("W4", "W1i", "W4i") if share(f"swann t{t}", wl)]
    ort = [f"{wl} {share(f'ORT t{t}', wl) / v:.0%}" for wl in ("W1i", "W4i") if share(f"ORT t{t}", wl)]
    targets.append((f"Against the cores' FMA peak, t={t} (information)", "swann: " + (", ".join(mine) or "n/a"),
                    "ORT: " + (", ".join(ort) or "n/a") + (f"; sgemm ceiling {ceiling[t][1] / v:.0%}"
                                                           if ceiling[t][1] else ""),
                    f"{v:.1f} GFLOP/s peak ({w})", "info"))

# The products' floor (products_floor.py, information): each workload's matrix products at
# the fastest library for each product bound what any step built on them reaches, before its
# activations, loss, bias sums and update; beside it, the rate each goal above asks for.
floor = load(os.path.join(D, "products_floor.json"))
W4_PARAMS = 1024 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1024 + 1024
for wl in ("W4", "W1", "W1i", "W4i"):
    for t in (1, 2):
        f = g(floor, "floors", f"{wl}_t{t}")
        if not f:
            continue
        ce = ceiling[t][1]
        if wl == "W4":
            need = 0.90 * ce * 1e9 / (6 * W4_PARAMS) if ce else None
            what = "90% of the ceiling"
        elif wl == "W1":
            peers = [w1(f"{p} t{t}") for p in ("numpy", "torch") if w1(f"{p} t{t}")]
            opts = ([1.2 * max(peers)] if peers else []) + ([0.85 * ce * 1e9 / W1_FLOP] if ce else [])
            need = min(opts) if opts else None
            what = "1.2x the best peer or 85% of the ceiling, the lower"
        else:
            need = r(f"ORT t{t}", wl, "samples_per_s_median")
            what = "1.0x ONNX Runtime"
        fastest = sorted({p["fastest"] for p in f["products"]})
        bound = f["floor_samples_per_s"]
        own = g(f, "library_sums_s", "swann")
        targets.append((f"{wl} t={t}: its {len(f['products'])} products at the fastest library for each "
                        f"(products_floor.py; information)",
                        f"at most {num(bound)} samples/s ({f['floor_gflops']:.1f} GFLOP/s of products; "
                        f"fastest: {', '.join(fastest)})"
                        + (f"; swann's products through its API: {num(f['batch'] / own)}" if own else ""),
                        f"{what}: {num(need)} samples/s", f"{bound / need:.2f}x" if need else "n/a", "info"))

# The CPU levels side by side (information): each narrower level against the one chosen.
chosen = g(data["swann t1"], "isa") or "?"
for lvl in ("avx2", "baseline"):
    lv = load(os.path.join(D, f"level_{lvl}.json"))
    if not lv:
        continue
    for wl, key in (("W4", "gflops_median"), ("W1i", "samples_per_s_median")):
        a, b = r("swann t1", wl, key), g(lv, "results", wl, key)
        targets.append((f"{wl} on the {lvl} kernels against the {chosen} ones swann chose, t=1 (information)",
                        f"{lvl}: {num(b, 1)}", f"{chosen}: {num(a, 1)}", f"{b / a:.2f}x" if a and b else "n/a", "info"))

dr = g(demo, "ratio_median")
runs = g(demo, "runs") or []
target("Demo (train_digits): epochs 16-30 take <= 1.2x the time of epochs 1-15 (median of its runs)",
       "; ".join(f"{x['early_s']:.3f} s -> {x['late_s']:.3f} s" for x in runs) or "n/a",
       f"{len(runs)} run(s) of make demo's program, held-out acc "
       + (", ".join(f"{x['test_acc']:.4f}" for x in runs) or "n/a"),
       dr, dr <= 1.2 if dr else None)

fm = [v for v in (r("FANN", "W1", "minibatch128", "samples_per_s_median"),
                  r("FANN", "W1", "incremental", "samples_per_s_median")) if v] if data["FANN"] else []
b = max(fm) if fm else None
# FANN has no threads: a host that picks it gets one core, a host that picks swann
# gets both. So the target compares each side at its faster setting, as W2 does; on
# one thread 30x is out of reach by arithmetic (30 x FANN's 1,236 samples/s is
# 37,000 samples/s, 2.41 MFLOP each: 89 GFLOP/s, one core's whole FMA peak here;
# on the peers' reference machine 30 x 1,917 needs 138 GFLOP/s of a core whose
# sgemm reaches 104), and that ratio is shown below it for information.
c = [(w1(f"swann t{t}"), t) for t in (1, 2) if w1(f"swann t{t}")]
a, at = max(c) if c else (None, None)
target("W1 samples/s >= 30x FANN (each side's faster setting: swann's faster thread count, FANN's faster mode)",
       f"swann t{at}: {num(a)}", f"FANN: {num(b)}", a / b if a and b else None, a / b >= 30 if a and b else None)
a1 = w1("swann t1")
if a1 and b:
    targets.append(("W1 samples/s against FANN, both on 1 thread (information)", f"swann t1: {num(a1)}",
                    f"FANN: {num(b)}", f"{a1 / b:.2f}x", "info"))

a1, a2 = r("swann t1", "W3", "us_median"), r("swann t2", "W3", "us_median")
target("W3 <= 2.5 us per swann_forward from C (t=1)", f"swann t1: {num(a1, 2)} us (t2: {num(a2, 2)})", "2.5 us",
       a1 / 2.5 if a1 else None, a1 <= 2.5 if a1 else None, "{:.2f}x the limit")

peer_w3 = [(v, k) for v, k in ((r(k, "W3", "us_median"), k) for k in ("numpy t1", "numpy t2", "torch t1",
                                                                       "torch t2", "ORT t1", "ORT t2", "FANN")) if v]
if a1 and peer_w3:
    bv, bk = min(peer_w3)
    target("W3 ahead of every peer (swann t1 from C against the fastest peer's us per call)",
           f"swann t1: {num(a1, 2)} us", f"{bk}: {num(bv, 2)} us", a1 / bv, a1 < bv)
else:
    target("W3 ahead of every peer", "n/a", "n/a", None, None)
s1 = r("swann t1", "W3", "session_us_median")
if s1 and peer_w3:
    bv, bk = min(peer_w3)
    target("W3 through a session (swann_session_run, the serving path) ahead of every peer",
           f"swann t1: {num(s1, 2)} us", f"{bk}: {num(bv, 2)} us", s1 / bv, s1 < bv)

py = None
po = os.path.join(D, "python_overhead.txt")
if os.path.exists(po):
    txt = open(po).read()
    blk = txt.split("784-128-10 net:")[1] if "784-128-10 net:" in txt else ""
    m = re.search(r"Net\.forward\(x float32\):\s*([\d.]+)", blk)
    c = re.search(r"raw C swann_forward:\s*([\d.]+)", blk)
    py = (float(m.group(1)) if m else None, float(c.group(1)) if c else None)
best_py_peer = min([v for v in (r(k, "W3", "us_median") for k in ("numpy t1", "numpy t2", "torch t1", "torch t2",
                                                                    "ORT t1", "ORT t2")) if v] or [None]) \
    if any(data[k] for k in ("numpy t1", "torch t1", "ORT t1")) else None
if py and py[0]:
    targets.append(("W3 from Python: swann.Net.forward per call (information; no fixed target)",
                    f"{py[0]:.2f} us (raw C in the same script: {num(py[1], 2)} us)",
                    f"fastest Python peer: {num(best_py_peer, 2)} us",
                    f"{py[0] / best_py_peer:.2f}x" if best_py_peer else "n/a", "info"))
else:
    targets.append(("W3 from Python: swann.Net.forward per call", "n/a", "", "n/a", "not measured"))


def best_w2(prefix):
    """The faster of t1/t2 (train s, acc, label) for a side."""
    c = [(w2(f"{prefix} t{t}", "sgd_lr0.1"), t) for t in (1, 2) if data[f"{prefix} t{t}"]]
    c = [((s, acc), t) for (s, acc), t in c if s is not None]
    if not c:
        return None, None, None
    (s, acc), t = min(c, key=lambda x: x[0][0])
    return s, acc, f"t{t}"


ss, sa, st = best_w2("swann")
for peer, limit, rule in (("torch", 0.25, "<= 0.25x"), ("numpy", 0.5, "<= 0.5x")):
    ps, pa, pt = best_w2(peer)
    if ss is None or ps is None:
        target(f"W2 SGD train time from C {rule} {peer}, same accuracy", "n/a", "n/a", None, None)
        continue
    same_acc = sa >= pa - 0.01
    ratio = ss / ps
    ok = ratio <= limit and same_acc
    target(f"W2 SGD train time from C {rule} {peer}, accuracy within 1 point (each side's faster thread count)",
           f"swann {st}: {ss:.3f} s, acc {sa:.3f}", f"{peer} {pt}: {ps:.3f} s, acc {pa:.3f}", ratio, ok)

c1, c2 = g(cont[1], "results", "W1", "samples_per_s_median"), g(cont[2], "results", "W1", "samples_per_s_median")
i1 = w1("swann t1")
target("Contention: W1 at t=2 beside a busy process >= 0.85x W1 at t=1 (same busy process)",
       f"busy: t2 {num(c2)}, t1 {num(c1)} samples/s",
       f"idle t1: {num(i1)}" + (f" (busy t2 / idle t1: {c2 / i1:.2f}x)" if c2 and i1 else ""),
       c2 / c1 if c1 and c2 else None, c2 / c1 >= 0.85 if c1 and c2 else None)

size = None
if os.path.exists(si):
    m = re.search(r"swann library size: (\d+) bytes", open(si).read())
    size = int(m.group(1)) if m else None
target("libswann.so under 400 KB", f"{size:,} bytes" if size else "n/a", "409,600 bytes",
       size / 409600 if size else None, size < 409600 if size else None, "{:.0%} of the limit")

# Serving (issue #16): bench_serve.c's serve.json and serve_peers.py's serve_peers.json.
serve, speers = load(os.path.join(D, "serve.json")), load(os.path.join(D, "serve_peers.json"))
mem = g(serve, "memory") or {}
sr, wb = mem.get("sessions_over_weights"), mem.get("weights_bytes")
target(f"Serving memory: 8 sessions (max_batch 1) on one W4 model <= 1.1x the weights' size (VmRSS growth)",
       f"{num(mem.get('sessions_rss_bytes', 0) / 1e6 if mem else None, 1)} MB ({num(sr, 2)}x)",
       f"weights {num(wb / 1e6 if wb else None, 1)} MB; 8 nets {num(mem.get('nets_rss_bytes', 0) / 1e6 if mem else None, 1)} MB"
       f" ({num(mem.get('nets_over_weights'), 2)}x)", sr, sr <= 1.1 if sr else None)
for wl in ("W3", "W1i"):
    tw = g(serve, "threads", wl) or {}
    rt = tw.get("ratio")
    target(f"Serving {wl} (batch {tw.get('batch', '?')}): 2 threads, a session each on one model, >= 1.8x 1 thread",
           f"t2 {num(tw.get('t2_rows_per_s'))} rows/s" + ("" if tw.get("identical", True) else " (OUTPUTS DIFFER)"),
           f"t1 {num(tw.get('t1_rows_per_s'))} rows/s", rt, (rt >= 1.8 and tw.get("identical", False)) if rt else None)
ld = g(serve, "load") or {}
lm = ld.get("model_map_ms_median")
target("W4 load: swann_model_load with SWANN_MODEL_MAP from the page cache < 20 ms",
       f"{num(lm, 2)} ms (read: {num(ld.get('model_read_ms_median'), 1)} ms)",
       f"swann_load: {num(ld.get('net_load_ms_median'), 1)} ms", lm / 20 if lm else None, lm < 20 if lm else None,
       "{:.2f}x the limit")

print("\n## Targets\n")
print("| target | swann | reference | ratio | status |")
print("|---|---|---|---|---|")
for t in targets:
    print("| " + " | ".join(t) + " |")

# ---------------------------------------------------------------- 3. GEMM
if gemm[1] or gemm[2]:
    cores = sorted({str((gemm[t] or {}).get("openblas_corename")) for t in (1, 2) if gemm[t]})
    print("\n## GEMM: swann (through the API) vs OpenBLAS cblas_sgemm, GFLOP/s medians\n")
    print(f"OpenBLAS ran its {', '.join(cores)} kernels here.\n")
    print("m x n x k are the product's output rows, output columns and inner size. Each swann number is one whole")
    print("API call on a one-layer identity net: fwd = swann_forward (also copies X in, broadcasts the bias, copies")
    print("Z to Y), dW = swann_backward_grad without dx (also copies dY, sums the bias gradient), bwd = with dx")
    print("(dW + dX = dY W + copy of dX); dX = bwd time - dW time (derived). OpenBLAS: the same sgemm calls.\n")
    keyed = {}
    order = []
    for t in (1, 2):
        for row in (gemm[t] or {}).get("rows", []):
            k = (row["group"], row["name"], row["op"])
            if k not in keyed:
                keyed[k] = {}
                order.append(k)
            keyed[k][t] = row
    print("| shape | op | m x n x k | swann t1 | OpenBLAS t1 | ratio t1 | swann t2 | OpenBLAS t2 | ratio t2 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in order:
        rr = keyed[k]
        any_row = next(iter(rr.values()))
        shape = f"{any_row['m']} x {any_row['n']} x {any_row['k']}"
        if any_row["op"] == "bwd":
            shape = "dW + dX"
        cells = []
        for t in (1, 2):
            x = rr.get(t)
            if x is None:
                cells += ["n/a"] * 3
            else:
                cells += [num(x["swann"]["gflops_median"], 1), num(x["openblas"]["gflops_median"], 1),
                          f"{x['ratio_swann_openblas']:.2f}"]
        op = k[2] + (" (derived)" if any_row.get("derived") else "")
        grp = k[0] if k[0] != "square" else "square"
        print(f"| {grp} {k[1]} | {op} | {shape} | " + " | ".join(cells) + " |")
    # Summary: the W4 products (what W4's GFLOP/s target rests on), time-weighted.
    for t in (1, 2):
        rows4 = [x for (grp, name, op), rr in keyed.items() if grp == "W4" and op in ("fwd", "dW", "dX")
                 and not (name == "1024-4096" and op == "dX") for x in [rr.get(t)] if x]
        if rows4:
            fl = sum(x["gflop"] for x in rows4)
            ts = sum(x["swann"]["s_median"] for x in rows4)
            tb = sum(x["openblas"]["s_median"] for x in rows4)
            print(f"\nW4's products at t={t} (what one training step multiplies: fwd and dW of the three layers, dX "
                  "of the last two; swann's dX derived): "
                  f"swann {fl / ts:.1f} GFLOP/s, OpenBLAS {fl / tb:.1f} GFLOP/s ({tb / ts:.0%}).")

# ---------------------------------------------------------------- 4. load
print("\n## Load during the run\n")
for name, path in (("peers (run_all.sh)", os.path.join(P, "run.log")), ("swann (run.sh)", os.path.join(D, "run.log"))):
    if not os.path.exists(path):
        continue
    txt = open(path).read()
    loads = [float(x) for x in re.findall(r"loadavg: ([\d.]+)", txt)]
    idles = [int(x) for x in re.findall(r"idle (\d+)%", txt)]
    warn = txt.count("WARNING: machine still busy")
    if loads:
        print(f"- {name}: 1-min loadavg before its steps {min(loads):.2f}..{max(loads):.2f} "
              f"(median {statistics.median(loads):.2f}); idle at step start {min(idles) if idles else '?'}.."
              f"{max(idles) if idles else '?'}%; {warn} step(s) started busy (WARNING)")
if PLACE:
    print("- the two CPUs (core_latency.c, a cache line's round trip between CPU 0 and CPU 1, ns): "
          + "; ".join(f"{lab} {v:.0f}" for lab, v in PLACE))
    if any(v > FAR_FACTOR * NEAREST for _, v in PLACE):
        print(f"- **WARNING: CPUs placed apart** for part of the run (readings over {FAR_FACTOR}x the nearest, "
              f"{NEAREST:.0f} ns; on Zen 4, two CCDs instead of one CCX): two-thread numbers taken then are not "
              "the same code's near-placement numbers (W1 training at two threads, 2026-12-05 on Zen 4: a median "
              "of 47k samples/s apart, 66k near).")

# ---------------------------------------------------------------- 5. serving
if serve or speers:
    print("\n## Serving (issue #16): one read-only model, a session per thread\n")
    if serve:
        print(f"bench_serve.c on {serve.get('cpu', '?')}{' (quick)' if serve.get('quick') else ''}.\n")
    if mem:
        print(f"Memory: resident growth (VmRSS after one run on each) of {mem.get('copies')} copies of W4 "
              f"(weights {mem['weights_bytes'] / 1e6:.1f} MB):\n")
        print("| what | MB | x weights |")
        print("|---|---|---|")
        for lab, k in (("8 nets (swann_load, max_batch 1)", "nets"), ("1 model (read) + 8 sessions", "sessions"),
                       ("1 model (mapped) + 8 sessions", "sessions_mapped")):
            v = mem.get(f"{k}_rss_bytes")
            print(f"| {lab} | {num(v / 1e6 if v is not None and v >= 0 else None, 1)} | {num(mem.get(f'{k}_over_weights'), 2)} |")
        print(f"\nNets / sessions: {num(mem.get('nets_over_sessions'), 2)}x. One W4 session arena "
              f"(max_batch 1): {num(mem.get('session_arena_bytes'))} bytes; one net's arena: {num(mem.get('net_arena_bytes'))} bytes.")
    ar = g(serve, "arenas")
    if ar:
        print("\n| net | max_batch | session arena, bytes | net arena, bytes | net / session |")
        print("|---|---|---|---|---|")
        for a in ar:
            print(f"| {a['net']} | {a['max_batch']} | {a['session_bytes']:,} | {a['net_bytes']:,} | "
                  f"{a['net_bytes'] / a['session_bytes']:.1f}x |")
    if ld:
        print(f"\nLoad of the W4 file ({ld['file_bytes'] / 1e6:.1f} MB, from the page cache, medians of {ld['repeats']}): "
              f"swann_model_load mapped {ld['model_map_ms_median']:.2f} ms, read {ld['model_read_ms_median']:.1f} ms; "
              f"swann_load {ld['net_load_ms_median']:.1f} ms ({ld['net_over_map']:.1f}x the mapped model).")
    cols = ["swann C t1", "swann C t2", "swann t1", "swann t2", "ORT t1", "ORT shared t2", "ORT intra2"]
    wls = sorted(set((g(serve, "threads") or {}).keys()) | set((g(speers, "workloads") or {}).keys()))
    if wls:
        print("\nThroughput, rows/s (medians): C = bench_serve.c, one session per pthread; the others from Python "
              "(serve_peers.py): swann.Model.predict from 1 and 2 threads, ONNX Runtime with one InferenceSession "
              "(intra_op_num_threads 1) from 1 thread and shared by 2 Python threads, and with 2 intra-op threads.\n")
        print("| workload | " + " | ".join(cols) + " | C t2/t1 | Python t2/t1 | ORT shared t2/t1 |")
        print("|---|" + "---|" * (len(cols) + 3))
        for wl in wls:
            c, p_ = g(serve, "threads", wl) or {}, g(speers, "workloads", wl) or {}
            vals = [c.get("t1_rows_per_s"), c.get("t2_rows_per_s")] + [p_.get(k) for k in cols[2:]]
            ratios = [c.get("ratio"), p_.get("swann_t2_over_t1"), p_.get("ort_shared_t2_over_t1")]
            print(f"| {wl} | " + " | ".join(num(v) for v in vals) + " | "
                  + " | ".join(f"{x:.2f}x" if x else "n/a" for x in ratios) + " |")
