"""Every public name of the swann package and every error path."""

from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import pytest

import swann
from swann import Net, Status, SwannError

from conftest import last_error, small_spec


def expect(status: Status, fn, *args, **kwargs) -> SwannError:
    with pytest.raises(SwannError) as info:
        fn(*args, **kwargs)
    e = info.value
    assert e.status == status, (e.name, str(e))
    assert e.name == status.name
    assert str(e) and str(e) == e.message
    return e


# ---- module ------------------------------------------------------------------

def test_module_information():
    assert isinstance(swann.__version__, str)
    major = int(swann.library_version.split(".")[0])
    assert major in (0, 1)
    assert swann.library_path.endswith(".so") or ".so." in swann.library_path
    assert set(swann.__all__) >= {"Net", "SwannError", "Status"}


def test_status_names_match_the_library():
    from swann._core import lib
    for s in Status:
        assert lib.status_name(int(s)).decode() == s.name
    assert lib.status_name(99).decode() == "SWANN_E_UNKNOWN"
    e = SwannError(99, "odd")
    assert e.status == 99 and e.name == "SWANN_E_UNKNOWN"
    assert "SWANN_E_UNKNOWN" in repr(e)


def test_public_names_have_docstrings_and_hints():
    import inspect
    for obj in (swann, Net, SwannError, Status):
        assert obj.__doc__
    for name, member in inspect.getmembers(Net):
        if name.startswith("_"):
            continue
        assert member.__doc__ or getattr(Net, name).__doc__, name
        fn = member.fget if isinstance(member, property) else member
        if callable(fn):
            hints = getattr(fn, "__annotations__", {})
            assert "return" in hints, name


# ---- creation and spec ---------------------------------------------------------

def test_create_from_dict_json_and_bytes(spec):
    a = Net(spec, max_batch=4)
    b = Net(json.dumps(spec), max_batch=4)
    c = Net(json.dumps(spec).encode(), max_batch=4)
    for n in (a, b, c):
        assert n.input_size == 4 and n.output_size == 3
        assert n.param_count == 4 * 8 + 8 + 8 * 3 + 3
        assert n.max_batch == 4
    # same spec and seed: bit-identical parameters
    assert np.array_equal(a.params, b.params) and np.array_equal(a.params, c.params)


def test_spec_is_canonical_dict(net, spec):
    s = net.spec
    assert s["input"] == 4 and s["loss"] == "cross_entropy" and s["seed"] == 7
    assert [l["units"] for l in s["layers"]] == [8, 3]
    assert s["optimizer"]["type"] == "sgd" and s["optimizer"]["lr"] == pytest.approx(0.1)
    # defaults are filled in (momentum, ...), and a fresh dict every time
    assert len(s["optimizer"]) > 2
    s["input"] = 99
    assert net.spec["input"] == 4
    # the canonical spec builds the same net
    again = Net(net.spec, max_batch=2)
    assert np.array_equal(again.params, net.params)


def test_spec_with_numpy_scalars(spec):
    spec["input"] = np.int64(4)
    spec["optimizer"]["lr"] = np.float32(0.5)
    assert Net(spec, max_batch=2).input_size == 4


def test_optimizer_default_is_sgd():
    s = small_spec()
    del s["optimizer"]
    opt = Net(s, max_batch=1).spec["optimizer"]
    assert opt["type"] == "sgd" and opt["lr"] == pytest.approx(0.01)


@pytest.mark.parametrize("bad", [
    "{",                                         # JSON syntax
    "[]",                                        # not an object
    '{"input": 4}',                              # layers, loss missing
    json.dumps(small_spec(lossy="mse")),         # unknown key
    json.dumps(small_spec(loss="hinge")),        # unknown value
    json.dumps(small_spec(layers=[])),           # no layers
    json.dumps(small_spec(layers=[{"units": 0, "activation": "relu"}])),
    json.dumps(small_spec(layers=[{"units": 3, "activation": "swish"}])),
    json.dumps(small_spec(layers=[{"units": 3, "activation": "relu", "alpha": 0.1}])),
    json.dumps(small_spec(input=-1)),
    json.dumps(small_spec(optimizer={"type": "sgd", "lr": -1})),
    json.dumps(small_spec(optimizer={"type": "lbfgs"})),
    json.dumps(small_spec(init="orthogonal")),
    '{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"} trailing',
    "",
])
def test_bad_spec_is_spec_error(bad):
    e = expect(Status.SWANN_E_SPEC, Net, bad, max_batch=4)
    assert str(e) == last_error()
    assert str(e).startswith("spec")


