"""fit reaches high accuracy on small problems."""

from __future__ import annotations

import numpy as np
import pytest

from swann import Net

from conftest import DIGITS


def blobs(rng, n_per_class=150, classes=4, dim=6):
    centers = rng.standard_normal((classes, dim)) * 3.0
    x = np.concatenate([c + rng.standard_normal((n_per_class, dim)) for c in centers])
    y = np.repeat(np.arange(classes), n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]


def test_fit_blobs_reaches_high_accuracy(rng):
    x, y = blobs(rng)
    split = int(0.8 * len(y))
    net = Net({"input": 6, "layers": [{"units": 32, "activation": "relu"}, {"units": 4, "activation": "softmax"}],
               "loss": "cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 1}, max_batch=64)
    h = net.fit(x[:split], y[:split], epochs=15, batch_size=32, validation=(x[split:], y[split:]),
                progress=False, seed=0)
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] >= 0.95
    acc = np.mean(net.predict(x[split:]).argmax(axis=1) == y[split:])
    assert acc == pytest.approx(h["val_accuracy"][-1])


def test_fit_xor_with_binary_cross_entropy(rng):
    x = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.float32)
    net = Net({"input": 2, "layers": [{"units": 16, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}],
               "loss": "binary_cross_entropy", "optimizer": {"type": "adam", "lr": 0.03}, "seed": 2}, max_batch=32)
    h = net.fit(x, y, epochs=60, batch_size=32, validation=(x, y), progress=False, seed=0)
    assert h["val_accuracy"][-1] >= 0.93


def test_fit_regression_with_sgd_momentum(rng):
    x = rng.uniform(-1, 1, (300, 3)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    net = Net({"input": 3, "layers": [{"units": 32, "activation": "tanh"}, {"units": 1, "activation": "identity"}],
               "loss": "mse", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "seed": 3}, max_batch=32)
    h = net.fit(x, y, epochs=40, batch_size=16, validation=(x, y), progress=False, seed=0)
    assert h["val_loss"][-1] < 0.1 * h["val_loss"][0]
    assert h["val_loss"][-1] < 0.01


@pytest.mark.skipif(not DIGITS.exists(), reason="examples/data/digits.csv is missing")
def test_fit_digits():
    data = np.loadtxt(DIGITS, delimiter=",", dtype=np.int64)
    x, y = (data[:, :64] / 16.0).astype(np.float32), data[:, 64]
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    split = int(0.8 * len(y))
    net = Net({"input": 64, "layers": [{"units": 128, "activation": "relu"}, {"units": 64, "activation": "relu"},
                                       {"units": 10, "activation": "softmax"}],
               "loss": "cross_entropy", "optimizer": {"type": "adam", "lr": 1e-3}, "seed": 0}, max_batch=128)
    h = net.fit(x[:split], y[:split], epochs=10, batch_size=32, validation=(x[split:], y[split:]),
                progress=False, seed=0)
    assert h["val_accuracy"][-1] >= 0.95
