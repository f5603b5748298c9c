"""swann.Model: a read-only model served to many Python threads, one session
each. predict gives net.forward's bits whatever the batch, the chunking or the
thread; bytes, files and pickles round-trip; bad input raises the binding's
errors with the C message; closing with sessions alive (on other threads,
running or not) frees everything safely."""
import copy
import ctypes
import gc
import pickle
import threading

import numpy as np
import pytest

import swann
from swann import Status, SwannError, _core

from conftest import small_spec

pytestmark = pytest.mark.skipif(_core.lib.session_run is None,
                                reason="this libswann has no swann_model_* / swann_session_* calls")

WIDE = {"input": 32, "layers": [{"units": 64, "activation": "relu"}, {"units": 48, "activation": "tanh"},
                                {"units": 5, "activation": "softmax"}],
        "loss": "cross_entropy", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "seed": 3}


def _trained(spec, steps=3, max_batch=64):
    net = swann.Net(spec, max_batch=max_batch)
    rng = np.random.default_rng(5)
    for _ in range(steps):
        net.forward(rng.uniform(-1, 1, size=(16, net.input_size)).astype(np.float32))
        net.backward(rng.integers(0, net.output_size, size=16))
        net.step()
    return net


def _rows(n, width, seed=11):
    return np.random.default_rng(seed).uniform(-2, 2, size=(n, width)).astype(np.float32)


def _forward_rows(net, x):
    """net.forward one row at a time: the reference every batch must equal."""
    return np.concatenate([net.forward(x[i:i + 1]) for i in range(len(x))])


def test_predict_equals_net_forward_bit_for_bit():
    net = _trained(WIDE)
    x = _rows(64, 32)
    with net.to_model(max_batch=64) as model:
        assert (model.input_size, model.output_size, model.max_batch) == (32, 5, 64)
        for n in (1, 2, 3, 7, 16, 63, 64):
            assert np.array_equal(model.predict(x[:n]), net.forward(x[:n])), n
        assert np.array_equal(model.predict(x[17]), net.forward(x[17:18])[0])  # a 1-D row gives a 1-D row
        assert model.predict(x[17]).shape == (5,)
        assert model.predict(np.empty((0, 32), np.float32)).shape == (0, 5)
        # other dtypes and layouts are converted
        ref = net.forward(x[:9])
        assert np.array_equal(model.predict(x[:9].astype(np.float64)), ref)
        assert np.array_equal(model.predict(np.asfortranarray(x[:9])), ref)
        assert np.array_equal(model.predict(x[:9].tolist()), ref)


def test_a_rows_output_does_not_depend_on_its_batch_or_the_chunking():
    # The contract's batch invariance (deploy.md): predict may split a batch in
    # chunks of max_batch and a session may have any size, with the same bits.
    net = _trained(WIDE)
    x = _rows(200, 32)
    ref = _forward_rows(net, x)
    with net.to_model(max_batch=64) as model:
        for n in (1, 2, 3, 7, 63, 64, 65, 200):  # 65 and 200: chunks of 64
            assert np.array_equal(model.predict(x[:n]), ref[:n]), n


def test_to_model_is_a_snapshot_and_spec_and_sizes_come_from_it():
    net = _trained(WIDE)
    x = _rows(8, 32)
    before = net.predict(x)
    model = net.to_model()
    _trained_more = net.params.copy()
    net.params[:] = 0  # the net changes, the model does not
    assert np.array_equal(model.predict(x), before)
    net.params[:] = _trained_more
    assert model.spec["layers"] == net.spec["layers"]
    assert model.spec["input"] == 32
    assert "swann.Model input_size=32 output_size=5" in repr(model)


