"""ONNX -> swann: the MLPs PyTorch's exporters write for ``nn.Sequential`` of
``nn.Linear`` and activations.

A layer is ``Gemm`` (the TorchScript exporter; ``transB`` 0 or 1, ``alpha`` =
``beta`` = 1) or ``MatMul`` by a ``[in, out]`` initializer then ``Add`` of a bias
(the dynamo exporter's other layout), followed by the nodes of its activation
(see ``_activation``). The file is untrusted: every node, initializer, dtype and
shape is checked, and anything else is a ValueError naming the node.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .._core import Net, SwannError
from .._model import DEFAULT_MAX_BATCH, Model
from ._activation import Unsupported, formula, single


@dataclass
class _Layer:
    weight: np.ndarray  # [out, in] float32
    bias: np.ndarray  # [out] float32
    z: str  # the tensor holding x W^T + b
    block: List[onnx.NodeProto] = field(default_factory=list)
    activation: str = "identity"
    alpha: float = 0.0


def _fail(msg: str) -> ValueError:
    return ValueError("import_model: " + msg)


def _one_line(e: Exception, limit: int = 300) -> str:
    """The checker's and protobuf's messages span lines; the error is one."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read(path: Union[str, "os.PathLike[str]"]) -> onnx.ModelProto:
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf's DecodeError and friends
        raise _fail("%s is not an ONNX model: %s" % (os.fspath(path), _one_line(e))) from None
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise _fail("%s is not a valid ONNX model: %s" % (os.fspath(path), _one_line(e))) from None
    return model


def _constants(graph: onnx.GraphProto) -> Dict[str, np.ndarray]:
    out: Dict[str, np.ndarray] = {}
    tensors: List[Tuple[str, onnx.TensorProto]] = [(t.name, t) for t in graph.initializer]
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            if len(n.attribute) != 1 or n.attribute[0].name != "value" or len(n.output) != 1:
                raise _fail("node %r: a Constant must carry one tensor 'value'" % n.name)
            tensors.append((n.output[0], n.attribute[0].t))
    for name, t in tensors:
        if t.data_location == TensorProto.EXTERNAL:
            raise _fail("initializer %r is stored outside the file (external data is not supported)" % name)
        try:
            a = numpy_helper.to_array(t)
        except Exception as e:
            raise _fail("initializer %r does not hold its shape %s: %s" % (name, list(t.dims), e)) from None
        out[name] = a
    return out


def _float(consts: Dict[str, np.ndarray], name: str, node: onnx.NodeProto, what: str) -> np.ndarray:
    a = consts.get(name)
    if a is None:
        raise _fail("node %r: its %s %r is not an initializer (a layer's weights must be constants)"
                    % (node.name, what, name))
    if a.dtype != np.float32:
        raise _fail("node %r: %s %r has dtype %s; swann imports float32 weights and biases"
                    % (node.name, what, name, a.dtype))
    if not np.isfinite(a).all():
        raise _fail("node %r: %s %r holds NaN or Inf" % (node.name, what, name))
    return a


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _bias(consts: Dict[str, np.ndarray], name: str, node: onnx.NodeProto, units: int) -> np.ndarray:
    b = _float(consts, name, node, "bias")
    if b.shape not in ((units,), (1, units)):
        raise _fail("node %r: bias %r has shape %s; expected [%d]" % (node.name, name, list(b.shape), units))
    return b.reshape(units)


def _gemm(n: onnx.NodeProto, consts: Dict[str, np.ndarray], width: int) -> _Layer:
    if len(n.input) not in (2, 3):
        raise _fail("node %r: Gemm with %d inputs" % (n.name, len(n.input)))
    for a, want in (("transA", 0), ("alpha", 1.0), ("beta", 1.0)):
        if _attr(n, a, want) != want:
            raise _fail("node %r: Gemm with %s = %s; swann imports %s = %s" % (n.name, a, _attr(n, a, want), a, want))
    b = _float(consts, n.input[1], n, "weight")
    if b.ndim != 2:
        raise _fail("node %r: weight %r has shape %s; expected 2 dimensions" % (n.name, n.input[1], list(b.shape)))
    w = b if _attr(n, "transB", 0) == 1 else b.T
    if w.shape[1] != width:
        raise _fail("node %r: weight %r is %s, which does not take the %d values coming in"
                    % (n.name, n.input[1], list(b.shape), width))
    units = w.shape[0]
    has_c = len(n.input) == 3 and n.input[2] != ""
    bias = _bias(consts, n.input[2], n, units) if has_c else np.zeros(units, np.float32)
    return _Layer(np.ascontiguousarray(w), bias, n.output[0])


