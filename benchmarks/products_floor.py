#!/usr/bin/env python3
"""products_floor.py -- what the matrix products of a training step or a forward cost at
the fastest library for each shape: the bound no runtime built on these products passes.

    python benchmarks/products_floor.py [--quick] [--gemm DIR] [--json FILE]

A W1 training step (784-512-256-10, batch 128) is eight products: a forward
Z = X W^T per layer, a weight gradient dW = dZ^T X per layer and an input gradient
dX = dZ W for every layer but the first (2.41 MFLOP a sample); W4 (1024-4096-4096-1024,
batch 256) the same; W1i and W4i are their forwards. Each product is timed, with the
same operand shapes and transposes, in numpy (its own OpenBLAS, threadpoolctl), torch
(MKL, set_num_threads) and ONNX Runtime (a one-node Gemm graph, MLAS, intra_op_num_threads)
at 1 and 2 threads; with --gemm DIR, bench_gemm's rows
(gemm_t1.json, gemm_t2.json: swann through its API and the C OpenBLAS with the core
type run.sh named) join them. The floor of a workload is the sum, over its products,
of the fastest library's time for that product: an upper bound on the samples per
second (and GFLOP/s) of any step built from these products, before its activations,
loss, bias sums and update. Printed beside each library's own sum.

Timing: per product and library, one warm-up call, then `repeats` runs of enough calls
to last 30 ms; the median seconds per call. The libraries alternate product by product,
at 2 threads with a 150 ms pause before each, so that one library's spinning pool
threads (OpenBLAS's, ORT's) do not take a core from the next (serve_peers.py measured it).
Prints one JSON object (to FILE, or stdout) for benchmarks/table.py, human lines on stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time

WORKLOADS = {"W1": ([784, 512, 256, 10], 128, True), "W4": ([1024, 4096, 4096, 1024], 256, True),
             "W1i": ([784, 512, 256, 10], 128, False), "W4i": ([1024, 4096, 4096, 1024], 256, False)}


def products(sizes, batch, training):
    """(op, name, m, n, k) of a step, as bench_gemm names them: fwd Z[m=B, n=out] inner
    k=in; dW [m=out, n=in] inner k=B; dX [m=B, n=in] inner k=out (not for layer 1)."""
    out = []
    for k in range(len(sizes) - 1):
        i, o, name = sizes[k], sizes[k + 1], "%d-%d" % (sizes[k], sizes[k + 1])
        out.append(("fwd", name, batch, o, i))
        if training:
            out.append(("dW", name, o, i, batch))
            if k > 0:
                out.append(("dX", name, batch, i, o))
    return out


def operands(np, op, m, n, k, rng):
    """numpy operands (a, b, c) with c = a @ b in the transposes the step uses."""
    f = np.float32
    if op == "fwd":   # X [m, k] @ W[n, k]^T
        a, b = rng.standard_normal((m, k), dtype=f), rng.standard_normal((n, k), dtype=f).T
    elif op == "dW":  # dZ[k, m]^T @ X [k, n]
        a, b = rng.standard_normal((k, m), dtype=f).T, rng.standard_normal((k, n), dtype=f)
    else:             # dZ [m, k] @ W [k, n]
        a, b = rng.standard_normal((m, k), dtype=f), rng.standard_normal((k, n), dtype=f)
    return a, b, np.empty((m, n), f)


def ort_gemm(op, a, b, threads, constant):
    """The product as a one-node ONNX Runtime graph (Gemm with the step's transposes, on
    the operands' own storage), intra_op_num_threads `threads`: a callable, or None when
    onnx or onnxruntime does not import. `constant`: the weights are an initializer, which
    ORT packs once at load, as it does a served model's (an inference's forwards); a
    training step's weights change every step and are an input."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    ta, tb = int(op == "dW"), int(op == "fwd")  # the operand stored transposed
    sa, sb = (a.T if ta else a), (b.T if tb else b)  # contiguous: what the graph reads
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(sa.shape))]
    inits = [numpy_helper.from_array(sb, "b")] if constant else []
    if not constant:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, list(sb.shape)))
    g = helper.make_graph([helper.make_node("Gemm", ["a", "b"], ["c"], transA=ta, transB=tb)], "product", inputs,
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [a.shape[0], b.shape[1]])], inits)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(),
                                so, providers=["CPUExecutionProvider"])
    feed = {"a": sa} if constant else {"a": sa, "b": sb}
    return lambda: sess.run(None, feed)


