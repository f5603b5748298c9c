"""Optimizers against PyTorch and against numpy, step for step.

Tests/fixtures/torch_refs.safetensors holds 10-step trajectories that
torch.optim produced (Tests/fixtures/make_torch_refs.py) for every optimizer,
clipping and schedule. Each is replayed through libswann.so (ctypes, the C
contract alone) and must match to float32 rounding. A numpy implementation of
the same update rules, written here from torch.optim's documented algorithms
on the gradients of the shared numpy reference (Tests/common/numpy_ref.py), is
the second reference.
"""
import ctypes
import json
import math
import os
import pathlib

import numpy as np
import pytest
from safetensors import safe_open

from numpy_ref import ref_mean_gradient  # Tests/common, on sys.path through conftest.py

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "fixtures" / "torch_refs.safetensors"
LIB_PATH = os.environ.get("SWANN_LIBRARY", str(ROOT / "build" / "libswann.so"))


def load_lib():
    lib = ctypes.CDLL(LIB_PATH)
    vp, sz, i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    lib.swann_create.argtypes = [ctypes.c_char_p, sz, vp, sz, ctypes.POINTER(vp)]
    lib.swann_destroy.argtypes = [vp]
    lib.swann_destroy.restype = None
    lib.swann_forward.argtypes = [vp, vp, sz, vp]
    lib.swann_backward.argtypes = [vp, vp, vp, vp]
    lib.swann_step.argtypes = [vp]
    lib.swann_params.argtypes = [vp, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)), ctypes.POINTER(sz)]
    lib.swann_get_lr.argtypes = [vp, ctypes.POINTER(ctypes.c_double)]
    lib.swann_last_error.restype = ctypes.c_char_p
    for f in (lib.swann_create, lib.swann_forward, lib.swann_backward, lib.swann_step, lib.swann_params,
              lib.swann_get_lr):
        f.restype = i32
    return lib


LIB = load_lib()


def check(status):
    assert status == 0, LIB.swann_last_error().decode()


def cases():
    with safe_open(str(FIXTURES), "np") as f:
        meta = f.metadata()
        n = sum(1 for k in meta if k.startswith("case"))
        for i in range(n):
            yield pytest.param(json.loads(meta[f"case{i}"]), f.get_tensor(f"case{i}.params"),
                               f.get_tensor(f"case{i}.x"), f.get_tensor(f"case{i}.d"),
                               id=f"case{i}-{json.loads(meta[f'case{i}'])['optimizer']['type']}")


def swann_trajectory(spec, initial, x, d):
    net = ctypes.c_void_p()
    check(LIB.swann_create(json.dumps(spec).encode(), x.shape[1], None, 0, ctypes.byref(net)))
    try:
        data, count = ctypes.POINTER(ctypes.c_float)(), ctypes.c_size_t()
        check(LIB.swann_params(net, ctypes.byref(data), ctypes.byref(count)))
        params = np.ctypeslib.as_array(data, shape=(count.value,))
        assert params.shape == initial.shape
        params[:] = initial
        out = [params.copy()]
        for s in range(x.shape[0]):
            xs, ds = np.ascontiguousarray(x[s]), np.ascontiguousarray(d[s])
            check(LIB.swann_forward(net, xs.ctypes.data, xs.shape[0], None))
            check(LIB.swann_backward(net, ds.ctypes.data, None, None))
            check(LIB.swann_step(net))
            out.append(params.copy())
        return np.stack(out)
    finally:
        LIB.swann_destroy(net)


def scheduled_lr(c, t):
    lr, s = c["lr"], c.get("schedule")
    if not s:
        return lr
    r = lr
    if s["type"] == "step":
        r = lr * s["gamma"] ** (t // s["step_size"])
    elif s["type"] == "cosine":
        eta_min = s.get("eta_min", 0.0)
        r = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * min(t, s["t_max"]) / s["t_max"])) / 2
    w = s.get("warmup_steps", 0)
    if w:
        f0 = s.get("warmup_start_factor", 1 / 3)
        r *= f0 + (1 - f0) * min(t, w) / w
    return r


