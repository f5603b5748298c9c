"""Compact models from Python: model.quantize("f16" | "int8"), model.save(path),
Model.load of compact files. Predictions stay close to the float32 model's,
have the same bits whatever the batch or thread, round-trip through files and
bytes, and the files are plain safetensors (the safetensors package reads them);
bad arguments raise the binding's errors with the C message."""
import json
import struct
import threading

import numpy as np
import pytest

import swann
from swann import Status, SwannError, _core

pytestmark = pytest.mark.skipif(_core.lib.model_quantize is None,
                                reason="this libswann has no swann_model_quantize")

W1 = {"input": 784, "layers": [{"units": 512, "activation": "relu"}, {"units": 256, "activation": "relu"},
                               {"units": 10, "activation": "softmax"}], "loss": "cross_entropy", "seed": 7}


def _model():
    return swann.Net(W1, max_batch=32).to_model(max_batch=32)


def _rows(n, seed=3):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 784)).astype(np.float32)


def _header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


@pytest.mark.parametrize("dtype,tol", [("f16", 1e-3), ("int8", 0.05)])
def test_quantized_predictions_are_close_and_batch_invariant(dtype, tol):
    m32 = _model()
    q = m32.quantize(dtype)
    x = _rows(32)
    y32, y = m32.predict(x), q.predict(x)
    assert y.shape == (32, 10)
    assert np.max(np.abs(y - y32)) <= tol
    assert not np.array_equal(y, y32)  # it really is another model
    # each row's bits depend on the row alone
    rows = np.concatenate([q.predict(x[i:i + 1]) for i in range(32)])
    assert np.array_equal(rows, y)
    # and not on the thread
    out = [None] * 4

    def run(i):
        out[i] = q.predict(x)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(o, y) for o in out)


@pytest.mark.parametrize("dtype,wdtype", [("f16", "F16"), ("int8", "I8")])
def test_save_and_load_round_trip(tmp_path, dtype, wdtype):
    m32 = _model()
    q = m32.quantize(dtype)
    path = tmp_path / ("m-%s.safetensors" % dtype)
    q.save(path)
    h = _header(path)
    assert h["__metadata__"]["swann.weights"] == dtype
    assert h["layers.0.weight"]["dtype"] == wdtype and h["layers.0.weight"]["shape"] == [512, 784]
    assert h["layers.0.bias"]["dtype"] == "F32"
    assert ("layers.0.weight_scale" in h) == (dtype == "int8")
    x = _rows(9)
    want = q.predict(x)
    for kwargs in ({}, {"map": True}):
        with swann.Model.load(path, **kwargs) as back:
            assert np.array_equal(back.predict(x), want)
    assert np.array_equal(swann.Model.from_bytes(q.to_bytes()).predict(x), want)
    assert path.read_bytes() == q.to_bytes()
    # a compact file is not a net
    with pytest.raises(SwannError) as e:
        swann.Net.load(path)
    assert e.value.status == Status.SWANN_E_FORMAT and "as a model" in str(e.value)
    # a float32 model saves a file Net.load reads
    p32 = tmp_path / "m32.safetensors"
    m32.save(p32)
    assert "swann.weights" not in _header(p32)["__metadata__"]
    swann.Net.load(p32)


def test_safetensors_package_reads_compact_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    m32 = _model()
    path = tmp_path / "int8.safetensors"
    q = m32.quantize("int8")
    q.save(path)
    t = st.load_file(str(path))
    w, s = t["layers.0.weight"], t["layers.0.weight_scale"]
    assert w.dtype == np.int8 and w.shape == (512, 784) and s.dtype == np.float32 and s.shape == (512,)
    assert w.min() >= -127 and w.max() <= 127 and np.all(s > 0)
    # the dequantized weights are the float32 ones to within half a step
    p32 = tmp_path / "f32.safetensors"
    m32.save(p32)
    w32 = st.load_file(str(p32))["layers.0.weight"]
    assert np.all(np.abs(w * s[:, None] - w32) <= s[:, None] * 0.5001)
    q.quantize  # noqa: B018 - the model stays usable
    path16 = tmp_path / "f16.safetensors"
    m32.quantize("f16").save(path16)
    h = st.load_file(str(path16))["layers.1.weight"]
    assert h.dtype == np.float16 and np.allclose(h.astype(np.float32), st.load_file(str(p32))["layers.1.weight"],
                                                 rtol=1e-3, atol=1e-7)


def test_bad_arguments_raise():
    m32 = _model()
    with pytest.raises(SwannError) as e:
        m32.quantize("int4")
    assert e.value.status == Status.SWANN_E_ARG and "int4" in str(e.value)
    with pytest.raises(TypeError):
        m32.quantize(8)
    with pytest.raises(SwannError) as e:
        m32.quantize("f16").quantize("int8")
    assert e.value.status == Status.SWANN_E_ARG
    m32.close()
    with pytest.raises(ValueError):
        m32.quantize("f16")
    with pytest.raises(ValueError):
        m32.save("/tmp/never.safetensors")
