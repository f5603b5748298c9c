"""Which swann activation a run of elementwise ONNX nodes computes.

Exporters write an activation either as one operator (Relu, Softmax, ...) or,
for GELU before opset 20, as a small formula of basic operators whose order
differs between exporters (and versions). Rather than match each spelling, a
formula is evaluated in float64 on probe points and compared with swann's own
functions: any spelling of the same function imports, anything else is refused.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import helper

# The functions as swann computes them (Sources/Swann/Kernels/Activations.swift).
_C, _A = 0.7978845608028654, 0.044715
_FUNCTIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(x, 0),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(_C * (x + _A * x ** 3))),
}
# Dense where the functions bend, and out to +-40 so a threshold (Where) far out is seen too.
_PROBES = np.concatenate([np.linspace(-6, 6, 97), np.linspace(-40, 40, 161)])

_UNARY: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Tanh": np.tanh, "Sigmoid": lambda x: 1 / (1 + np.exp(-x)), "Relu": lambda x: np.maximum(x, 0),
    "Exp": np.exp, "Neg": np.negative, "Sqrt": np.sqrt, "Abs": np.abs, "Identity": lambda x: x,
    "Softplus": lambda x: np.logaddexp(x, 0), "Log": np.log, "Reciprocal": lambda x: 1 / x,
}
_BINARY: Dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
    "Max": np.maximum, "Min": np.minimum, "Greater": np.greater, "Less": np.less,
    "GreaterOrEqual": np.greater_equal, "LessOrEqual": np.less_equal,
}

#: The single operators that are a swann activation, and how.
SINGLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Identity": "identity"}


class Unsupported(ValueError):
    pass


def _attr(node: onnx.NodeProto, name: str, default: object) -> object:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def single(node: onnx.NodeProto, rank: int) -> Optional[Tuple[str, float]]:
    """The activation (name, alpha) of one operator, or None when it is not one."""
    op = node.op_type
    if op in SINGLE:
        return SINGLE[op], 0.0
    if op == "LeakyRelu":
        return "leaky_relu", float(_attr(node, "alpha", 0.01))  # type: ignore[arg-type]
    if op == "Elu":
        return "elu", float(_attr(node, "alpha", 1.0))  # type: ignore[arg-type]
    if op == "Softmax":
        axis = _attr(node, "axis", -1)
        if axis not in (-1, rank - 1):
            raise Unsupported("node %r: Softmax on axis %s; swann's softmax is on the last axis" % (node.name, axis))
        return "softmax", 0.0
    if op == "Gelu":
        if _attr(node, "approximate", b"none") not in (b"tanh", "tanh"):
            raise Unsupported("node %r: Gelu without approximate=\"tanh\"; swann's gelu is the tanh approximation"
                              % node.name)
        return "gelu", 0.0
    return None


def formula(nodes: Sequence[onnx.NodeProto], z: str, out: str, constants: Dict[str, np.ndarray]) -> str:
    """The activation that elementwise ``nodes`` compute from ``z`` into ``out``."""
    values: Dict[str, np.ndarray] = {z: _PROBES}
    names = ", ".join(repr(n.name or n.op_type) for n in nodes)
    with np.errstate(all="ignore"):
        for n in nodes:
            ins: List[np.ndarray] = []
            for i in n.input:
                if i in values:
                    ins.append(values[i])
                elif i in constants and constants[i].size == 1:
                    ins.append(np.asarray(constants[i].reshape(()), np.float64))
                else:
                    raise Unsupported("node %r (%s) reads %r, which is neither the layer's output nor a scalar "
                                      "constant" % (n.name, n.op_type, i))
            if n.op_type in _UNARY and len(ins) == 1:
                r = _UNARY[n.op_type](ins[0])
            elif n.op_type in _BINARY and len(ins) == 2:
                r = _BINARY[n.op_type](ins[0], ins[1])
            elif n.op_type == "Where" and len(ins) == 3:  # torch's Softplus: x above its threshold passes as is
                r = np.where(ins[0], ins[1], ins[2])
            else:
                raise Unsupported(
                    "node %r: operator %s is not supported between layers (supported: Relu, LeakyRelu, Elu, "
                    "Sigmoid, Tanh, Softplus, Softmax, Identity, Gelu, or formulas of them with Add, Sub, Mul, "
                    "Div, Pow, Max, Min, comparisons and Where)" % (n.name, n.op_type))
            if len(n.output) != 1:
                raise Unsupported("node %r: %d outputs" % (n.name, len(n.output)))
            values[n.output[0]] = np.broadcast_to(r, _PROBES.shape)
    y = values.get(out)
    if y is not None:
        for act, f in _FUNCTIONS.items():
            ref = f(_PROBES)
            if np.allclose(y, ref, rtol=1e-6, atol=1e-7):
                return act
    raise Unsupported("nodes %s compute a function that is not one of swann's activations" % names)
