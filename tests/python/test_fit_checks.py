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