def test_spec_with_nul_is_spec_error(spec):
    text = json.dumps(spec) + "\0garbage"
    expect(Status.SWANN_E_SPEC, Net, text, max_batch=4)


def test_spec_of_wrong_type():
    with pytest.raises(TypeError):
        Net(42, max_batch=4)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Net({"input": object()}, max_batch=4)


@pytest.mark.parametrize("mb", [0, 1 << 40, (1 << 64) - 1, 1 << 64, -1])
def test_bad_max_batch_is_arg_error(spec, mb):
    e = expect(Status.SWANN_E_ARG, Net, spec, max_batch=mb)
    assert "max_batch" in str(e)


def test_max_batch_must_be_an_integer(spec):
    with pytest.raises(TypeError):
        Net(spec, max_batch=2.5)  # type: ignore[arg-type]


def test_huge_net_is_refused_cleanly():
    s = small_spec(input=1 << 20, layers=[{"units": 1 << 20, "activation": "relu"}], loss="mse")
    with pytest.raises(SwannError) as info:
        Net(s, max_batch=1)
    assert info.value.status in (Status.SWANN_E_SPEC, Status.SWANN_E_ARG, Status.SWANN_E_NOMEM)


def test_net_cannot_be_shallow_copied(net):
    import copy
    with pytest.raises(TypeError, match="deepcopy"):
        copy.copy(net)   # pickling and deepcopy: test_bytes.py
    with pytest.raises(TypeError):
        copy.deepcopy(net.params.base)   # the view's base holds the handle
    assert np.array_equal(copy.deepcopy(net.params), net.params)  # arrays copy as data


def test_repr(net):
    assert "input_size=4" in repr(net)
    net.close()
    assert "closed" in repr(net)


# ---- forward -------------------------------------------------------------------

