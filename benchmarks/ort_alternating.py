#!/usr/bin/env python3
"""ort_alternating.py -- W1i / W4i: swann_forward beside ONNX Runtime, alternating in one process.

    PY=/tmp/swann-peers/venv/bin/python   # the peers' venv (torch, onnx, onnxruntime)
    $PY benchmarks/ort_alternating.py w4 1 15 build/libswann.so [other/libswann.so ...]

`make bench` times swann and ONNX Runtime minutes apart, in different processes; on these
VMs the clock moves in between (docs/performance.md, "The clock check"). Here both sides
run in one process and take turns: each repeat times every side once (ORT, then each
library given, the order reversed every other repeat), with a 150 ms pause before each
side so that no side's spinning worker threads take a core from the next. Prints each
side's median GFLOP/s and its ratio to ORT's.

The ORT side is the peers' own (../shared/bench/bench_ort.py: a torch MLP exported to
ONNX, intra_op_num_threads = THREADS); swann's is the net bench_swann.c times (relu hidden
layers, softmax output, seed 0) through its C API by ctypes. W1i: 784-512-256-10, batch 128,
50 forwards a side per repeat; W4i: 1024-4096-4096-1024, batch 256, 3 forwards.
"""
import ctypes
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PEERS", os.path.join(HERE, "..", "..", "shared", "bench")))
import bench_ort  # noqa: E402  (the peers' export and session options)
import torch  # noqa: E402

PAUSE_S = 0.15


def swann_side(path, spec, batch, x, y, iters):
    lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
    net = ctypes.c_void_p()
    if lib.swann_create(spec, ctypes.c_size_t(batch), None, ctypes.c_size_t(0), ctypes.byref(net)) != 0:
        sys.exit(f"{path}: swann_create failed")
    xp, yp = x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p)

    def run():
        for _ in range(iters):
            if lib.swann_forward(net, xp, ctypes.c_size_t(batch), yp) != 0:
                sys.exit(f"{path}: swann_forward failed")
    return run


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("w1", "w4"):
        sys.exit("usage: ort_alternating.py w1|w4 THREADS REPEATS LIBSWANN [LIBSWANN ...]")
    wl, threads, repeats, libs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    sizes, batch, iters = ([1024, 4096, 4096, 1024], 256, 3) if wl == "w4" else ([784, 512, 256, 10], 128, 50)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        sess = bench_ort.session(bench_ort.export(bench_ort.mlp(sizes), sizes[0], os.path.join(d, "m.onnx")), threads)
    layers = ", ".join('{"units": %d, "activation": "%s"}' % (u, "softmax" if i == len(sizes) - 2 else "relu")
                       for i, u in enumerate(sizes[1:]))
    spec = ('{"input": %d, "layers": [%s], "loss": "cross_entropy", "optimizer": {"type": "sgd", "lr": 0.01}, '
            '"seed": 0, "threads": %d}' % (sizes[0], layers, threads)).encode()
    x = np.random.default_rng(1).uniform(-1, 1, (batch, sizes[0])).astype(np.float32)
    y = np.zeros((batch, sizes[-1]), np.float32)

    def ort_run():
        for _ in range(iters):
            sess.run(None, {"x": x})
    sides = [("ORT", ort_run)] + [(p, swann_side(p, spec, batch, x, y, iters)) for p in libs]
    for _, f in sides:
        f()  # warm-up (a net's first forwards also decide its packed copies)
    times = {name: [] for name, _ in sides}
    for r in range(repeats):
        for name, f in (sides if r % 2 == 0 else sides[::-1]):
            time.sleep(PAUSE_S)
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    flop = 2 * sum(a * b for a, b in zip(sizes, sizes[1:])) * batch * iters
    ort = statistics.median(times["ORT"])
    print(f"{wl.upper()}i, {threads} thread(s), {repeats} repeats, medians:")
    for name, _ in sides:
        m = statistics.median(times[name])
        print(f"  {name:40s} {flop / m / 1e9:7.1f} GFLOP/s  {ort / m:.3f}x ORT")


if __name__ == "__main__":
    main()