def _matmul(n: onnx.NodeProto, consts: Dict[str, np.ndarray], width: int) -> _Layer:
    b = _float(consts, n.input[1], n, "weight")
    if b.ndim != 2 or b.shape[0] != width:
        raise _fail("node %r: MatMul weight %r has shape %s; expected [%d, units]"
                    % (n.name, n.input[1], list(b.shape), width))
    return _Layer(np.ascontiguousarray(b.T), np.zeros(b.shape[1], np.float32), n.output[0])


def _finish(layer: _Layer, k: int, y: str, rank: int, consts: Dict[str, np.ndarray]) -> None:
    """Names layer k's activation: its nodes must compute ``y`` from its ``z`` alone."""
    blk = layer.block
    if not blk:
        if y != layer.z:
            raise _fail("layer %d: %r is read where %r is produced" % (k, y, layer.z))
        return
    try:
        one = single(blk[0], rank) if len(blk) == 1 else None
        if one is not None:
            if list(blk[0].input) != [layer.z] or list(blk[0].output) != [y]:
                raise Unsupported("node %r: does not read layer %d's output %r or feed what follows"
                                  % (blk[0].name, k, layer.z))
            layer.activation, layer.alpha = one
        else:
            layer.activation = formula(blk, layer.z, y, consts)
    except Unsupported as e:
        raise _fail("after layer %d: %s" % (k, e)) from None


def _layers(model: onnx.ModelProto) -> Tuple[int, List[_Layer]]:
    g = model.graph
    consts = _constants(g)
    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise _fail("the graph has %d inputs and %d outputs; an MLP has one of each" % (len(inputs), len(g.output)))
    x, y = inputs[0], g.output[0]
    tt = x.type.tensor_type
    if not x.type.HasField("tensor_type") or tt.elem_type != TensorProto.FLOAT:
        raise _fail("input %r is not a float32 tensor" % x.name)
    dims = list(tt.shape.dim) if tt.HasField("shape") else []
    if len(dims) != 2:
        raise _fail("input %r has %d dimensions; an MLP's input is [batch, features]" % (x.name, len(dims)))
    if not dims[1].HasField("dim_value") or dims[1].dim_value < 1:
        raise _fail("input %r has no fixed feature count" % x.name)
    width0 = width = int(dims[1].dim_value)
    defined = set(consts) | {x.name}
    layers: List[_Layer] = []
    awaiting_bias = False
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise _fail("node %r: operator %s of domain %r; swann imports only standard operators"
                        % (n.name, n.op_type, n.domain))
        if n.op_type == "Constant":
            continue
        for i in n.input:
            if i and i not in defined:
                raise _fail("node %r reads %r before it is computed (a cycle, or nodes out of order)" % (n.name, i))
        if awaiting_bias:
            awaiting_bias = False
            last = layers[-1]
            if n.op_type == "Add" and len(n.input) == 2 and last.z in n.input:
                other = n.input[1] if n.input[0] == last.z else n.input[0]
                last.bias = _bias(consts, other, n, last.weight.shape[0])
                last.z = n.output[0]
                defined.update(n.output)
                continue
        if n.op_type in ("Gemm", "MatMul"):
            source = x.name if not layers else n.input[0]
            if layers:
                _finish(layers[-1], len(layers) - 1, source, 2, consts)
            elif n.input[0] != x.name:
                raise _fail("node %r: the first layer reads %r, not the input %r" % (n.name, n.input[0], x.name))
            layer = _gemm(n, consts, width) if n.op_type == "Gemm" else _matmul(n, consts, width)
            awaiting_bias = n.op_type == "MatMul"
            width = layer.weight.shape[0]
            layers.append(layer)
        elif not layers:
            raise _fail("node %r: operator %s before the first Gemm or MatMul; the graph must begin with a layer"
                        % (n.name, n.op_type))
        else:
            layers[-1].block.append(n)
        defined.update(n.output)
    if not layers:
        raise _fail("the graph has no Gemm or MatMul layer")
    _finish(layers[-1], len(layers) - 1, y.name, 2, consts)
    return width0, layers