def test_forward_shapes_and_types(net, rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == (5, 3) and y.dtype == np.float32 and y.flags.c_contiguous
    assert np.allclose(y.sum(axis=1), 1.0, atol=1e-5)
    # list, float64, Fortran order, strided, read-only: all converted, same answer
    assert np.array_equal(net.forward(x.tolist()), y)
    assert np.allclose(net.forward(x.astype(np.float64)), y)
    assert np.array_equal(net.forward(np.asfortranarray(x)), y)
    big = np.zeros((10, 8), np.float32)
    big[::2, ::2] = x
    assert np.array_equal(net.forward(big[::2, ::2]), y)
    ro = x.copy()
    ro.setflags(write=False)
    assert np.array_equal(net.forward(ro), y)
    be = x.astype(">f4")
    assert np.array_equal(net.forward(be), y)
    assert np.array_equal(net.forward(x.astype(np.int32)), net.forward(x.astype(np.int32).astype(np.float32)))


def test_forward_does_not_copy_float32_input(net, monkeypatch):
    import swann._core as core
    calls = []
    real = core._as_f32
    monkeypatch.setattr(core, "_as_f32", lambda a: calls.append(a) or real(a))
    net.forward(np.zeros((2, 4), np.float32))
    assert calls == []
    net.forward(np.zeros((2, 4), np.float64))
    assert len(calls) == 1


@pytest.mark.parametrize("shape", [(3, 5), (3, 3), (4,), (2, 2, 4), (4, 1), ()])
def test_forward_wrong_shape(net, shape):
    e = expect(Status.SWANN_E_SHAPE, net.forward, np.zeros(shape, np.float32))
    assert "input_size 4" in str(e)
    if shape == (4,):
        assert "reshape(1, -1)" in str(e)


def test_forward_batch_zero_and_above_max(net):
    expect(Status.SWANN_E_SHAPE, net.forward, np.zeros((0, 4), np.float32))
    e = expect(Status.SWANN_E_SHAPE, net.forward, np.zeros((17, 4), np.float32))
    assert "17" in str(e) and "16" in str(e)
    assert net.forward(np.zeros((16, 4), np.float32)).shape == (16, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_forward_non_finite_is_numeric(net, bad):
    x = np.zeros((3, 4), np.float32)
    x[1, 2] = bad
    e = expect(Status.SWANN_E_NUMERIC, net.forward, x)
    assert str(e) == last_error()
    assert "forward" in str(e)


def test_forward_non_numeric_input(net):
    with pytest.raises(TypeError):
        net.forward([["a", "b", "c", "d"]])
    with pytest.raises((TypeError, ValueError)):
        net.forward([[1, 2], [3]])


def test_failed_forward_keeps_last_rows(net, rng):
    x = rng.standard_normal((3, 4))
    net.forward(x)
    bad = np.full((5, 4), np.nan)
    expect(Status.SWANN_E_NUMERIC, net.forward, bad)
    # backward still refers to the 3 rows of the last successful forward
    assert np.isfinite(net.backward([0, 1, 2]))
    expect(Status.SWANN_E_SHAPE, net.backward, [0, 1, 2, 0, 1])


# ---- backward -------------------------------------------------------------------

def test_backward_before_forward_is_state(net):
    e = expect(Status.SWANN_E_STATE, net.backward, np.zeros((2, 3), np.float32))
    assert str(e) == last_error()
    expect(Status.SWANN_E_STATE, net.backward_grad, np.zeros((2, 3), np.float32))


def test_backward_returns_loss_and_dx(net, rng):
    x = rng.standard_normal((4, 4))
    y = net.forward(x)
    t = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    loss = net.backward(t)
    assert isinstance(loss, float)
    assert loss == pytest.approx(float(np.mean(-np.log(y[np.arange(4), [0, 1, 2, 0]]))), rel=1e-5)
    loss2, dx = net.backward(t, return_dx=True)
    assert loss2 == loss and dx.shape == (4, 4) and dx.dtype == np.float32


def test_integer_labels_are_one_hot(spec, rng):
    x = rng.standard_normal((6, 4))
    labels = np.array([0, 2, 1, 1, 0, 2])
    a, b = Net(spec, max_batch=8), Net(spec, max_batch=8)
    a.forward(x)
    b.forward(x)
    la = a.backward(labels)
    lb = b.backward(np.eye(3)[labels])
    assert la == lb
    assert np.array_equal(a.grads, b.grads)
    a.forward(x)
    assert a.backward(labels.tolist()) == la
    assert a.backward(labels.astype(np.uint8)) == la


def test_label_out_of_range(net):
    net.forward(np.zeros((2, 4)))
    e = expect(Status.SWANN_E_ARG, net.backward, np.array([0, 3]))
    assert "3" in str(e)
    expect(Status.SWANN_E_ARG, net.backward, np.array([-1, 0]))
    assert not net.grads.any()


def test_float_labels_need_two_dimensions(net):
    net.forward(np.zeros((2, 4)))
    e = expect(Status.SWANN_E_SHAPE, net.backward, np.array([0.0, 1.0]))
    assert "integer class labels" in str(e)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (2,), (2, 3, 1)])
def test_backward_wrong_shape(net, shape):
    net.forward(np.zeros((2, 4)))
    expect(Status.SWANN_E_SHAPE, net.backward, np.zeros(shape, np.float32))
    assert not net.grads.any()


def test_backward_non_finite_target_accumulates_nothing(net, rng):
    net.forward(rng.standard_normal((3, 4)))
    t = np.eye(3, dtype=np.float32)
    t[1, 1] = np.nan
    e = expect(Status.SWANN_E_NUMERIC, net.backward, t)
    assert str(e) == last_error()
    assert not net.grads.any()
    expect(Status.SWANN_E_STATE, net.step)   # nothing was accumulated


