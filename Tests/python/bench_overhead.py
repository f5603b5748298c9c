"""Per-call overhead of ``swann.Net.forward`` against the raw C call.

Times a 1-row forward through a 784-128-10 net three ways and prints each in
microseconds per call:

  raw C        a small C program calling swann_forward in a loop (compiled
               here with cc against include/swann.h and the same library);
  raw ctypes   the declared ctypes function called with prepared pointers;
  Net.forward  the binding's method, output array included.

The overhead of the binding is Net.forward minus raw C.

    SWANN_LIBRARY=build/libswann.so python3 Tests/python/bench_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np

import swann

ROOT = Path(__file__).resolve().parents[2]
SPEC = ('{"input": 784, "layers": [{"units": 128, "activation": "relu"},'
        ' {"units": 10, "activation": "softmax"}], "loss": "cross_entropy", "seed": 1}')

C_SOURCE = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "swann.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 100000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    const char *spec = argv[3];
    swann_net *net = NULL;
    if (swann_create(spec, 1, NULL, 0, &net) != SWANN_OK) {
        fprintf(stderr, "create: %s\n", swann_last_error());
        return 1;
    }
    static float x[784], y[10];   /* large enough for both benchmark nets */
    for (int i = 0; i < 784; i++) x[i] = (float)((i * 37) % 255) / 255.0f;
    for (long i = 0; i < calls / 10; i++) swann_forward(net, x, 1, y);   /* warm up */
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (long i = 0; i < calls; i++) {
            if (swann_forward(net, x, 1, y) != SWANN_OK) { fprintf(stderr, "forward failed\n"); return 1; }
        }
        double us = (now() - t0) / calls * 1e6;
        if (us < best) best = us;
    }
    printf("%.4f\n", best);
    swann_destroy(net);
    return 0;
}
"""


def interleaved(fns: Dict[str, Callable[[], object]], calls: int, repeats: int) -> Dict[str, float]:
    """Best mean time per call (microseconds) of each function, timed in turns
    (A, B, C, A, B, C, ...) so that noise from other processes hits all alike."""
    for fn in fns.values():
        for _ in range(max(calls // 10, 1)):
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / calls * 1e6)
    return best


def raw_c(spec: str, calls: int, repeats: int) -> Optional[float]:
    """Runs the C loop; None (with a note on stderr) when there is no C compiler."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        print("raw C: skipped (no C compiler %r)" % cc, file=sys.stderr)
        return None
    lib = Path(swann.library_path)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bench.c"
        exe = Path(tmp) / "bench"
        src.write_text(C_SOURCE)
        subprocess.run([cc, "-O2", "-std=c11", "-I", str(ROOT / "include"), str(src), str(lib),
                        "-Wl,-rpath," + str(lib.parent), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe), str(calls), str(repeats), spec], check=True,
                             capture_output=True, text=True)
        return float(out.stdout.strip())


TINY_SPEC = ('{"input": 4, "layers": [{"units": 4, "activation": "relu"},'
             ' {"units": 2, "activation": "softmax"}], "loss": "cross_entropy", "seed": 1}')


def measure(spec: str, width: int, calls: int, repeats: int) -> Dict[str, float]:
    """Times raw C, raw ctypes and Net.forward for a 1-row forward of this net."""
    from swann._core import _forward  # the declared ctypes function

    net = swann.Net(spec, max_batch=1)
    x = np.ascontiguousarray((np.arange(width).reshape(1, width) * 37 % 255) / 255.0, dtype=np.float32)
    x64 = x.astype(np.float64)
    y = np.empty((1, net.output_size), np.float32)
    p, xa, ya = net._h.ptr, x.ctypes.data, y.ctypes.data  # type: ignore[union-attr]
    forward = net.forward
    res = interleaved({"ctypes": lambda: _forward(p, xa, 1, ya),
                       "forward": lambda: forward(x),
                       "forward64": lambda: forward(x64)}, calls, repeats)
    c_us = raw_c(spec, calls, repeats)
    if c_us is not None:
        res["c"] = c_us
    return res


def report(title: str, r: Dict[str, float]) -> None:
    print(title)
    if "c" in r:
        print("  raw C swann_forward:              %8.2f us/call" % r["c"])
    print("  raw ctypes call:                  %8.2f us/call" % r["ctypes"])
    print("  Net.forward(x float32):           %8.2f us/call" % r["forward"])
    print("  Net.forward(x float64, converted):%8.2f us/call" % r["forward64"])
    print("  binding overhead, forward - ctypes: %6.2f us/call" % (r["forward"] - r["ctypes"]))
    if "c" in r:
        print("  total overhead, forward - raw C:    %6.2f us/call" % (r["forward"] - r["c"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=5000, help="calls per timed run")
    ap.add_argument("--repeats", type=int, default=15, help="timed runs (the best is reported)")
    args = ap.parse_args()
    print("libswann %s (%s), 1-row forward, best of %d runs of %d calls"
          % (swann.library_version, swann.library_path, args.repeats, args.calls))
    report("784-128-10 net:", measure(SPEC, 784, args.calls, args.repeats))
    report("4-4-2 net (compute negligible, so this is the pure per-call cost):",
           measure(TINY_SPEC, 4, args.calls * 10, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
