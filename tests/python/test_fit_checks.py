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