def test_backward_with_loss_none_is_state():
    n = Net(small_spec(loss="none"), max_batch=4)
    n.forward(np.random.default_rng(0).standard_normal((2, 4)))
    e = expect(Status.SWANN_E_STATE, n.backward, np.zeros((2, 3)))
    assert "backward_grad" in str(e)
    assert n.backward_grad(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])) is None
    assert n.grads.any()
    n.step()


def test_backward_grad(net, rng):
    net.forward(rng.standard_normal((2, 4)))
    dx = net.backward_grad(np.ones((2, 3)), return_dx=True)
    assert dx is not None and dx.shape == (2, 4)
    expect(Status.SWANN_E_SHAPE, net.backward_grad, np.ones((3, 3)))
    expect(Status.SWANN_E_SHAPE, net.backward_grad, np.ones((2, 2)))
    expect(Status.SWANN_E_SHAPE, net.backward_grad, np.ones(3))
    g = np.ones((2, 3))
    g[0, 0] = np.inf
    before = net.grads.copy()
    expect(Status.SWANN_E_NUMERIC, net.backward_grad, g)
    assert np.array_equal(net.grads, before)


def test_backward_twice_accumulates(net, rng):
    net.forward(rng.standard_normal((3, 4)))
    net.backward([0, 1, 2])
    once = net.grads.copy()
    net.backward([0, 1, 2])
    assert np.allclose(net.grads, 2 * once, rtol=1e-6, atol=1e-7)
    net.step()
    # the rows stay available after a step
    net.backward([0, 1, 2])
    net.step()


# ---- step, zero_grad -------------------------------------------------------------

def test_step_without_gradients_is_state(net):
    e = expect(Status.SWANN_E_STATE, net.step)
    assert str(e) == last_error()


def test_step_changes_params_and_zeroes_grads(net, rng):
    before = net.params.copy()
    net.forward(rng.standard_normal((4, 4)))
    net.backward([0, 1, 2, 1])
    assert net.grads.any()
    net.step()
    assert not np.array_equal(net.params, before)
    assert not net.grads.any()
    expect(Status.SWANN_E_STATE, net.step)


def test_training_without_touching_the_views_matches(spec, rng):
    # A Net asks the library for the params/grads addresses only when .params or
    # .grads is first read; until then the library's step takes its shortcuts
    # (swann.h). Both ways must train bit for bit alike, and the gradient must
    # read as zero after a step either way.
    lazy, eager = Net(spec, max_batch=4), Net(spec, max_batch=4)
    eager.params, eager.grads  # hands both addresses out at once
    for _ in range(20):
        x = rng.standard_normal((4, 4))
        for n in (lazy, eager):
            n.forward(x)
            n.backward([0, 1, 2, 1])
            n.backward([2, 1, 0, 0])
            n.step()
    x = rng.standard_normal((4, 4))
    assert np.array_equal(lazy.forward(x), eager.forward(x))
    assert np.array_equal(lazy.params, eager.params)
    assert not lazy.grads.any() and not eager.grads.any()
    lazy.backward([0, 1, 2, 1])
    eager.backward([0, 1, 2, 1])
    assert np.array_equal(lazy.grads, eager.grads) and lazy.grads.any()


def test_zero_grad(net, rng):
    net.forward(rng.standard_normal((4, 4)))
    net.backward([0, 1, 2, 1])
    net.zero_grad()
    assert not net.grads.any()
    expect(Status.SWANN_E_STATE, net.step)
    net.zero_grad()  # harmless when already zero


def test_step_with_non_finite_gradient_is_refused(net, rng):
    net.forward(rng.standard_normal((4, 4)))
    net.backward([0, 1, 2, 1])
    net.grads[5] = np.nan
    params = net.params.copy()
    grads = net.grads.copy()
    e = expect(Status.SWANN_E_NUMERIC, net.step)
    assert str(e) == last_error()
    assert np.array_equal(net.params, params)
    assert np.array_equal(net.grads, grads, equal_nan=True)
    net.zero_grad()
    net.forward(rng.standard_normal((4, 4)))
    net.backward([0, 1, 2, 1])
    net.step()


# ---- params and grads --------------------------------------------------------------

