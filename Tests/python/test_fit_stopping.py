"""fit's early stopping (best weights restored), per-epoch callback, and the
regression metrics of its history (val_mae, val_r2)."""

from __future__ import annotations

from typing import Dict, List

import numpy as np
import pytest

from swann import Net, Status, SwannError


def regression(rng, n=200):
    x = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    y = np.concatenate([np.sin(2 * x[:, :1]), x[:, 1:2] * x[:, 2:3]], axis=1).astype(np.float32)
    return x, y


def regressor(seed=3) -> Net:
    return Net({"input": 3, "layers": [{"units": 16, "activation": "tanh"}, {"units": 2, "activation": "identity"}],
                "loss": "mse", "optimizer": {"type": "adam", "lr": 0.02}, "seed": seed}, max_batch=32)


def mean_loss(net: Net, x: np.ndarray, t: np.ndarray) -> float:
    """The mean Div over every row, as fit's val_loss (through backward, chunked by max_batch)."""
    total = 0.0
    for s in range(0, len(x), net.max_batch):
        net.forward(x[s:s + net.max_batch])
        total += net.backward(t[s:s + net.max_batch]) * len(x[s:s + net.max_batch])
    net.zero_grad()
    return total / len(x)


def test_early_stopping_restores_the_best_epochs_weights(rng):
    x, y = regression(rng)
    # validating on the negated targets: the better the net fits y, the worse its
    # val_loss, so the best epoch comes early and the loss then rises
    net = regressor()
    seen: List[np.ndarray] = []
    h = net.fit(x, y, epochs=50, batch_size=16, validation=(x, -y), progress=False, seed=0,
                early_stopping=True, patience=3, callback=lambda e, logs: seen.append(net.params.copy()))
    best = int(np.argmin(h["val_loss"]))
    assert len(h["loss"]) < 50                      # it stopped early ...
    assert len(h["loss"]) == best + 3 + 1           # ... patience epochs after the best one
    assert len(seen) == len(h["loss"])
    assert not np.array_equal(seen[-1], seen[best])
    np.testing.assert_array_equal(net.params, seen[best])
    # the restored net's validation loss is the best epoch's
    assert mean_loss(net, x, -y) == pytest.approx(h["val_loss"][best], rel=1e-6)


def test_early_stopping_runs_every_epoch_while_improving(rng):
    x, y = regression(rng)
    net = regressor()
    h = net.fit(x, y, epochs=8, batch_size=16, validation=(x, y), progress=False, seed=0,
                early_stopping=True, patience=5)
    assert len(h["loss"]) == 8
    assert mean_loss(net, x, y) == pytest.approx(min(h["val_loss"]), rel=1e-6)


def test_callback_sees_each_epoch_and_can_stop(rng):
    x, y = regression(rng)
    net = regressor()
    calls: List[tuple] = []

    def cb(epoch: int, logs: Dict[str, float]) -> bool:
        calls.append((epoch, dict(logs)))
        return epoch == 2
    h = net.fit(x, y, epochs=10, batch_size=16, validation=(x, y), progress=False, seed=0, callback=cb)
    assert [e for e, _ in calls] == [0, 1, 2]
    assert len(h["loss"]) == 3
    for e, logs in calls:
        assert set(logs) == {"loss", "val_loss", "val_mae", "val_r2"}
        assert logs["loss"] == h["loss"][e] and logs["val_r2"] == h["val_r2"][e]


def test_val_mae_and_r2_match_the_predictions(rng):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    x, y = regression(rng)
    xv, yv = regression(rng, 80)
    net = regressor()
    h = net.fit(x, y, epochs=30, batch_size=16, validation=(xv, yv), progress=False, seed=0)
    pred = net.predict(xv).astype(np.float64)
    assert h["val_mae"][-1] == pytest.approx(sklearn_metrics.mean_absolute_error(yv, pred), rel=1e-6)
    assert h["val_r2"][-1] == pytest.approx(sklearn_metrics.r2_score(yv, pred), rel=1e-6)
    assert h["val_r2"][-1] > 0.8 and h["val_r2"][-1] > h["val_r2"][0]
    assert len(h["val_mae"]) == len(h["val_r2"]) == 30


def test_classification_history_has_no_regression_metrics(rng):
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    net = Net({"input": 4, "layers": [{"units": 2, "activation": "softmax"}], "loss": "cross_entropy",
               "optimizer": {"type": "adam", "lr": 0.01}, "seed": 1}, max_batch=16)
    h = net.fit(x, y, epochs=2, validation=(x, y), progress=False, seed=0)
    assert set(h) == {"loss", "val_loss", "val_accuracy"}


def test_bad_stopping_arguments_change_nothing(rng):
    x, y = regression(rng, 40)
    net = regressor()
    before = net.params.copy()
    with pytest.raises(SwannError) as e:
        net.fit(x, y, epochs=3, early_stopping=True, progress=False)
    assert e.value.status == Status.SWANN_E_ARG and "fit: early_stopping needs validation" in str(e.value)
    with pytest.raises(SwannError, match="fit: patience 0 must be at least 1"):
        net.fit(x, y, epochs=3, validation=(x, y), early_stopping=True, patience=0, progress=False)
    with pytest.raises(SwannError, match="fit: min_delta"):
        net.fit(x, y, epochs=3, validation=(x, y), early_stopping=True, min_delta=float("nan"), progress=False)
    with pytest.raises(TypeError, match="fit: callback must be callable"):
        net.fit(x, y, epochs=3, callback=42, progress=False)
    np.testing.assert_array_equal(net.params, before)
