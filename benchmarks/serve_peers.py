#!/usr/bin/env python3
"""serve_peers.py -- serving from 2 Python threads: swann.Model.predict beside ONNX Runtime.

    SWANN_LIBRARY=build/libswann.so PYTHONPATH=bindings/python/src \\
        python benchmarks/serve_peers.py [--quick] [--json FILE]

The same nets as bench_serve.c, with the same random weights on both sides: W3
(784-128-10, one row per call) and W1i (784-512-256-10, batch 128), relu hidden
layers and a softmax output. The ONNX graph is built from swann's weights with
the onnx package's helper (Gemm + Relu, Softmax), and its outputs are checked
close to swann's. Rows per second (medians of a few repeats) of:

  swann t1 / t2        one swann.Model; 1 Python thread, then 2 (each its own session)
  ORT t1               one InferenceSession (intra_op_num_threads 1), 1 Python thread
  ORT shared t2        that one InferenceSession shared by 2 Python threads
  ORT intra2           one InferenceSession with intra_op_num_threads 2, 1 Python thread

and the compact models of issue #17, on the same weights:

  swann int8 t1 / t2   model.quantize("int8"); 1 Python thread, then 2 (each its own session)
  ORT int8 t1          the ONNX graph through onnxruntime.quantization.quantize_dynamic
                       (int8 weights, activations quantized per call), intra_op_num_threads 1
  ORT int8 shared t2   that session shared by 2 Python threads
  ORT int8 intra2      its intra_op_num_threads 2 session, 1 Python thread

The sides alternate within each repeat, with a pause of PAUSE_S before each: an ONNX
Runtime session with intra_op_num_threads 2 leaves its worker thread spinning after a
call (allow_spinning, its default), and that thread takes a core from whatever runs
next. Measured on the 2-core Xeon (2026-12-04): swann int8 t2 510k rows/s right after
the "ORT intra2" side, 876k after a 150 ms pause, 897k after swann's own t1 side; the
pause is bench_gemm's between swann and OpenBLAS (whose threads spin too).

Prints one JSON object (to FILE, or stdout) for benchmarks/table.py, human lines on stderr.
Needs numpy, onnx and onnxruntime (the peers' venv) and the swann binding.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import swann

NETS = {"W3": ([784, 128, 10], 1), "W1i": ([784, 512, 256, 10], 128)}
PAUSE_S = 0.15  # before each side: a previous side's spinning threads stop (docstring)


def spec(sizes):
    layers = [{"units": u, "activation": "relu"} for u in sizes[1:-1]] + [{"units": sizes[-1], "activation": "softmax"}]
    return {"input": sizes[0], "layers": layers, "loss": "cross_entropy", "optimizer": {"type": "sgd", "lr": 0.01},
            "seed": 0, "threads": 1}


def onnx_model(sizes, params):
    """Gemm(x, W^T) + b, Relu between layers, Softmax last: the swann net's forward."""
    nodes, inits, at, cur = [], [], 0, "x"
    for k in range(len(sizes) - 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        w = params[at:at + n_in * n_out].reshape(n_out, n_in)
        at += n_in * n_out
        b = params[at:at + n_out]
        at += n_out
        inits += [numpy_helper.from_array(w, "W%d" % k), numpy_helper.from_array(b, "b%d" % k)]
        nodes.append(helper.make_node("Gemm", [cur, "W%d" % k, "b%d" % k], ["z%d" % k], transB=1))
        cur = "z%d" % k
        if k < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], ["h%d" % k]))
            cur = "h%d" % k
    nodes.append(helper.make_node("Softmax", [cur], ["y"], axis=1))
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", sizes[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", sizes[-1]])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    return m.SerializeToString()


