"""swann -> ONNX: one Gemm (transB = 1) and one activation per layer.

Every weight enters its Gemm through :func:`_weight`, the one place that knows
how a stored dtype becomes float32: float32 as it is, float16 through a Cast,
int8 through a per-row DequantizeLinear (the layout of deploy.md's compact
models). The activations are ONNX's own operators, so any runtime runs the
graph with no custom operator; GELU is swann's tanh approximation, written in
basic operators below opset 20 and as ``Gelu(approximate="tanh")`` from 20 on.
"""

from __future__ import annotations

import json
import os
from typing import Any, List, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import _core
from .._core import Net
from .._model import Model
from ._files import write_atomic
from ._layers import Layer, read_layers

MIN_OPSET = 13
INPUT, OUTPUT = "input", "output"


def newest_opset() -> int:
    """The newest default-domain opset the installed ``onnx`` package knows."""
    return int(onnx.defs.onnx_opset_version())


class _Graph:
    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: List[onnx.NodeProto] = []
        self.inits: List[onnx.TensorProto] = []

    def init(self, name: str, a: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def node(self, op: str, inputs: List[str], out: str, name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out


def _weight(g: _Graph, k: int, layer: Layer) -> str:
    """The name of layer k's float32 [out, in] weight."""
    w, name = layer.weight, "layers.%d.weight" % k
    if w.dtype == np.float32:
        return g.init(name, w)
    if w.dtype == np.float16:
        return g.node("Cast", [g.init(name, w)], name + ".f32", name + ".cast", to=TensorProto.FLOAT)
    if w.dtype == np.int8 and layer.scale is not None:
        # swann's int8 is symmetric, one scale per output row: per-axis (axis 0), zero point 0.
        zero = g.init(name + "_zero_point", np.zeros(w.shape[0], np.int8))
        scale = g.init(name + "_scale", layer.scale)
        return g.node("DequantizeLinear", [g.init(name, w), scale, zero], name + ".f32", name + ".dequantize",
                      axis=0)
    raise ValueError("export: layer %d's weight has dtype %s, which export cannot write" % (k, w.dtype))


def _gelu(g: _Graph, z: str, out: str, name: str) -> str:
    if g.opset >= 20:
        return g.node("Gelu", [z], out, name, approximate="tanh")
    # 0.5 * z * (1 + tanh(sqrt(2/pi) * (z + 0.044715 * z^3))), as swann computes it.
    c = lambda n, v: g.init("%s.%s" % (name, n), np.array(v, np.float32))  # noqa: E731
    z2 = g.node("Mul", [z, z], name + ".z2", name + ".square")
    z3 = g.node("Mul", [z2, z], name + ".z3", name + ".cube")
    a = g.node("Mul", [z3, c("a", 0.044715)], name + ".az3", name + ".scale_cube")
    s = g.node("Add", [z, a], name + ".inner", name + ".add_cube")
    t = g.node("Tanh", [g.node("Mul", [s, c("c", 0.7978845608028654)], name + ".arg", name + ".scale_arg")],
               name + ".tanh", name + ".tanh")
    h = g.node("Add", [t, c("one", 1.0)], name + ".one_plus", name + ".one_plus")
    hz = g.node("Mul", [z, h], name + ".z_one_plus", name + ".times_z")
    return g.node("Mul", [hz, c("half", 0.5)], out, name + ".half")


def _activation(g: _Graph, k: int, layer: Layer, z: str, out: str) -> str:
    act, name = layer.activation, "layers.%d.%s" % (k, layer.activation)
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "identity": "Identity"}
    if act in simple:
        return g.node(simple[act], [z], out, name)
    if act == "leaky_relu":
        return g.node("LeakyRelu", [z], out, name, alpha=layer.alpha)
    if act == "elu":
        return g.node("Elu", [z], out, name, alpha=layer.alpha)
    if act == "softmax":
        return g.node("Softmax", [z], out, name, axis=-1)
    if act == "gelu":
        return _gelu(g, z, out, name)
    raise ValueError("export: layer %d's activation %r has no ONNX mapping" % (k, act))


def build(blob: bytes, opset: int = MIN_OPSET) -> onnx.ModelProto:
    """The ONNX model of model-file bytes (``Net.to_bytes`` / ``Model.to_bytes``)."""
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise TypeError("export: opset must be an integer, not %s" % type(opset).__name__)
    if not MIN_OPSET <= opset <= newest_opset():
        raise ValueError("export: opset %d is not in %d...%d (the newest the installed onnx %s knows)"
                         % (opset, MIN_OPSET, newest_opset(), onnx.__version__))
    m = read_layers(blob)
    g = _Graph(opset)
    x = INPUT
    n = len(m.layers)
    for k, layer in enumerate(m.layers):
        z = g.node("Gemm", [x, _weight(g, k, layer), g.init("layers.%d.bias" % k, layer.bias)],
                   "layers.%d.z" % k, "layers.%d.gemm" % k, transB=1)
        x = _activation(g, k, layer, z, OUTPUT if k == n - 1 else "layers.%d.y" % k)
    width_in = int(m.spec["input"])
    width_out = int(m.layers[-1].bias.shape[0])
    graph = helper.make_graph(
        g.nodes, "swann", [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", width_in])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", width_out])], g.inits)
    ops = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=ops, producer_name="swann",
                              producer_version=str(_core.lib.version))
    # The oldest IR version that carries this opset: older runtimes load the file too.
    model.ir_version = helper.find_min_ir_version_for(ops)
    meta = {"swann.spec": json.dumps(m.spec, separators=(",", ":"))}
    for key in ("swann.version", "swann.weights"):
        if key in m.metadata:
            meta[key] = m.metadata[key]
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def export(net_or_model: Union[Net, Model], path: Union[str, "os.PathLike[str]"], opset: int = MIN_OPSET) -> None:
    """Writes a :class:`swann.Net` or :class:`swann.Model` as an ONNX file.

    The graph has one input ``input`` ``[batch, input_size]`` and one output
    ``output`` ``[batch, output_size]`` (float32, ``batch`` dynamic); per layer
    a ``Gemm`` (``transB = 1``, initializers ``layers.{k}.weight`` ``[out, in]``
    and ``layers.{k}.bias``) and the activation's operator; the swann spec is
    kept in the metadata (``swann.spec``). ``opset`` is 13 up to the newest the
    installed ``onnx`` knows. The file is written atomically (a temporary file
    beside ``path``, renamed over it).

    Raises:
        TypeError: not a Net or Model, or a non-integer opset.
        ValueError: an opset out of range, or a closed net or model.
        SwannError: ``SWANN_E_NUMERIC`` when a parameter is not finite.
        OSError: the file cannot be written.
    """
    if isinstance(net_or_model, (Net, Model)):
        blob = net_or_model.to_bytes()
    else:
        raise TypeError("export: expected a swann.Net or swann.Model, not %s" % type(net_or_model).__name__)
    write_atomic(os.fspath(path), build(blob, opset).SerializeToString())
