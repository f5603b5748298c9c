"""net.flush_subnormals: on by default, subnormal operands read as zero inside
swann's calls; off, IEEE subnormals; either way Python's own arithmetic is untouched."""
import numpy as np

import swann

SPEC = {"input": 2, "layers": [{"units": 1, "activation": "identity"}], "loss": "mse", "seed": 1}


def _net_with_subnormal_weight() -> swann.Net:
    net = swann.Net(SPEC, max_batch=1)
    net.params[:] = np.array([1e-39, 0.0, 0.0], dtype=np.float32)  # w0 subnormal, w1 0, bias 0
    return net


def test_default_is_on_and_flushes():
    net = _net_with_subnormal_weight()
    assert net.flush_subnormals is True
    y = net.forward(np.array([[1.0, 0.0]], dtype=np.float32))
    assert y[0, 0] == 0.0  # DAZ: the subnormal weight reads as 0


def test_off_gives_ieee_subnormals():
    net = _net_with_subnormal_weight()
    net.flush_subnormals = False
    assert net.flush_subnormals is False
    y = net.forward(np.array([[1.0, 0.0]], dtype=np.float32))
    assert y[0, 0] == np.float32(1e-39)
    net.flush_subnormals = True
    assert net.forward(np.array([[1.0, 0.0]], dtype=np.float32))[0, 0] == 0.0


def test_host_arithmetic_keeps_subnormals():
    net = _net_with_subnormal_weight()
    net.forward(np.array([[1.0, 0.0]], dtype=np.float32))
    tiny = np.float32(1e-38) * np.float32(0.01)  # numpy in this thread, after a swann call
    assert tiny != 0.0 and tiny < np.finfo(np.float32).tiny