def seconds_per_call(fn, repeats, pause, least=0.03):
    time.sleep(pause)
    fn()
    t0, calls = time.perf_counter(), 0
    while time.perf_counter() - t0 < least / 4:  # a quarter of a run: four times as many calls
        fn()
        calls += 1
    calls *= 4
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - t0) / calls)
    return statistics.median(runs)


def gemm_rows(directory, threads):
    """bench_gemm's seconds per product: {(group, name, op): {"swann": s, "C OpenBLAS": s}}."""
    path = os.path.join(directory, "gemm_t%d.json" % threads)
    if not os.path.exists(path):
        return {}, None
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for r in data.get("rows", []):
        times = {}
        for side, label in (("swann", "swann"), ("openblas", "C OpenBLAS " + data.get("openblas_corename", ""))):
            s = (r.get(side) or {}).get("s_median")
            if s:
                times[label.strip()] = s
        rows[(r["group"], r["name"], r["op"])] = times
    return rows, data.get("openblas_corename")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--gemm", help="a run's directory holding bench_gemm's gemm_t1.json and gemm_t2.json")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--json")
    args = ap.parse_args()
    import numpy as np  # here, so that products() imports without them (test_bench_tools.py)
    import torch
    from threadpoolctl import threadpool_limits
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    torch.set_num_interop_threads(1)
    out = {"numpy": np.__version__, "torch": torch.__version__, "repeats": repeats, "floors": {}}
    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        pause = 0.15 if t > 1 else 0.0
        gemm, corename = gemm_rows(args.gemm, t) if args.gemm else ({}, None)
        timed = {}  # ((op, name, m, n, k), training) -> {library: seconds}
        for wl, (sizes, batch, training) in WORKLOADS.items():
            for p in products(sizes, batch, training):
                if (p, training) in timed:
                    continue
                op, name, m, n, k = p
                a, b, c = operands(np, op, m, n, k, rng)
                ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
                times = {}
                with threadpool_limits(limits=t, user_api="blas"):
                    times["numpy"] = seconds_per_call(lambda: np.matmul(a, b, out=c), repeats, pause)
                times["torch"] = seconds_per_call(lambda: torch.matmul(ta, tb, out=tc), repeats, pause)
                run = ort_gemm(op, a, b, t, constant=not training)
                if run:
                    times["ORT"] = seconds_per_call(run, repeats, pause)
                timed[(p, training)] = times
        for wl, (sizes, batch, training) in WORKLOADS.items():
            group = wl.rstrip("i")
            rows, sums, floor, flops = [], {}, 0.0, 0.0
            for p in products(sizes, batch, training):
                op, name, m, n, k = p
                times = dict(timed[(p, training)])
                times.update(gemm.get((group, name, op), {}))
                best = min(times, key=times.get)
                floor += times[best]
                flops += 2.0 * m * n * k
                for lib, s in times.items():
                    sums.setdefault(lib, []).append(s)
                rows.append({"op": op, "name": name, "m": m, "n": n, "k": k, "seconds": times, "fastest": best})
            count = len(rows)
            libs = {lib: sum(s) for lib, s in sums.items() if len(s) == count}
            res = {"threads": t, "batch": batch, "products": rows, "floor_s": floor, "gflop": flops / 1e9,
                   "floor_samples_per_s": batch / floor, "floor_gflops": flops / floor / 1e9,
                   "library_sums_s": libs, "openblas_core": corename}
            out["floors"]["%s_t%d" % (wl, t)] = res
            print("[floor] %s t=%d: %d products, %.3f GFLOP; fastest per product %.3f ms = %.0f samples/s "
                  "(%.1f GFLOP/s); each library alone: %s" % (
                      wl, t, count, flops / 1e9, floor * 1e3, batch / floor, flops / floor / 1e9,
                      ", ".join("%s %.3f ms" % (lib, s * 1e3) for lib, s in sorted(libs.items(), key=lambda x: x[1]))),
                  file=sys.stderr)
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
