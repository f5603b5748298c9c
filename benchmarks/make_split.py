#!/usr/bin/env python3
"""make_split.py -- the digits test split the peers use, as row indices for bench_swann.

The peers (../shared/bench) split scikit-learn's digits with
train_test_split(X, y, test_size=0.2, random_state=0). examples/data/digits.csv holds
the same 1797 images in load_digits() order, so the same split is the same row
indices. This writes the test indices (one per line, in sklearn's order) for
`bench_swann --split FILE`, after checking that the CSV matches load_digits()
element for element (otherwise the indices would not name the same images).

    python3 benchmarks/make_split.py [--csv examples/data/digits.csv] --out FILE
"""
import argparse
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default="examples/data/digits.csv")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    d = load_digits()
    X, y = d.data.astype(np.int64), d.target.astype(np.int64)
    csv = np.loadtxt(a.csv, delimiter=",", dtype=np.int64)
    if csv.shape != (X.shape[0], X.shape[1] + 1) or not (csv[:, :-1] == X).all() or not (csv[:, -1] == y).all():
        print(f"make_split.py: {a.csv} does not match sklearn's load_digits(); the split would differ",
              file=sys.stderr)
        return 1
    idx = np.arange(X.shape[0])
    # The peers call train_test_split(X, y, ...); the permutation depends only on n and the seed.
    _, _, _, _, _, test_idx = train_test_split(X, y, idx, test_size=0.2, random_state=0)
    with open(a.out, "w") as f:
        f.write("".join(f"{i}\n" for i in test_idx))
    print(f"make_split.py: {len(test_idx)} test rows of {X.shape[0]} -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