def test_params_are_live_views(net, rng):
    p = net.params
    assert p.shape == (net.param_count,) and p.dtype == np.float32
    assert p.flags.writeable and not p.flags.owndata
    assert p.base.net is net
    x = rng.standard_normal((2, 4))
    y0 = net.forward(x)
    p[:] = 0
    assert not net.params.any()
    y = net.forward(x)
    assert np.allclose(y, 1.0 / 3.0)
    assert not np.array_equal(y, y0)
    # a second view sees the same memory
    q = net.params
    q[-1] = 5.0
    assert p[-1] == 5.0
    g = net.grads
    net.forward(x)
    net.backward([0, 1])
    assert g.any() and np.array_equal(g, net.grads)
    assert g.base.net is net


def test_params_view_keeps_net_alive(spec, rng):
    n = Net(spec, max_batch=4)
    ref = weakref.ref(n)
    p = n.params
    expected = p.copy()
    del n
    gc.collect()
    assert ref() is not None           # the view holds the net
    assert np.array_equal(p, expected)
    p[0] += 1.0
    assert p.base.net.params[0] == expected[0] + 1.0
    del p
    gc.collect()
    assert ref() is None               # and lets it go


def test_view_survives_close(spec):
    n = Net(spec, max_batch=4)
    p = n.params
    expected = p.copy()
    n.close()
    with pytest.raises(ValueError):
        n.params
    gc.collect()
    assert np.array_equal(p, expected)  # still valid memory, freed with the view
    p[:] = 1.0


def test_net_is_freed_when_collected(spec):
    import swann._core as core
    destroyed = []
    real = core._Handle.__del__

    def spy(self, *a):
        destroyed.append(self.ptr)
        real(self)

    core._Handle.__del__ = spy
    try:
        n = Net(spec, max_batch=4)
        del n
        gc.collect()
        assert len(destroyed) == 1 and destroyed[0]
        with Net(spec, max_batch=4) as m:
            m.forward(np.zeros((1, 4)))
        assert len(destroyed) == 2
    finally:
        core._Handle.__del__ = real


def test_many_nets_do_not_leak(spec):
    import resource
    for _ in range(50):
        Net(spec, max_batch=1024).forward(np.zeros((1, 4)))
    gc.collect()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(300):
        Net(spec, max_batch=1024).forward(np.zeros((1, 4)))
    gc.collect()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert rss1 - rss0 < 20 * 1024  # KiB; 300 leaked arenas would be far more


# ---- close and context manager --------------------------------------------------------

CALLS = [
    ("forward", lambda n: n.forward(np.zeros((1, 4)))),
    ("backward", lambda n: n.backward(np.zeros((1, 3)))),
    ("backward_grad", lambda n: n.backward_grad(np.zeros((1, 3)))),
    ("step", lambda n: n.step()),
    ("zero_grad", lambda n: n.zero_grad()),
    ("predict", lambda n: n.predict(np.zeros((1, 4)))),
    ("fit", lambda n: n.fit(np.zeros((2, 4)), [0, 1], progress=False)),
    ("save", lambda n: n.save("/tmp/never-written.safetensors")),
    ("params", lambda n: n.params),
    ("grads", lambda n: n.grads),
    ("spec", lambda n: n.spec),
    ("input_size", lambda n: n.input_size),
    ("output_size", lambda n: n.output_size),
    ("param_count", lambda n: n.param_count),
    ("max_batch", lambda n: n.max_batch),
]


@pytest.mark.parametrize("name,call", CALLS, ids=[c[0] for c in CALLS])
def test_calls_after_close_raise(spec, name, call):
    n = Net(spec, max_batch=4)
    n.forward(np.zeros((1, 4)))
    n.close()
    assert n.closed
    with pytest.raises(ValueError, match="closed"):
        call(n)


def test_close_is_idempotent_and_context_manager(spec):
    with Net(spec, max_batch=4) as n:
        assert not n.closed
        n.forward(np.zeros((1, 4)))
    assert n.closed
    n.close()
    n.close()
    with pytest.raises(ValueError):
        with n:
            pass


