"""numpy_ref.py -- the one numpy reference of the lecture's forward and backward
passes, in float64, that the Python tests check swann against:

    z_k = W_k y_{k-1} + b_k,   y_k = f_k(z_k),   Div(Y, d),
    grad_z = grad_y J_y(z) layer by layer (full Jacobian for softmax),
    grad W_k = sum over rows of grad_z^T y_{k-1},  grad b_k = column sums.

Used by Tests/python (conftest.py re-exports it for the tests, test_numeric.py,
test_optimizers.py) and Tests/checkpoint/interop.py. Those put this folder on
sys.path: sys.path.insert(0, <Tests/common>); then `import numpy_ref`.

Parameters are swann's flat layout (swann_params / net.params): layer by
layer, weight [out, in] then bias [out]. A model file names the same tensors
layers.{k}.weight and layers.{k}.bias (split_params, join_params).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np

Spec = Dict[str, Any]

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# ---- the flat parameters ------------------------------------------------------

def layer_sizes(spec: Spec) -> List[int]:
    """[input, units of layer 0, units of layer 1, ...]"""
    return [spec["input"]] + [layer["units"] for layer in spec["layers"]]


def layer_shapes(spec: Spec) -> List[Tuple[int, int]]:
    """(out, in) of every layer's weight."""
    sizes = layer_sizes(spec)
    return [(sizes[k + 1], sizes[k]) for k in range(len(spec["layers"]))]


def unpack(params: np.ndarray, spec: Spec) -> List[Tuple[np.ndarray, np.ndarray]]:
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


def split_params(spec: Spec, flat: np.ndarray) -> Dict[str, np.ndarray]:
    """The flat parameters as a model file's tensors (views of `flat`, its dtype)."""
    out, at = {}, 0
    for k, (o, i) in enumerate(layer_shapes(spec)):
        out[f"layers.{k}.weight"] = flat[at:at + o * i].reshape(o, i)
        at += o * i
        out[f"layers.{k}.bias"] = flat[at:at + o]
        at += o
    assert at == len(flat)
    return out


def join_params(spec: Spec, tensors: Mapping[str, np.ndarray]) -> np.ndarray:
    """A model file's layers.* tensors as flat float64 parameters, in swann's order."""
    parts = []
    for k in range(len(spec["layers"])):
        parts += [np.asarray(tensors[f"layers.{k}.weight"], np.float64).ravel(),
                  np.asarray(tensors[f"layers.{k}.bias"], np.float64).ravel()]
    return np.concatenate(parts)


# ---- activations --------------------------------------------------------------

def alpha_of(layer: Mapping[str, Any]) -> float:
    """The layer's alpha, with swann's defaults (leaky_relu 0.01, elu 1)."""
    return layer.get("alpha", 0.01 if layer["activation"] == "leaky_relu" else 1.0)


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
        return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))
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


# ---- the passes ---------------------------------------------------------------

def ref_forward(spec: Spec, params: np.ndarray, x: np.ndarray):
    """Returns (Y, cache) with cache = [(y_prev, z, y) per layer]."""
    y = np.asarray(x, np.float64)
    cache = []
    for (W, b), layer in zip(unpack(params, spec), spec["layers"]):
        z = y @ W.T + b
        ynew = act(layer["activation"], z, alpha_of(layer))
        cache.append((y, z, ynew))
        y = ynew
    return y, cache


def ref_forward_tensors(spec: Spec, tensors: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Y for the rows of x, with a model file's layers.* tensors as the parameters."""
    return ref_forward(spec, join_params(spec, tensors), x)[0]


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


def ref_backward(spec: Spec, params: np.ndarray, x: np.ndarray, dY: np.ndarray):
    """Summed grad over rows (flat, like net.grads) and grad_x per row, from grad_Y."""
    _, cache = ref_forward(spec, params, x)
    Ws = unpack(params, spec)
    grads: List[np.ndarray] = []
    g = np.asarray(dY, np.float64)
    for k in range(len(cache) - 1, -1, -1):
        layer = spec["layers"][k]
        y_prev, z, y = cache[k]
        gz = act_backward(layer["activation"], z, y, g, alpha_of(layer))
        gW = gz.T @ y_prev
        gb = gz.sum(axis=0)
        grads = [gW.ravel(), gb] + grads
        g = gz @ Ws[k][0]
    return np.concatenate(grads), g


def ref_mean_gradient(spec: Spec, params: np.ndarray, x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """grad Err / T: the flat gradient of the spec's loss against targets d,
    averaged over the T rows of x (what a step applies)."""
    Y, _ = ref_forward(spec, params, x)
    _, dY = ref_div(spec["loss"], Y, np.asarray(d, np.float64))
    grads, _ = ref_backward(spec, params, x, dY)
    return grads / x.shape[0]