def ort_int8(model_bytes):
    """The graph as ONNX Runtime's dynamically quantized model (int8 weights, QInt8)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "f32.onnx"), os.path.join(d, "int8.onnx")
        with open(src, "wb") as f:
            f.write(model_bytes)
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        with open(dst, "rb") as f:
            return f.read()


def ort_session(model_bytes, intra):
    so = ort.SessionOptions()
    so.intra_op_num_threads = intra
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def rows_per_s(call, xs, calls, threads):
    """Rows/s of `threads` Python threads, each making `calls` calls on its own rows."""
    go = threading.Barrier(threads + 1)

    def work(x):
        go.wait()
        for _ in range(calls):
            call(x)

    ts = [threading.Thread(target=work, args=(xs[k],)) for k in range(threads)]
    for t in ts:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    return threads * calls * xs[0].shape[0] / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    out = {"cpu": cpu, "quick": args.quick, "python": platform.python_version(), "onnxruntime": ort.__version__,
           "swann": swann.library_version, "workloads": {}}
    print("[serve_peers] CPU: %s; onnxruntime %s, libswann %s" % (cpu, ort.__version__, swann.library_version),
          file=sys.stderr)
    rng = np.random.default_rng(0)
    for name, (sizes, batch) in NETS.items():
        calls = (2000 if args.quick else 10000) if batch == 1 else (20 if args.quick else 100)
        net = swann.Net(spec(sizes), max_batch=batch)
        model = net.to_model(max_batch=batch)
        sess1 = ort_session(onnx_model(sizes, net.params.copy()), 1)
        sess2 = ort_session(onnx_model(sizes, net.params.copy()), 2)
        q8 = ort_int8(onnx_model(sizes, net.params.copy()))
        qsess1, qsess2 = ort_session(q8, 1), ort_session(q8, 2)
        model8 = model.quantize("int8")
        xs = [rng.uniform(-1, 1, size=(batch, sizes[0])).astype(np.float32) for _ in range(2)]
        diff = float(np.max(np.abs(sess1.run(None, {"x": xs[0]})[0] - model.predict(xs[0]))))
        diff8 = float(np.max(np.abs(model8.predict(xs[0]) - model.predict(xs[0]))))
        diff8_ort = float(np.max(np.abs(qsess1.run(None, {"x": xs[0]})[0] - model.predict(xs[0]))))
        sides = {
            "swann t1": (model.predict, 1),
            "swann t2": (model.predict, 2),
            "ORT t1": (lambda x: sess1.run(None, {"x": x}), 1),
            "ORT shared t2": (lambda x: sess1.run(None, {"x": x}), 2),
            "ORT intra2": (lambda x: sess2.run(None, {"x": x}), 1),
            "swann int8 t1": (model8.predict, 1),
            "swann int8 t2": (model8.predict, 2),
            "ORT int8 t1": (lambda x: qsess1.run(None, {"x": x}), 1),
            "ORT int8 shared t2": (lambda x: qsess1.run(None, {"x": x}), 2),
            "ORT int8 intra2": (lambda x: qsess2.run(None, {"x": x}), 1),
        }
        for call, threads in sides.values():  # warm: every thread's session, ORT's first runs
            rows_per_s(call, xs, max(1, calls // 20), threads)
        rates = {k: [] for k in sides}
        for _ in range(repeats):
            for k, (call, threads) in sides.items():
                time.sleep(PAUSE_S)
                rates[k].append(rows_per_s(call, xs, calls, threads))
        res = {k: statistics.median(v) for k, v in rates.items()}
        res.update({"batch": batch, "calls_per_thread": calls, "repeats": repeats, "max_abs_diff_vs_ort": diff,
                    "swann_t2_over_t1": res["swann t2"] / res["swann t1"],
                    "ort_shared_t2_over_t1": res["ORT shared t2"] / res["ORT t1"],
                    "int8_max_abs_diff_vs_f32": diff8, "ort_int8_max_abs_diff_vs_f32": diff8_ort,
                    "swann_int8_over_f32_t1": res["swann int8 t1"] / res["swann t1"],
                    "swann_int8_over_ort_int8_t1": res["swann int8 t1"] / res["ORT int8 t1"],
                    "swann_int8_t2_over_ort_int8_best2": res["swann int8 t2"] / max(res["ORT int8 shared t2"],
                                                                                   res["ORT int8 intra2"])})
        out["workloads"][name] = res
        print("[serve_peers] %s batch %d: %s; max |swann - ORT| %.2g" % (
            name, batch, ", ".join("%s %.0f rows/s" % (k, res[k]) for k in sides), diff), file=sys.stderr)
        print("[serve_peers] %s int8: swann %.2fx its float32, %.2fx ORT int8 (1 thread), %.2fx ORT int8's better "
              "2-thread form (2 threads); max |int8 - f32|: swann %.2g, ORT %.2g" % (
                  name, res["swann_int8_over_f32_t1"], res["swann_int8_over_ort_int8_t1"],
                  res["swann_int8_t2_over_ort_int8_best2"], diff8, diff8_ort), file=sys.stderr)
        model8.close()
        model.close()
        net.close()
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