def _meta_spec(model: onnx.ModelProto) -> Dict[str, Any]:
    for p in model.metadata_props:
        if p.key == "swann.spec":
            try:
                spec = json.loads(p.value)
            except ValueError:
                return {}
            return spec if isinstance(spec, dict) else {}
    return {}


def import_model(path: Union[str, "os.PathLike[str]"], trainable: bool = False, loss: Optional[str] = None,
                 optimizer: Optional[Union[str, Mapping[str, Any]]] = None,
                 max_batch: Optional[int] = None) -> Union[Model, Net]:
    """An ONNX MLP as a :class:`swann.Model` (inference), or with
    ``trainable=True`` as a :class:`swann.Net` to fine-tune.

    Reads what PyTorch's exporters write for ``nn.Sequential`` of ``nn.Linear``
    and ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softplus, Softmax(dim=-1),
    Identity and GELU(approximate="tanh"): ``Gemm`` layers (TorchScript) or
    ``MatMul`` by a transposed initializer then ``Add`` (dynamo), and any file
    :func:`swann.onnx.export` writes. ``loss`` and ``optimizer`` (a spec
    optimizer object or type name) complete the net's spec; they default to
    those a swann export kept in the metadata (a model keeps those too, so
    its file loads as a net that trains), and the loss must be given otherwise.
    ``max_batch`` defaults to 256 for a model, 128 for a net.

    Raises:
        ValueError: the file is not a valid ONNX model, or not an MLP swann
            runs (the message names the node or initializer and what is supported).
        OSError: the file cannot be read.
        SwannError: the library refuses the spec (e.g. an unknown loss).
    """
    model = _read(path)
    width, layers = _layers(model)
    meta = _meta_spec(model)
    specs: List[Dict[str, Any]] = []
    for layer in layers:
        s: Dict[str, Any] = {"units": int(layer.weight.shape[0]), "activation": layer.activation}
        if layer.activation in ("leaky_relu", "elu"):
            s["alpha"] = layer.alpha
        specs.append(s)
    spec: Dict[str, Any] = {"input": width, "layers": specs, "loss": "none"}
    if trainable:
        chosen = loss if loss is not None else meta.get("loss")
        if chosen is None or chosen == "none" and loss is None:
            raise TypeError("import_model: trainable=True needs loss= (the file names none)")
        spec["loss"] = chosen
        opt = optimizer if optimizer is not None else meta.get("optimizer")
    elif loss is not None or optimizer is not None:
        raise TypeError("import_model: loss and optimizer are for trainable=True")
    else:  # a model keeps what a swann export recorded, so that Net.load of its file can train on
        spec["loss"] = meta.get("loss", "none")
        opt = meta.get("optimizer")
    if opt is not None:
        if isinstance(opt, str):
            opt = {"type": opt}
        spec["optimizer"] = dict(opt) if isinstance(opt, Mapping) else opt
    from_meta = loss is None and "loss" in meta or optimizer is None and "optimizer" in meta
    flat = np.concatenate([np.concatenate([la.weight.ravel(), la.bias]) for la in layers]).astype(np.float32)
    try:
        net = Net(spec, max_batch=128 if max_batch is None or not trainable else max_batch)
    except SwannError as e:
        if not from_meta:
            raise
        raise _fail("the file's swann.spec metadata gives a loss or optimizer swann refuses: %s" % e) from None
    if net.param_count != flat.size:  # pragma: no cover - the layer sizes made the spec
        raise _fail("%d parameters read, the net has %d" % (flat.size, net.param_count))
    net.params[:] = flat
    if trainable:
        return net
    try:
        return net.to_model(DEFAULT_MAX_BATCH if max_batch is None else max_batch)
    finally:
        net.close()