def test_context_manager_closes_on_error(spec):
    with pytest.raises(SwannError):
        with Net(spec, max_batch=4) as n:
            n.step()
    assert n.closed


# ---- predict ----------------------------------------------------------------------

@pytest.mark.parametrize("rows", [0, 1, 16, 17, 53])
def test_predict_any_number_of_rows(net, rng, rows):
    x = rng.standard_normal((rows, 4)).astype(np.float32)
    y = net.predict(x)
    assert y.shape == (rows, 3) and y.dtype == np.float32
    for s in range(0, rows, 16):
        assert np.array_equal(y[s:s + 16], net.forward(x[s:s + 16]))


def test_predict_errors(net):
    expect(Status.SWANN_E_SHAPE, net.predict, np.zeros((3, 5)))
    expect(Status.SWANN_E_SHAPE, net.predict, np.zeros(4))
    x = np.zeros((40, 4))
    x[33, 0] = np.nan
    expect(Status.SWANN_E_NUMERIC, net.predict, x)


# ---- fit --------------------------------------------------------------------------

def test_fit_history_and_validation(spec, rng):
    x = rng.standard_normal((40, 4))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    n = Net(spec, max_batch=16)
    h = n.fit(x, labels, epochs=3, batch_size=8, validation=(x[:10], labels[:10]), progress=False, seed=1)
    assert set(h) == {"loss", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in h.values())
    assert all(0.0 <= a <= 1.0 for a in h["val_accuracy"])
    assert not n.grads.any()
    # val_loss equals the loss backward reports for those rows
    n.forward(x[:10])
    assert n.backward(labels[:10]) == pytest.approx(h["val_loss"][-1], rel=1e-5)
    n.zero_grad()
    assert n.fit(x, labels, epochs=0, progress=False) == {"loss": []}


def test_fit_without_validation_and_mse(rng):
    n = Net(small_spec(loss="mse", layers=[{"units": 8, "activation": "tanh"},
                                          {"units": 2, "activation": "identity"}]), max_batch=8)
    x = rng.standard_normal((30, 4))
    y = np.stack([x[:, 0] * 0.5, x[:, 1] - x[:, 2]], axis=1)
    h = n.fit(x, y, epochs=2, batch_size=5, progress=False)
    assert list(h) == ["loss"] and len(h["loss"]) == 2
    h = n.fit(x, y, epochs=1, batch_size=5, validation=(x, y), progress=False)
    assert set(h) == {"loss", "val_loss", "val_mae", "val_r2"}   # regression metrics, no accuracy


def test_fit_is_reproducible_with_seed(spec, rng):
    x = rng.standard_normal((50, 4))
    labels = rng.integers(0, 3, 50)
    a, b = Net(spec, max_batch=16), Net(spec, max_batch=16)
    ha = a.fit(x, labels, epochs=2, batch_size=7, seed=3, progress=False)
    hb = b.fit(x, labels, epochs=2, batch_size=7, seed=3, progress=False)
    assert ha == hb and np.array_equal(a.params, b.params)


def test_fit_batch_larger_than_max_batch_is_one_step(spec, rng):
    """batch_size 12 with max_batch 5: three forward/backward pairs, one step."""
    x = rng.standard_normal((12, 4))
    labels = rng.integers(0, 3, 12)
    a, b = Net(spec, max_batch=5), Net(spec, max_batch=12)
    ha = a.fit(x, labels, epochs=1, batch_size=12, shuffle=False, progress=False)
    b.forward(x)
    lb = b.backward(labels)
    b.step()
    assert ha["loss"][0] == pytest.approx(lb, rel=1e-5)
    assert np.allclose(a.params, b.params, rtol=1e-5, atol=1e-6)


def test_fit_discards_old_gradients(spec, rng):
    x = rng.standard_normal((8, 4))
    labels = rng.integers(0, 3, 8)
    a, b = Net(spec, max_batch=8), Net(spec, max_batch=8)
    a.forward(rng.standard_normal((8, 4)) * 10)
    a.backward(labels)
    a.fit(x, labels, epochs=1, batch_size=8, shuffle=False, progress=False)
    b.fit(x, labels, epochs=1, batch_size=8, shuffle=False, progress=False)
    assert np.array_equal(a.params, b.params)


