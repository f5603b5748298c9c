"""Shared fixtures; and the numpy reference of the lecture's forward and backward
passes, which lives in Tests/common/numpy_ref.py (the checkpoint suite uses it
too) and is re-exported here, so tests import it from conftest or numpy_ref."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "data" / "digits.csv"
sys.path.insert(0, str(ROOT / "Tests" / "common"))

import swann  # noqa: E402
from swann import _core  # noqa: E402
from numpy_ref import (  # noqa: E402,F401  (re-exported for the tests)
    SQRT_2_OVER_PI, act, act_backward, alpha_of, join_params, layer_shapes, layer_sizes, ref_backward, ref_div,
    ref_forward, ref_forward_tensors, ref_mean_gradient, split_params, unpack)


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
