#!/usr/bin/env python3
"""Serve the digits classifier from several Python threads through one swann.Model.

    usage: serve_threads.py [MODEL] [--csv CSV] [--threads N] [--chunk ROWS] [--rounds R] [--map]

What it does:
  1. loads the digits model file (default /tmp/swann_digits_py.safetensors, what
     train_digits.py saves); when there is none, trains the 64-128-64-10 net
     here with the binding (as train_digits.py does, quietly) and saves it;
  2. loads it once as a swann.Model: the weights once, read-only, for every thread;
  3. splits the held-out rows of examples/data/digits.csv (train_digits.py's
     80/20 split, seed 0) into chunks and classifies them with a
     ThreadPoolExecutor of N threads, R times over: each worker thread gets its
     own session on its first predict, and the GIL is released while the C
     library runs, so the threads run at the same time;
  4. prints rows per second and the accuracy, and checks that the threads'
     answers are bit-identical to one thread's.

Exit status: 0 when the accuracy is at least 0.96 and the threads agree with one
thread, else 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import swann

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_digits import DEFAULT_CSV, SEED, load_digits, split  # noqa: E402

SPEC = {"input": 64,
        "layers": [{"units": 128, "activation": "relu"},
                   {"units": 64, "activation": "relu"},
                   {"units": 10, "activation": "softmax"}],
        "loss": "cross_entropy",
        "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        "seed": SEED}


def train(path: Path, xt: np.ndarray, yt: np.ndarray) -> None:
    print("no model at %s: training the digits net first (30 epochs)" % path)
    with swann.Net(SPEC, max_batch=128) as net:
        net.fit(xt, yt, epochs=30, batch_size=32, progress=False, seed=SEED)
        net.save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", type=Path, default=Path("/tmp/swann_digits_py.safetensors"))
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=16, help="rows per predict call (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=300, help="passes over the held-out rows (default %(default)s)")
    ap.add_argument("--map", action="store_true", help="map the model file instead of reading it")
    args = ap.parse_args()
    if args.threads < 1 or args.chunk < 1 or args.rounds < 1:
        sys.exit("error: --threads, --chunk and --rounds must be at least 1")

    x, y = load_digits(args.csv)
    xt, yt, xv, yv = split(x, y)
    if not args.model.exists():
        train(args.model, xt, yt)
    model = swann.Model.load(args.model, map=args.map, max_batch=args.chunk)
    chunks = [(a, xv[a:a + args.chunk]) for a in range(0, len(xv), args.chunk)]
    print("model: %s (%d -> %d), %d held-out rows in %d chunks of %d, %d threads, %d rounds"
          % (args.model, model.input_size, model.output_size, len(xv), len(chunks), args.chunk,
             args.threads, args.rounds))

    def classify(item):
        a, rows = item
        return a, model.predict(rows)

    reference = model.predict(xv)  # one thread, the same chunks of max_batch rows
    out = np.empty_like(reference)
    with model, ThreadPoolExecutor(max_workers=args.threads) as pool:
        list(pool.map(classify, chunks[:args.threads]))  # every worker makes its session before the clock
        t0 = time.perf_counter()
        same = True
        for _ in range(args.rounds):
            for a, probs in pool.map(classify, chunks):
                out[a:a + len(probs)] = probs
            same = same and np.array_equal(out, reference)
        seconds = time.perf_counter() - t0
    rows = args.rounds * len(xv)
    accuracy = float(np.mean(out.argmax(axis=1) == yv))
    print("classified %d rows in %.3f s: %.0f rows/s with %d threads" % (rows, seconds, rows / seconds, args.threads))
    print("accuracy: %.4f (%d of %d)" % (accuracy, round(accuracy * len(yv)), len(yv)))
    print("threads agree with one thread bit for bit: %s" % ("yes" if same else "NO"))
    return 0 if accuracy >= 0.96 and same else 1


if __name__ == "__main__":
    sys.exit(main())