def numpy_trajectory(spec, initial, x, d):
    """torch.optim's single-tensor algorithms, as documented, in float64."""
    c = spec["optimizer"]
    p = initial.astype(np.float64)
    state = {}
    out = [p.copy()]
    for t in range(x.shape[0]):
        g = ref_mean_gradient(spec, p, x[t], d[t])
        if "clip_norm" in c:
            g = g * min(1.0, c["clip_norm"] / (np.sqrt((g * g).sum()) + 1e-6))
        lr = scheduled_lr(c, t)
        kind = c["type"]
        if kind == "sgd":
            wd, mu = c.get("weight_decay", 0), c.get("momentum", 0)
            g = g + wd * p
            if mu:
                b = g.copy() if t == 0 else mu * state["b"] + (1 - c.get("dampening", 0)) * g
                state["b"] = b
                g = g + mu * b if c.get("nesterov") else b
            p = p - lr * g
        elif kind in ("adam", "adamw"):
            b1, b2, eps = c.get("beta1", 0.9), c.get("beta2", 0.999), c.get("eps", 1e-8)
            wd = c.get("weight_decay", 0 if kind == "adam" else 1e-2)
            if kind == "adamw":
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            m = b1 * state.get("m", 0) + (1 - b1) * g
            v = b2 * state.get("v", 0) + (1 - b2) * g * g
            state["m"], state["v"] = m, v
            if c.get("amsgrad"):
                v = np.maximum(state.get("vmax", 0), v)
                state["vmax"] = v
            step = t + 1
            denom = np.sqrt(v) / math.sqrt(1 - b2 ** step) + eps
            p = p - lr / (1 - b1 ** step) * m / denom
        elif kind == "rmsprop":
            a, eps, mu = c.get("alpha", 0.99), c.get("eps", 1e-8), c.get("momentum", 0)
            g = g + c.get("weight_decay", 0) * p
            sq = a * state.get("sq", 0) + (1 - a) * g * g
            state["sq"] = sq
            if c.get("centered"):
                ga = a * state.get("ga", 0) + (1 - a) * g
                state["ga"] = ga
                avg = np.sqrt(sq - ga * ga) + eps
            else:
                avg = np.sqrt(sq) + eps
            if mu:
                state["b"] = mu * state.get("b", 0) + g / avg
                p = p - lr * state["b"]
            else:
                p = p - lr * g / avg
        elif kind == "rprop":
            up, down = c.get("eta_plus", 1.2), c.get("eta_minus", 0.5)
            lo, hi = c.get("step_min", 1e-6), c.get("step_max", 50)
            prev = state.get("prev", np.zeros_like(p))
            size = state.get("size", np.full_like(p, c["lr"]))
            s = g * prev
            size = np.clip(size * np.where(s > 0, up, np.where(s < 0, down, 1.0)), lo, hi)
            g = np.where(s < 0, 0.0, g)
            p = p - np.sign(g) * size
            state["prev"], state["size"] = g, size
        out.append(p.copy())
    return np.stack(out)


@pytest.mark.parametrize("spec,torch_params,x,d", list(cases()))
def test_matches_torch(spec, torch_params, x, d):
    got = swann_trajectory(spec, torch_params[0], x, d)
    scale = np.abs(torch_params).max()
    # float32 rounding: measured at most 2 ulps apart after 10 steps
    np.testing.assert_allclose(got, torch_params, rtol=1e-5, atol=1e-6 * scale)
    # and the run really trains: the parameters moved
    assert np.abs(got[-1] - got[0]).max() > 1e-4


@pytest.mark.parametrize("spec,torch_params,x,d", list(cases()))
def test_matches_numpy_reference(spec, torch_params, x, d):
    got = swann_trajectory(spec, torch_params[0], x, d)
    ref = numpy_trajectory(spec, torch_params[0], x, d)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5 * scale)


def test_reported_lr_follows_the_schedule():
    spec = {"input": 2, "layers": [{"units": 1, "activation": "identity"}], "loss": "mse",
            "optimizer": {"type": "sgd", "lr": 0.1,
                          "schedule": {"type": "cosine", "t_max": 5, "eta_min": 0.01, "warmup_steps": 2}}}
    net = ctypes.c_void_p()
    check(LIB.swann_create(json.dumps(spec).encode(), 1, None, 0, ctypes.byref(net)))
    try:
        x, d = np.ones((1, 2), np.float32), np.zeros((1, 1), np.float32)
        lr = ctypes.c_double()
        for t in range(8):
            check(LIB.swann_get_lr(net, ctypes.byref(lr)))
            assert lr.value == pytest.approx(scheduled_lr(spec["optimizer"], t), rel=1e-12)
            check(LIB.swann_forward(net, x.ctypes.data, 1, None))
            check(LIB.swann_backward(net, d.ctypes.data, None, None))
            check(LIB.swann_step(net))
    finally:
        LIB.swann_destroy(net)
