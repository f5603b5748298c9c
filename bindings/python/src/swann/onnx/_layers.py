"""A swann model's layers as numpy arrays, read from its model-file bytes.

Export reads the safetensors bytes the C library writes (``to_bytes``) rather
than ``Net.params``: the same path serves nets and models, and the file says
each weight's dtype, so a compact model (f16 / int8 weights, see deploy.md)
brings its stored weights and scales as they are.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8}


@dataclass
class Layer:
    """One layer: ``weight`` ``[out, in]`` as stored (float32, float16 or int8),
    ``scale`` ``[out]`` float32 for int8 weights (else None), ``bias`` ``[out]``
    float32, and the spec's activation with its alpha."""

    weight: np.ndarray
    scale: Optional[np.ndarray]
    bias: np.ndarray
    activation: str
    alpha: float


@dataclass
class Layers:
    spec: Dict[str, Any]
    metadata: Dict[str, str]
    layers: List[Layer]


def _tensor(header: Dict[str, Any], data: bytes, name: str) -> np.ndarray:
    info = header.get(name)
    if not isinstance(info, dict):
        raise ValueError("export: the model bytes have no tensor %s" % name)
    dtype = _DTYPES.get(str(info.get("dtype")))
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if dtype is None or not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
        raise ValueError("export: tensor %s has dtype %r; export knows F32, F16 and I8" % (name, info.get("dtype")))
    a, b = int(offsets[0]), int(offsets[1])
    count = int(np.prod(shape, dtype=np.int64))
    if not 0 <= a <= b <= len(data) or b - a != count * np.dtype(dtype).itemsize:
        raise ValueError("export: tensor %s: offsets %s do not hold shape %s" % (name, offsets, shape))
    return np.frombuffer(data, dtype, count, a).reshape(shape).copy()


def read_layers(blob: bytes) -> Layers:
    """The spec and every layer of model-file bytes (what ``to_bytes`` returns)."""
    if len(blob) < 8:
        raise ValueError("export: model bytes too short")
    (n,) = struct.unpack_from("<Q", blob, 0)
    if n > len(blob) - 8:
        raise ValueError("export: model header length %d exceeds the bytes" % n)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    spec = json.loads(meta.get("swann.spec", "null"))
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise ValueError("export: the model bytes carry no swann.spec")
    layers = []
    for k, ls in enumerate(spec["layers"]):
        w = _tensor(header, data, "layers.%d.weight" % k)
        scale = _tensor(header, data, "layers.%d.weight_scale" % k).astype(np.float32) if w.dtype == np.int8 else None
        bias = _tensor(header, data, "layers.%d.bias" % k).astype(np.float32)
        layers.append(Layer(w, scale, bias, str(ls.get("activation", "identity")), float(ls.get("alpha", 0.0))))
    return Layers(spec, {str(k): str(v) for k, v in meta.items()}, layers)