def test_fit_errors(spec, rng):
    n = Net(spec, max_batch=8)
    x = rng.standard_normal((10, 4))
    labels = rng.integers(0, 3, 10)
    expect(Status.SWANN_E_SHAPE, n.fit, x, labels[:9], progress=False)
    expect(Status.SWANN_E_SHAPE, n.fit, x[:, :3], labels, progress=False)
    expect(Status.SWANN_E_SHAPE, n.fit, x[:0], labels[:0], progress=False)
    expect(Status.SWANN_E_ARG, n.fit, x, labels, batch_size=0, progress=False)
    expect(Status.SWANN_E_ARG, n.fit, x, labels, epochs=-1, progress=False)
    expect(Status.SWANN_E_ARG, n.fit, x, labels + 3, progress=False)
    expect(Status.SWANN_E_SHAPE, n.fit, x, labels, validation=(x[:, :2], labels), progress=False)
    with pytest.raises(TypeError):
        n.fit(x, labels, validation=x, progress=False)  # type: ignore[arg-type]
    bad = x.copy()
    bad[7, 1] = np.nan
    before = n.params.copy()
    e = expect(Status.SWANN_E_NUMERIC, n.fit, bad, labels, batch_size=4, shuffle=False, progress=False)
    assert str(e) == "fit: x has NaN at row 7, column 1"
    assert not n.grads.any()                 # nothing left accumulated
    assert np.array_equal(n.params, before)  # checked before the first step
    m = Net(small_spec(loss="none"), max_batch=8)
    expect(Status.SWANN_E_STATE, m.fit, x, np.zeros((10, 3)), progress=False)


