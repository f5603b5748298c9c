"""swann.sklearn.MLPClassifier against scikit-learn's own MLPClassifier on digits.

Same data split, StandardScaler, hidden sizes, solver (adam, lr 1e-3),
batch size and number of epochs (tol=0 and n_iter_no_change=epochs, so both run
every epoch). Prints held-out accuracy and the fastest of three fit times.

    build/venv/bin/python benchmarks/sklearn_digits.py [--epochs 50] [--hidden 128,64]

Times taken on a busy machine mean little: run it on an idle one. scikit-learn's
matrix products use every core through its BLAS; OMP_NUM_THREADS=1 compares one core each.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.preprocessing import StandardScaler

from swann.sklearn import MLPClassifier as SwannMLP

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "data" / "digits.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--hidden", default="128,64")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    hidden = tuple(int(h) for h in a.hidden.split(","))
    data = np.loadtxt(DIGITS, delimiter=",", dtype=np.int64)
    xtr, xte, ytr, yte = train_test_split(data[:, :64].astype(np.float64), data[:, 64], test_size=0.25,
                                          random_state=0, stratify=data[:, 64])
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    common = dict(hidden_layer_sizes=hidden, solver="adam", learning_rate_init=1e-3, batch_size=a.batch,
                  max_iter=a.epochs, tol=0.0, n_iter_no_change=a.epochs, alpha=1e-4, random_state=0)
    print("digits: %d train, %d test rows; hidden %s, adam, batch %d, %d epochs"
          % (len(ytr), len(yte), hidden, a.batch, a.epochs))
    for name, make in (("swann", lambda: SwannMLP(**common)), ("scikit-learn", lambda: SkMLP(**common))):
        times, acc, epochs = [], 0.0, 0
        for _ in range(a.repeats):
            est = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t = time.perf_counter()
                est.fit(xtr, ytr)
                times.append(time.perf_counter() - t)
            acc, epochs = est.score(xte, yte), est.n_iter_
        print("%-13s accuracy %.4f  fit %.3f s (best of %d, %d epochs)" % (name, acc, min(times), a.repeats, epochs))


if __name__ == "__main__":
    main()