def test_one_session_per_thread_grows_with_the_batch():
    model = _trained(WIDE).to_model(max_batch=100)
    x = _rows(300, 32)
    model.predict(x[:1])
    first = model._local.s.ptr
    model.predict(x[:1])
    assert model._local.s.ptr == first  # reused
    model.predict(x[:3])  # a bigger batch: one bigger session replaces the old one
    assert model._local.s.max_batch == 3 and len(model._reg.sessions) == 1
    model.predict(x[:4])  # grows geometrically: 2 x 3
    assert model._local.s.max_batch == 6 and len(model._reg.sessions) == 1
    model.predict(x)  # capped at max_batch; 300 rows run in 3 chunks
    assert model._local.s.max_batch == 100 and len(model._reg.sessions) == 1
    model.close()
    assert model._reg.sessions == {}


def test_eight_threads_at_once_equal_one_thread():
    net = _trained(WIDE)
    model = net.to_model(max_batch=50)
    x = _rows(400, 32, seed=21)
    threads_n = 8
    start = threading.Barrier(threads_n)
    results, errors = {}, []

    def work(k):
        try:
            start.wait()
            got = []
            # each thread walks the rows in its own batch size (threads 0..7:
            # 1, 8, ... 50 rows, so sessions of different sizes run at once)
            step = 1 + 7 * k
            for rep in range(5):
                out = [model.predict(x[a:a + step]) for a in range(0, len(x), step)]
                got.append(np.concatenate(out))
            results[k] = (step, got)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads_n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    for k in range(threads_n):
        step, got = results[k]
        # the same calls on this thread alone
        alone = np.concatenate([model.predict(x[a:a + step]) for a in range(0, len(x), step)])
        for g in got:
            assert np.array_equal(g, alone), k
    model.close()


def test_the_library_is_called_without_the_gil():
    # ctypes.CDLL (not PyDLL) releases the GIL for the whole C call, which is
    # what lets sessions on two Python threads run at the same time.
    cdll = _core.lib.cdll
    assert isinstance(cdll, ctypes.CDLL) and not isinstance(cdll, ctypes.PyDLL)
    assert not (_core.lib.session_run._flags_ & ctypes._FUNCFLAG_PYTHONAPI)


def test_bytes_files_and_nets_round_trip(tmp_path):
    net = _trained(WIDE)
    x = _rows(20, 32)
    ref = net.predict(x)
    model = net.to_model()
    b = model.to_bytes()
    assert isinstance(b, bytes)
    back = swann.Model.from_bytes(b)
    assert np.array_equal(back.predict(x), ref)
    assert back.to_bytes() == b
    # a net's bytes (with optimizer state) load as a model; a model's bytes load as a net
    assert np.array_equal(swann.Model.from_bytes(net.to_bytes()).predict(x), ref)
    again = swann.Net.from_bytes(b, max_batch=32)
    assert np.array_equal(again.params, net.params)
    buf = bytearray(b)
    from_view = swann.Model.from_bytes(memoryview(buf))
    buf[:] = b"\0" * len(buf)  # the model holds its own copy
    assert np.array_equal(from_view.predict(x), ref)
    path = tmp_path / "m.safetensors"
    net.save(path)
    for mapped in (False, True):
        with swann.Model.load(path, map=mapped) as m:
            assert np.array_equal(m.predict(x), ref), mapped
            assert m.spec == model.spec


def test_pickle_and_deepcopy_go_through_bytes():
    net = _trained(WIDE)
    x = _rows(10, 32)
    model = net.to_model(max_batch=7)
    ref = model.predict(x)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert isinstance(other, swann.Model) and other.max_batch == 7
        assert np.array_equal(other.predict(x), ref)
        assert other.to_bytes() == model.to_bytes()
    with pytest.raises(TypeError):
        copy.copy(model)


