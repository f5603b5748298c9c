#!/usr/bin/env python3
"""Regenerate examples/data/digits.csv from scikit-learn's bundled digits data.

Run from the repository root (needs scikit-learn; not needed at build/test time):

    pip install scikit-learn
    python3 examples/data/make_digits.py

Writes one row per image, in scikit-learn's original order: the 64 pixel
values (integers 0..16, row-major 8x8) and then the label (0..9), comma
separated, no header, "\n" line endings.
"""
import os
import sys

from sklearn.datasets import load_digits

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "digits.csv")
digits = load_digits()
X = digits.data.astype(int)      # (1797, 64), values 0..16 (stored as floats by sklearn)
y = digits.target.astype(int)    # (1797,), values 0..9
assert (digits.data == X).all() and X.min() >= 0 and X.max() <= 16
with open(out, "w", newline="\n") as f:
    for row, label in zip(X, y):
        f.write(",".join(str(v) for v in row) + "," + str(label) + "\n")
print(f"wrote {out}: {X.shape[0]} rows, {X.shape[1] + 1} columns")
