"""Shared fixtures and the numpy reference of the lecture's forward and backward passes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

import swann
from swann import _core  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "data" / "digits.csv"



def small_spec(**over: Any) -> Dict[str, Any]:
    """A 4-8-3 softmax classifier, cross-entropy, plain SGD."""
    spec: Dict[str, Any] = {
        "input": 4,
        "layers": [{"units": 8, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
        "loss": "cross_entropy",
        "optimizer": {"type": "sgd", "lr": 0.1},
        "seed": 7,
    }
    spec.update(over)
    return spec


@pytest.fixture
def spec() -> Dict[str, Any]:
    return small_spec()


@pytest.fixture
def net(spec: Dict[str, Any]) -> swann.Net:
    n = swann.Net(spec, max_batch=16)
    yield n
    n.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def last_error() -> str:
    """The C library's last-error text on this thread."""
    return _core.lib.last_error().decode("utf-8", "replace")


# ---- numpy reference (float64) ----------------------------------------------

def layer_shapes(spec: Dict[str, Any]) -> List[Tuple[int, int]]:
    shapes, fan_in = [], spec["input"]
    for layer in spec["layers"]:
        shapes.append((layer["units"], fan_in))
        fan_in = layer["units"]
    return shapes


def unpack(params: np.ndarray, spec: Dict[str, Any]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Splits the flat parameters into (W_k [out, in], b_k [out]) in float64."""
    out, at = [], 0
    for (o, i) in layer_shapes(spec):
        W = params[at:at + o * i].astype(np.float64).reshape(o, i)
        at += o * i
        b = params[at:at + o].astype(np.float64)
        at += o
        out.append((W, b))
    assert at == params.size
    return out


SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def act(name: str, z: np.ndarray, alpha: float) -> np.ndarray:
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if name == "elu":
        return np.where(z > 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1.0))
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "gelu":
        return 0.5 * z * (1.0 + np.tanh(SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def act_backward(name: str, z: np.ndarray, y: np.ndarray, dy: np.ndarray, alpha: float) -> np.ndarray:
    """grad_z = grad_y J_y(z), row by row."""
    if name == "identity":
        return dy
    if name == "sigmoid":
        return dy * y * (1.0 - y)
    if name == "tanh":
        return dy * (1.0 - y ** 2)
    if name == "relu":
        return dy * (z > 0)
    if name == "leaky_relu":
        return dy * np.where(z > 0, 1.0, alpha)
    if name == "elu":
        return dy * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))
    if name == "softplus":
        return dy / (1.0 + np.exp(-z))
    if name == "gelu":
        u = SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)
        t = np.tanh(u)
        du = SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z ** 2)
        return dy * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t ** 2) * du)
    if name == "softmax":  # full Jacobian: J = diag(y) - y y^T
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
    raise ValueError(name)


def ref_forward(spec: Dict[str, Any], params: np.ndarray, x: np.ndarray):
    """Returns (Y, cache) with cache = [(y_prev, z, y) per layer]."""
    y = np.asarray(x, np.float64)
    cache = []
    for (W, b), layer in zip(unpack(params, spec), spec["layers"]):
        alpha = layer.get("alpha", 0.01 if layer["activation"] == "leaky_relu" else 1.0)
        z = y @ W.T + b
        ynew = act(layer["activation"], z, alpha)
        cache.append((y, z, ynew))
        y = ynew
    return y, cache


def ref_div(loss: str, Y: np.ndarray, d: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row Div and grad_Y Div."""
    if loss == "mse":
        return 0.5 * ((Y - d) ** 2).sum(axis=1), Y - d
    if loss == "cross_entropy":
        return -(d * np.log(Y)).sum(axis=1), -d / Y
    if loss == "binary_cross_entropy":
        div = -(d * np.log(Y) + (1 - d) * np.log(1 - Y)).sum(axis=1)
        return div, (Y - d) / (Y * (1 - Y))
    raise ValueError(loss)


def ref_backward(spec: Dict[str, Any], params: np.ndarray, x: np.ndarray, dY: np.ndarray):
    """Summed grad over rows (flat, like net.grads) and grad_x per row, from grad_Y."""
    _, cache = ref_forward(spec, params, x)
    Ws = unpack(params, spec)
    grads: List[np.ndarray] = []
    g = np.asarray(dY, np.float64)
    for k in range(len(cache) - 1, -1, -1):
        layer = spec["layers"][k]
        alpha = layer.get("alpha", 0.01 if layer["activation"] == "leaky_relu" else 1.0)
        y_prev, z, y = cache[k]
        gz = act_backward(layer["activation"], z, y, g, alpha)
        gW = gz.T @ y_prev
        gb = gz.sum(axis=0)
        grads = [gW.ravel(), gb] + grads
        g = gz @ Ws[k][0]
    return np.concatenate(grads), g
