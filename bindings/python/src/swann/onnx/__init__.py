"""ONNX export and import for swann (needs the ``onnx`` package:
``pip install ./bindings/python[onnx]``).

    import swann, swann.onnx
    swann.onnx.export(swann.Model.load("digits.safetensors"), "digits.onnx")
    model = swann.onnx.import_model("mlp.onnx")                       # a swann.Model
    net = swann.onnx.import_model("mlp.onnx", trainable=True, loss="cross_entropy",
                                  optimizer={"type": "adam", "lr": 1e-3})  # a swann.Net

Command line: ``python -m swann.onnx export model.safetensors model.onnx``
and ``python -m swann.onnx import model.onnx model.safetensors``.
"""

from __future__ import annotations

try:
    import onnx as _onnx  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("swann.onnx needs the onnx package: pip install './bindings/python[onnx]' (%s)" % e) from e

from ._export import MIN_OPSET, export, newest_opset
from ._import import import_model

__all__ = ["export", "import_model", "MIN_OPSET", "newest_opset"]