def test_bad_inputs_raise_with_the_c_message(tmp_path):
    model = _trained(small_spec(), max_batch=16).to_model()
    with pytest.raises(SwannError) as e:
        model.predict(np.zeros((2, 5), np.float32))
    assert e.value.status == Status.SWANN_E_SHAPE and "input_size 4" in str(e.value)
    with pytest.raises(SwannError) as e:
        model.predict(np.zeros((2, 2, 4), np.float32))
    assert e.value.status == Status.SWANN_E_SHAPE
    x = np.zeros((3, 4), np.float32)
    x[2, 1] = np.nan
    with pytest.raises(SwannError) as e:
        model.predict(x)
    assert e.value.status == Status.SWANN_E_NUMERIC and e.value.message  # the library's own text
    with pytest.raises(TypeError):
        model.predict(np.array([["a", "b", "c", "d"]]))
    good = model.to_bytes()
    for bad in (good[:-9], b"x" * 64, good[:8] + b"\xff" * 8 + good[16:]):
        with pytest.raises(SwannError) as e:
            swann.Model.from_bytes(bad)
        assert e.value.status in (Status.SWANN_E_FORMAT, Status.SWANN_E_ARG) and e.value.message
    with pytest.raises(SwannError) as e:
        swann.Model.from_bytes(good[:-9])
    assert e.value.status == Status.SWANN_E_FORMAT
    with pytest.raises(SwannError) as e:
        swann.Model.load(tmp_path / "missing.safetensors")
    assert e.value.status == Status.SWANN_E_IO and e.value.message
    with pytest.raises(SwannError) as e:
        swann.Model.from_bytes(good, max_batch=0)
    assert e.value.status == Status.SWANN_E_ARG
    with pytest.raises(TypeError):
        swann.Model.from_bytes("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        swann.Model()
    model.close()
    model.close()  # again: nothing
    assert model.closed and repr(model) == "<swann.Model (closed)>"
    for call in (lambda: model.predict(np.zeros((1, 4), np.float32)), model.to_bytes, lambda: model.spec,
                 lambda: model.input_size):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_close_with_idle_sessions_on_other_threads():
    model = _trained(WIDE).to_model()
    x = _rows(4, 32)
    made, release = threading.Barrier(5), threading.Event()
    after = []

    def hold():
        model.predict(x)  # makes this thread's session
        made.wait()
        release.wait()
        try:
            model.predict(x)
        except ValueError as e:
            after.append(str(e))

    ts = [threading.Thread(target=hold) for _ in range(4)]
    for t in ts:
        t.start()
    made.wait()
    assert len(model._reg.sessions) == 4
    model.close()  # destroys the four sessions, then the model (no SWANN_E_STATE)
    assert model._reg.sessions == {} and model.closed
    release.set()
    for t in ts:
        t.join()
    assert after == ["predict: the swann.Model is closed"] * 4


def test_close_while_other_threads_are_predicting():
    # close() waits for the C calls in flight, then frees: whatever the timing,
    # every call either returns the right rows or raises ValueError.
    net = _trained(WIDE)
    model = net.to_model(max_batch=64)
    x = _rows(256, 32)
    ref = net.predict(x)
    started = threading.Barrier(5)
    outcomes = []

    def spin():
        started.wait()
        ok = 0
        while True:
            try:
                y = model.predict(x)
            except ValueError:
                outcomes.append(ok)
                return
            assert np.array_equal(y, ref)
            ok += 1

    ts = [threading.Thread(target=spin) for _ in range(4)]
    for t in ts:
        t.start()
    started.wait()
    model.close()
    for t in ts:
        t.join()
    assert len(outcomes) == 4 and model._reg.sessions == {}


def test_a_finished_threads_session_is_freed():
    model = _trained(WIDE).to_model()
    x = _rows(2, 32)
    t = threading.Thread(target=model.predict, args=(x,))
    t.start()
    t.join()
    gc.collect()
    assert model._reg.sessions == {}  # the thread's local (and its session) went with it
    model.predict(x)
    assert len(model._reg.sessions) == 1


def test_collecting_a_model_frees_it_and_its_sessions():
    model = _trained(WIDE).to_model()
    model.predict(_rows(3, 32))
    reg = model._reg
    del model
    gc.collect()
    assert reg.ptr is None and reg.sessions == {}
