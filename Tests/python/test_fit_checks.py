"""fit checks its data before the first step and says which array and row is wrong."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from swann import Net, Status, SwannError

from conftest import small_spec


def one_output(loss: str = "mse", activation: str = "identity") -> Net:
    return Net(small_spec(loss=loss, layers=[{"units": 8, "activation": "tanh"},
                                             {"units": 1, "activation": activation}]), max_batch=8)


def refused(status: Status, net: Net, *args: Any, **kw: Any) -> str:
    """fit refuses with `status` and leaves parameters and gradients as they were."""
    before = net.params.copy()
    with pytest.raises(SwannError) as info:
        net.fit(*args, progress=False, **kw)
    assert info.value.status == status, repr(info.value)
    assert np.array_equal(net.params, before), "a step ran before the refusal"
    assert not net.grads.any()
    return str(info.value)


def test_fit_row_mismatch_names_x_and_y():
    net = one_output()
    msg = refused(Status.SWANN_E_SHAPE, net, np.zeros((10, 4)), np.zeros(9))
    assert msg == "fit: x has 10 rows, y has 9"
    msg = refused(Status.SWANN_E_SHAPE, net, np.zeros((10, 4)), np.zeros(10),
                  validation=(np.zeros((6, 4)), np.zeros(5)))
    assert msg == "fit: validation x has 6 rows, validation y has 5"
    labels = Net(small_spec(), max_batch=8)
    msg = refused(Status.SWANN_E_SHAPE, labels, np.zeros((10, 4)), np.zeros(11, np.int64))
    assert msg == "fit: x has 10 rows, y has 11"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", ["x", "y", "validation x", "validation y"])
def test_fit_refuses_non_finite_data_before_any_step(which, bad, rng):
    net = one_output()
    x = rng.standard_normal((200, 4))
    y = rng.standard_normal(200)
    vx = rng.standard_normal((30, 4))
    vy = rng.standard_normal(30)
    arrays = {"x": x, "y": y, "validation x": vx, "validation y": vy}
    row = 150 if which in ("x", "y") else 17
    a = arrays[which]
    a[(row, 2) if a.ndim == 2 else row] = bad
    col = 2 if a.ndim == 2 else 0
    msg = refused(Status.SWANN_E_NUMERIC, net, x, y, batch_size=8, validation=(vx, vy), shuffle=False)
    name = {np.nan: "NaN", np.inf: "Inf", -np.inf: "-Inf"}[bad]
    assert msg == "fit: %s has %s at row %d, column %d" % (which, name, row, col)


def test_fit_reports_the_first_bad_row(rng):
    net = Net(small_spec(), max_batch=8)
    x = rng.standard_normal((50, 4))
    x[40, 0] = np.nan
    x[9, 3] = np.inf
    msg = refused(Status.SWANN_E_NUMERIC, net, x, rng.integers(0, 3, 50))
    assert msg == "fit: x has Inf at row 9, column 3"


BCE = "binary_cross_entropy expects targets in [0, 1]"
CE = "cross_entropy expects class indices (1-D integers) or non-negative (soft) labels"


@pytest.mark.parametrize("labels, row, shown", [
    (lambda y: y + 1, 0, "2"),                 # labels 1/2: trained to negative losses, val_accuracy 1.0
    (lambda y: 2 * y - 1, 1, "-1"),            # labels -1/+1
    (lambda y: np.full_like(y, 3.0), 0, "3"),  # a constant 3.0
], ids=["labels 1/2", "labels -1/+1", "constant 3"])
def test_fit_binary_cross_entropy_targets_outside_0_1(labels, row, shown, rng):
    net = one_output("binary_cross_entropy", "sigmoid")
    x = rng.standard_normal((40, 4))
    y = np.array([1, 0] + [1, 0] * 19, np.float64)
    msg = refused(Status.SWANN_E_ARG, net, x, labels(y), validation=(x, y))
    assert msg == "fit: y has %s at row %d, column 0; %s" % (shown, row, BCE)
    vy = y.copy()
    vy[33] = 1.5
    msg = refused(Status.SWANN_E_ARG, net, x, y, validation=(x, vy))
    assert msg == "fit: validation y has 1.5 at row 33, column 0; %s" % BCE
    soft = np.clip(y, 0.1, 0.9)   # soft targets inside [0, 1] train
    h = net.fit(x, soft, epochs=1, batch_size=8, validation=(x, y), progress=False)
    assert np.isfinite(h["loss"][0]) and h["loss"][0] > 0


def test_fit_cross_entropy_labels(rng):
    net = Net(small_spec(), max_batch=8)
    x = rng.standard_normal((20, 4))
    labels = rng.integers(0, 3, 20)
    labels[12] = 3
    msg = refused(Status.SWANN_E_ARG, net, x, labels)
    assert msg == "fit: y has class label 3 at row 12; cross_entropy expects class indices in 0...2"
    labels[12] = -1
    msg = refused(Status.SWANN_E_ARG, net, x, rng.integers(0, 3, 20), validation=(x, labels))
    assert msg == "fit: validation y has class label -1 at row 12; cross_entropy expects class indices in 0...2"
    soft = np.full((20, 3), 1 / 3)
    soft[5] = [1.2, -0.2, 0.0]
    msg = refused(Status.SWANN_E_ARG, net, x, soft)
    assert msg == "fit: y has -0.2 at row 5, column 1; %s" % CE
    soft[5] = [0.5, 0.5, 0.0]   # non-negative soft labels train
    h = net.fit(x, soft, epochs=1, batch_size=8, validation=(x, soft), progress=False)
    assert np.isfinite(h["loss"][0]) and 0 <= h["val_accuracy"][0] <= 1


def test_fit_seed_none_is_documented_as_differing_between_runs(rng):
    doc = " ".join(Net.fit.__doc__.split())
    assert "None (the default) takes fresh OS entropy, so the order and the result differ from run to run" in doc
    x = rng.standard_normal((32, 4))
    labels = rng.integers(0, 3, 32)

    def trained(seed):
        net = Net(small_spec(), max_batch=8)
        net.fit(x, labels, epochs=2, batch_size=4, progress=False, seed=seed)
        return net.params.copy()

    assert np.array_equal(trained(3), trained(3))
    assert not np.array_equal(trained(None), trained(None))  # 32! orders: a repeat is not a concern