def test_fit_progress_plain(spec, rng, capfd, monkeypatch):
    import swann._progress as prog
    monkeypatch.setattr(prog, "_tqdm", None)
    n = Net(spec, max_batch=8)
    x = rng.standard_normal((20, 4))
    labels = rng.integers(0, 3, 20)
    n.fit(x, labels, epochs=2, batch_size=4, validation=(x, labels), progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "epoch 1/2" in err and "epoch 2/2" in err
    assert "val_accuracy" in err and "loss" in err
    n.fit(x, labels, epochs=1, batch_size=4, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_fit_progress_plain_on_a_terminal(spec, rng, monkeypatch):
    import io
    import swann._progress as prog
    monkeypatch.setattr(prog, "_tqdm", None)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    monkeypatch.setattr(prog.sys, "stderr", stream)
    n = Net(spec, max_batch=8)
    x = rng.standard_normal((20, 4))
    n.fit(x, rng.integers(0, 3, 20), epochs=1, batch_size=4, progress=True)
    text = stream.getvalue()
    assert "\r" in text and "5/5" in text and text.endswith("\n")


def test_fit_progress_uses_tqdm_when_available(spec, rng, monkeypatch):
    import swann._progress as prog
    made = []

    class FakeTqdm:
        def __init__(self, total, desc, **kw):
            self.total, self.desc, self.n, self.post = total, desc, 0, ""
            made.append(self)

        def update(self, k):
            self.n += k

        def set_postfix(self, **kw):
            pass

        def set_postfix_str(self, s, refresh=True):
            self.post = s

        def close(self):
            self.closed = True

    monkeypatch.setattr(prog, "_tqdm", FakeTqdm)
    n = Net(spec, max_batch=8)
    x = rng.standard_normal((20, 4))
    n.fit(x, rng.integers(0, 3, 20), epochs=2, batch_size=4, progress=True)
    assert [b.desc for b in made] == ["epoch 1/2", "epoch 2/2"]
    assert all(b.n == b.total == 5 and b.closed and "loss" in b.post for b in made)


# ---- save and load ------------------------------------------------------------------



def test_save_and_load_round_trip(net, rng, tmp_path):
    x = rng.standard_normal((5, 4))
    net.fit(x, [0, 1, 2, 0, 1], epochs=2, batch_size=2, progress=False)
    path = tmp_path / "model.safetensors"
    net.save(path)
    assert path.exists()
    m = Net.load(path, max_batch=3)
    assert m.max_batch == 3
    assert m.spec == net.spec
    assert np.array_equal(m.params, net.params)
    assert np.array_equal(m.forward(x[:3]), net.forward(x[:3]))
    m2 = Net.load(str(path))
    assert m2.max_batch == 128
    # the file is safetensors: 8-byte header length, JSON header with swann metadata
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"]["format"] == "swann"
    assert header["layers.0.weight"]["shape"] == [8, 4]
    assert header["layers.1.bias"]["dtype"] == "F32"


def test_load_errors(tmp_path):
    e = expect(Status.SWANN_E_IO, Net.load, tmp_path / "missing.safetensors")
    assert str(e) == last_error()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    expect(Status.SWANN_E_FORMAT, Net.load, junk)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    expect(Status.SWANN_E_FORMAT, Net.load, empty)
    expect(Status.SWANN_E_ARG, Net.load, tmp_path / "x\0y")


def test_load_bad_max_batch(net, tmp_path):
    path = tmp_path / "m.safetensors"
    net.save(path)
    expect(Status.SWANN_E_ARG, Net.load, path, max_batch=0)
    expect(Status.SWANN_E_ARG, Net.load, path, max_batch=-5)


def test_save_errors(net, tmp_path):
    e = expect(Status.SWANN_E_IO, net.save, tmp_path / "no" / "such" / "dir" / "m.safetensors")
    assert str(e) == last_error()
    expect(Status.SWANN_E_ARG, net.save, str(tmp_path / "a\0b"))


def test_truncated_file_is_format_error(net, tmp_path):
    path = tmp_path / "m.safetensors"
    net.save(path)
    raw = path.read_bytes()
    for cut in (4, 8, len(raw) // 2, len(raw) - 1):
        bad = tmp_path / ("cut%d.safetensors" % cut)
        bad.write_bytes(raw[:cut])
        expect(Status.SWANN_E_FORMAT, Net.load, bad)


# ---- additions to contract 1: learning rate, threads, data-parallel steps ------------

def test_lr_property_follows_schedule_and_set() -> None:
    spec = small_spec(optimizer={"type": "sgd", "lr": 0.1, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}})
    with swann.Net(spec, max_batch=4) as net:
        assert net.lr == pytest.approx(0.1)
        x = np.ones((2, 4), np.float32)
        net.forward(x)
        net.backward(np.array([0, 1]))
        net.step()
        assert net.lr == pytest.approx(0.05)
        net.lr = 1.0
        assert net.lr == pytest.approx(0.5)  # the schedule still scales the new base rate
        assert net.spec["optimizer"]["lr"] == 1.0  # the canonical spec carries the new base rate
        with pytest.raises(swann.SwannError) as e:
            net.lr = float("nan")
        assert e.value.name == "SWANN_E_ARG"


def test_accumulated_rows_and_step_rows() -> None:
    with swann.Net(small_spec(), max_batch=8) as net:
        assert net.accumulated_rows == 0
        net.forward(np.ones((3, 4), np.float32))
        net.backward(np.array([0, 1, 2]))
        assert net.accumulated_rows == 3
        before = net.params.copy()
        g = net.grads.copy()
        net.step_rows(6)  # as if another process had contributed 3 rows of zero gradient
        np.testing.assert_allclose(net.params, before - 0.1 * g / 6, rtol=1e-6, atol=1e-7)
        assert net.accumulated_rows == 0
        for bad in (0, -1, 1.5, True):
            with pytest.raises(swann.SwannError) as e:
                net.step_rows(bad)  # type: ignore[arg-type]
            assert e.value.name == "SWANN_E_ARG"


def test_set_threads_range() -> None:
    with swann.Net(small_spec(threads=2), max_batch=4) as net:
        net.set_threads(1)
        net.set_threads(2)
        for bad in (0, 3, -1):
            with pytest.raises(swann.SwannError) as e:
                net.set_threads(bad)
            assert e.value.name == "SWANN_E_ARG"
