"""Nets in memory: net.to_bytes() is exactly what net.save() writes,
Net.from_bytes() gives the net Net.load() gives (parameters, optimizer state,
step count, spec), and pickling and copy.deepcopy go through them."""
import copy
import pickle

import numpy as np
import pytest

import swann
from swann import Status, SwannError

from conftest import small_spec

OPTIMIZERS = [
    {"type": "sgd", "lr": 0.1},
    {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
    {"type": "adam", "lr": 0.01, "amsgrad": True},
    {"type": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True},
]


def _train(net: swann.Net, seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.uniform(-1, 1, size=(8, 4)).astype(np.float32)
        net.forward(x)
        net.backward(rng.integers(0, 3, size=8))
        net.step()


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: o["type"] + ("+state" if len(o) > 2 else ""))
def test_bytes_are_the_file_and_load_back_to_the_same_net(tmp_path, opt):
    net = swann.Net(small_spec(optimizer=opt), max_batch=8)
    _train(net, 1, 3)
    path = tmp_path / "m.safetensors"
    net.save(path)
    b = net.to_bytes()
    assert isinstance(b, bytes)
    assert b == path.read_bytes()
    back, from_file = swann.Net.from_bytes(b, max_batch=8), swann.Net.load(path, max_batch=8)
    assert np.array_equal(back.params, net.params) and np.array_equal(back.params, from_file.params)
    assert back.spec == from_file.spec
    assert back.to_bytes() == b  # optimizer state and step count included
    for n in (net, back, from_file):
        _train(n, 2, 2)
    assert np.array_equal(back.params, net.params) and np.array_equal(back.params, from_file.params)


def test_from_bytes_takes_bytes_like_and_copies(spec):
    net = swann.Net(spec, max_batch=4)
    buf = bytearray(net.to_bytes())
    back = swann.Net.from_bytes(memoryview(buf), max_batch=2)
    buf[:] = b"\0" * len(buf)  # the net holds its own copy
    assert np.array_equal(back.params, net.params)
    assert back.max_batch == 2


def test_from_bytes_refuses_bad_bytes(spec):
    good = swann.Net(spec, max_batch=4).to_bytes()
    for bad in (good[:-1], good[:8], b"\x01" * 40):
        with pytest.raises(SwannError) as info:
            swann.Net.from_bytes(bad, max_batch=4)
        assert info.value.status == Status.SWANN_E_FORMAT
        assert str(info.value).startswith("load_buffer: ")
    with pytest.raises(SwannError) as info:
        swann.Net.from_bytes(b"", max_batch=4)
    assert info.value.status == Status.SWANN_E_ARG
    with pytest.raises(SwannError) as info:
        swann.Net.from_bytes(good, max_batch=0)
    assert info.value.status == Status.SWANN_E_ARG
    with pytest.raises(TypeError):
        swann.Net.from_bytes("not bytes", max_batch=4)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        swann.Net.from_bytes(5, max_batch=4)  # type: ignore[arg-type]


def test_to_bytes_refuses_non_finite(spec):
    net = swann.Net(spec, max_batch=4)
    net.params[0] = np.nan
    with pytest.raises(SwannError) as info:
        net.to_bytes()
    assert info.value.status == Status.SWANN_E_NUMERIC
    net.close()
    with pytest.raises(ValueError):
        net.to_bytes()


def test_pickle_and_deepcopy_give_independent_nets():
    net = swann.Net(small_spec(optimizer={"type": "adam", "lr": 0.01}), max_batch=8)
    _train(net, 3, 2)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert other is not net and other.max_batch == 8
        assert other.to_bytes() == net.to_bytes()
        other.params[0] += 1.0  # its own arena
        assert other.params[0] != net.params[0]
    with pytest.raises(TypeError, match="deepcopy"):
        copy.copy(net)
