#!/usr/bin/env python3
"""Train a 64-128-64-10 multi-layer perceptron on the 8x8 handwritten digits
with swann's Python binding.

    usage: train_digits.py [CSV] [--epochs N] [--batch-size N] [--optimizer JSON]
                           [--save PATH] [--plot PATH] [--no-progress]

What it does:
  1. loads examples/data/digits.csv (1797 rows: 64 pixels 0..16, then the label
     0..9) and scales the pixels to [0, 1];
  2. splits it 80/20 into training and held-out sets with a fixed seed;
  3. builds a 64-128-64-10 net (relu, relu, softmax; cross-entropy; SGD with
     momentum by default) and trains it with Net.fit, a progress bar on stderr,
     the held-out set as validation; prints each epoch's loss and held-out
     accuracy;
  4. saves a PNG plot of loss and accuracy when matplotlib is installed;
  5. saves the model, loads it back and checks it predicts the same.

Exit status: 0 when the held-out accuracy is at least 0.96, else 1.

Needs numpy and the swann package (pip install ./bindings/python) with the C
library (SWANN_LIBRARY=build/libswann.so, see bindings/python/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

import swann

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parent / "data" / "digits.csv"
SEED = 0


def load_digits(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] as float32 (n, 64) and integer labels (n,)."""
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except OSError as e:
        sys.exit("error: cannot read %s: %s" % (path, e))
    except ValueError as e:
        sys.exit("error: %s is not a digits CSV: %s" % (path, e))
    if data.shape[1] != 65:
        sys.exit("error: %s: expected 65 values per row (64 pixels and a label), found %d" % (path, data.shape[1]))
    x, y = data[:, :64], data[:, 64]
    if x.min() < 0 or x.max() > 16 or y.min() < 0 or y.max() > 9:
        sys.exit("error: %s: pixels must be 0..16 and labels 0..9" % path)
    return (x / 16.0).astype(np.float32), y


def split(x: np.ndarray, y: np.ndarray, train: float = 0.8, seed: int = SEED):
    order = np.random.default_rng(seed).permutation(len(y))
    n = int(round(train * len(y)))
    a, b = order[:n], order[n:]
    return x[a], y[a], x[b], y[b]


def plot(history: Dict[str, List[float]], path: Path) -> None:
    """Saves loss and accuracy curves; does nothing without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    epochs = range(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["loss"], label="training loss")
    left.plot(epochs, history["val_loss"], label="held-out loss")
    left.set_xlabel("epoch")
    left.set_ylabel("mean cross-entropy")
    left.legend()
    right.plot(epochs, history["val_accuracy"], color="tab:green")
    right.set_xlabel("epoch")
    right.set_ylabel("held-out accuracy")
    fig.suptitle("swann: 64-128-64-10 on digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print("plot: %s" % path)


def save_and_reload(net: swann.Net, path: Path, x: np.ndarray) -> None:
    """Saves the net, loads it back and checks both give the same outputs."""
    try:
        net.save(path)
        again = swann.Net.load(path, max_batch=net.max_batch)
    except NotImplementedError as e:
        print("save/load skipped: %s" % e)
        return
    except swann.SwannError as e:
        print("save/load failed: %s: %s" % (e.name, e))
        return
    same = np.array_equal(again.params, net.params) and np.array_equal(again.predict(x), net.predict(x))
    print("saved %s (%d bytes) and loaded it back: %s" % (
        path, path.stat().st_size, "same parameters and predictions" if same else "MISMATCH"))
    if not same:
        sys.exit(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="digits file (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--optimizer", default='{"type": "sgd", "lr": 0.1, "momentum": 0.9}',
                    help="the spec's optimizer object as JSON (default %(default)s)")
    ap.add_argument("--save", type=Path, default=Path("/tmp/swann_digits_py.safetensors"),
                    help="model file to write and reload (default %(default)s)")
    ap.add_argument("--plot", type=Path, default=Path("/tmp/swann_digits_py.png"),
                    help="PNG of the training curves, written when matplotlib is installed (default %(default)s)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = ap.parse_args()

    x, y = load_digits(args.csv)
    xt, yt, xv, yv = split(x, y)
    print("digits: %d images, %d for training, %d held out (seed %d)" % (len(y), len(yt), len(yv), SEED))

    spec = {
        "input": 64,
        "layers": [{"units": 128, "activation": "relu"},
                   {"units": 64, "activation": "relu"},
                   {"units": 10, "activation": "softmax"}],
        "loss": "cross_entropy",
        "optimizer": json.loads(args.optimizer),
        "seed": SEED,
    }
    with swann.Net(spec, max_batch=128) as net:
        print("net: 64-128-64-10, %d parameters, optimizer %s, libswann %s"
              % (net.param_count, json.dumps(net.spec["optimizer"]), swann.library_version))
        t0 = time.perf_counter()
        history = net.fit(xt, yt, epochs=args.epochs, batch_size=args.batch_size, shuffle=True,
                          validation=(xv, yv), progress=not args.no_progress, seed=SEED)
        seconds = time.perf_counter() - t0
        print("epoch  train loss  held-out loss  held-out accuracy")
        for i, (loss, vloss, vacc) in enumerate(zip(history["loss"], history["val_loss"],
                                                     history["val_accuracy"]), 1):
            print("%5d  %10.4f  %13.4f  %17.4f" % (i, loss, vloss, vacc))
        accuracy = float(np.mean(net.predict(xv).argmax(axis=1) == yv))
        print("held-out accuracy: %.4f (%d of %d)" % (accuracy, round(accuracy * len(yv)), len(yv)))
        print("training: %.2f s, %.0f images/s" % (seconds, args.epochs * len(yt) / max(seconds, 1e-9)))
        if args.epochs:
            plot(history, args.plot)
        save_and_reload(net, args.save, xv)
    return 0 if accuracy >= 0.96 else 1


if __name__ == "__main__":
    sys.exit(main())
