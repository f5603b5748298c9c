"""swann.onnx: export runs in ONNX Runtime with swann's outputs, PyTorch's
exports import with PyTorch's outputs, and hostile files raise ValueError.

Needs onnx and onnxruntime (Tests/python/run.sh installs both into build/venv).
The PyTorch fixtures are made by fixtures/onnx/make_fixtures.py.
"""

from __future__ import annotations

import functools
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import swann  # noqa: E402
import swann.onnx as sonnx  # noqa: E402
from swann.onnx import _export  # noqa: E402
from conftest import DIGITS  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "onnx"
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "softmax"]
RTOL, ATOL = 1e-5, 1e-6  # the tolerance: 1e-5 relative with a 1e-6 absolute floor


def run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in s.get_inputs()] == ["input"] and [o.name for o in s.get_outputs()] == ["output"]
    return s.run(None, {"input": x})[0]


@functools.lru_cache(maxsize=None)
def newest_ort_opset() -> int:
    """The newest opset (at its IR version) that both onnx writes and the installed ONNX Runtime loads."""
    net = swann.Net({"input": 2, "layers": [{"units": 2, "activation": "relu"}], "loss": "none"}, max_batch=1)
    for opset in range(sonnx.newest_opset(), sonnx.MIN_OPSET - 1, -1):
        try:
            ort.InferenceSession(_export.build(net.to_bytes(), opset).SerializeToString(),
                                 providers=["CPUExecutionProvider"])
            return opset
        except Exception:
            continue
    pytest.fail("ONNX Runtime %s runs none of opsets 13...%d" % (ort.__version__, sonnx.newest_opset()))


OPSETS = [13, "newest"]


def opset_of(o: Any) -> int:
    return newest_ort_opset() if o == "newest" else int(o)


def layer(units: int, act: str, alpha: float = 0.3) -> Dict[str, Any]:
    d: Dict[str, Any] = {"units": units, "activation": act}
    if act in ("leaky_relu", "elu"):
        d["alpha"] = alpha
    return d


def check_export(net: swann.Net, tmp_path: Path, opset: int, rows: int = 23, scale: float = 2.0) -> float:
    """Exports ``net``, checks the file, compares ONNX Runtime with swann and
    the re-imported model with swann; returns the largest absolute difference."""
    path = tmp_path / ("net-%d.onnx" % opset)
    sonnx.export(net, path, opset=opset)
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    assert [(o.domain, o.version) for o in m.opset_import] == [("", opset)]
    meta = {p.key: p.value for p in m.metadata_props}
    assert json.loads(meta["swann.spec"]) == net.spec
    x = (np.random.default_rng(opset).standard_normal((rows, net.input_size)) * scale).astype(np.float32)
    want = net.predict(x)
    got = run_ort(path, x)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(run_ort(path, x[:1]), want[:1], rtol=RTOL, atol=ATOL)  # dynamic batch
    with sonnx.import_model(path) as back:  # the same weights, the same activations: the same bits
        assert np.array_equal(back.predict(x), want)
    return float(np.abs(got - want).max())


# ---- export -------------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation_in_every_position(act: str, position: int, opset: Any, tmp_path: Path) -> None:
    acts = ["tanh", "elu", "sigmoid"]
    acts[position] = act
    spec = {"input": 7, "layers": [layer(u, a) for u, a in zip((11, 9, 5), acts)], "loss": "none", "seed": 3}
    check_export(swann.Net(spec, max_batch=32), tmp_path, opset_of(opset))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("seed", range(6))
def test_random_stacks(seed: int, opset: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    layers = [layer(int(rng.integers(1, 40)), str(rng.choice(ACTIVATIONS)), float(rng.uniform(0.01, 1.5)))
              for _ in range(n)]
    spec = {"input": int(rng.integers(1, 50)), "layers": layers, "loss": "none", "seed": seed,
            "init": str(rng.choice(["xavier", "he"]))}
    check_export(swann.Net(spec, max_batch=32), tmp_path, opset_of(opset))


def test_model_exports_as_its_net_does(tmp_path: Path) -> None:
    net = swann.Net({"input": 6, "layers": [layer(10, "gelu"), layer(4, "softmax")], "loss": "cross_entropy",
                     "seed": 1}, max_batch=8)
    sonnx.export(net, tmp_path / "net.onnx")
    with net.to_model() as model:
        sonnx.export(model, tmp_path / "model.onnx")
    assert (tmp_path / "net.onnx").read_bytes() == (tmp_path / "model.onnx").read_bytes()


def test_gelu_is_one_operator_from_opset_20(tmp_path: Path) -> None:
    net = swann.Net({"input": 3, "layers": [layer(4, "gelu")], "loss": "none"}, max_batch=2)
    ops13 = [n.op_type for n in _export.build(net.to_bytes(), 13).graph.node]
    ops20 = [n.op_type for n in _export.build(net.to_bytes(), 20).graph.node]
    assert "Gelu" not in ops13 and "Tanh" in ops13
    assert ops20 == ["Gemm", "Gelu"]


def test_export_refuses_bad_arguments(tmp_path: Path) -> None:
    net = swann.Net({"input": 3, "layers": [layer(2, "relu")], "loss": "none"}, max_batch=2)
    with pytest.raises(ValueError, match="opset 12 is not in 13"):
        sonnx.export(net, tmp_path / "a.onnx", opset=12)
    with pytest.raises(ValueError, match="opset"):
        sonnx.export(net, tmp_path / "a.onnx", opset=sonnx.newest_opset() + 1)
    with pytest.raises(TypeError, match="opset must be an integer"):
        sonnx.export(net, tmp_path / "a.onnx", opset="13")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a swann.Net or swann.Model"):
        sonnx.export("net.safetensors", tmp_path / "a.onnx")  # type: ignore[arg-type]
    net.close()
    with pytest.raises(ValueError, match="closed"):
        sonnx.export(net, tmp_path / "a.onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written


def safetensors(tensors: Dict[str, np.ndarray], meta: Dict[str, str]) -> bytes:
    """Model-file bytes as deploy.md lays out a compact model (the compact-weights issue)."""
    dt = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int8): "I8"}
    header: Dict[str, Any] = {"__metadata__": meta}
    data = b""
    for name, a in sorted(tensors.items(), key=lambda kv: -kv[1].dtype.itemsize):
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt[a.dtype], "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("dtype", ["f16", "int8"])
def test_compact_weights_export_with_cast_or_dequantize(dtype: str, tmp_path: Path) -> None:
    # Until compact models land, their file layout (deploy.md) is written here by hand;
    # ONNX Runtime must compute with exactly the stored weights, widened to float32.
    rng = np.random.default_rng(5)
    spec = {"input": 6, "layers": [layer(8, "relu"), layer(3, "softmax")], "loss": "none"}
    tensors: Dict[str, np.ndarray] = {}
    weights: List[np.ndarray] = []
    for k, (o, i) in enumerate([(8, 6), (3, 8)]):
        w = rng.standard_normal((o, i)).astype(np.float32)
        if dtype == "f16":
            tensors["layers.%d.weight" % k] = w.astype(np.float16)
            weights.append(w.astype(np.float16).astype(np.float32))
        else:
            scale = (np.abs(w).max(axis=1) / 127).astype(np.float32)
            q = np.round(w / scale[:, None]).astype(np.int8)
            tensors["layers.%d.weight" % k] = q
            tensors["layers.%d.weight_scale" % k] = scale
            weights.append(q.astype(np.float32) * scale[:, None])
        tensors["layers.%d.bias" % k] = rng.standard_normal(o).astype(np.float32)
    blob = safetensors(tensors, {"format": "swann", "swann.spec": json.dumps(spec), "swann.weights": dtype})
    m = _export.build(blob, 13)
    onnx.checker.check_model(m, full_check=True)
    assert ("Cast" if dtype == "f16" else "DequantizeLinear") in [n.op_type for n in m.graph.node]
    x = rng.standard_normal((9, 6)).astype(np.float32)
    h = np.maximum(x @ weights[0].T + tensors["layers.0.bias"], 0)
    z = h @ weights[1].T + tensors["layers.1.bias"]
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    path = tmp_path / "compact.onnx"
    path.write_bytes(m.SerializeToString())
    np.testing.assert_allclose(run_ort(path, x), want, rtol=RTOL, atol=ATOL)


# ---- import of PyTorch's exports ----------------------------------------------------------------

FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.onnx"))


def test_fixtures_cover_both_exporters_and_both_layouts() -> None:
    kinds = {f.split("_", 1)[0] for f in FIXTURE_FILES}
    assert kinds == {"torchscript", "dynamo", "matmul"} and len(FIXTURE_FILES) == 9
    for f in FIXTURE_FILES:
        m = onnx.load(str(FIXTURES / f))
        ops = {n.op_type for n in m.graph.node}
        if f.startswith("matmul"):
            assert "MatMul" in ops and "Gemm" not in ops
        else:
            assert "Gemm" in ops and "MatMul" not in ops
        if not f.startswith("torchscript"):  # the dynamo exporter: opset 18, IR 10
            assert (m.ir_version, m.opset_import[0].version) == (10, 18)


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_pytorch_export_imports_with_pytorchs_outputs(name: str) -> None:
    expected = np.load(FIXTURES / "expected.npz")
    model_name = name.split("_", 1)[1][:-len(".onnx")]
    x, want = expected["x_" + model_name], expected["y_" + model_name]
    with sonnx.import_model(FIXTURES / name) as model:
        assert isinstance(model, swann.Model)
        np.testing.assert_allclose(model.predict(x), want, rtol=RTOL, atol=ATOL)
    net = sonnx.import_model(FIXTURES / name, trainable=True, loss="mse")
    assert isinstance(net, swann.Net)
    np.testing.assert_allclose(net.predict(x), want, rtol=RTOL, atol=ATOL)


def test_fixture_activations() -> None:
    acts = {}
    for name in FIXTURE_FILES:
        with sonnx.import_model(FIXTURES / name) as model:
            acts[name] = [(la["activation"], la.get("alpha")) for la in model.spec["layers"]]
    for kind in ("torchscript", "dynamo", "matmul"):
        assert acts[kind + "_relu_tanh_softmax.onnx"] == [("relu", None), ("tanh", None), ("softmax", None)]
        got = acts[kind + "_gelu_leaky_elu_sigmoid.onnx"]
        assert [a for a, _ in got] == ["gelu", "leaky_relu", "elu", "sigmoid"]
        assert got[1][1] == pytest.approx(0.2) and got[2][1] == pytest.approx(0.7)
        assert acts[kind + "_softplus_identity.onnx"] == [("softplus", None), ("identity", None)]


def test_imported_net_continues_training() -> None:
    expected = np.load(FIXTURES / "expected.npz")
    net = sonnx.import_model(FIXTURES / "dynamo_relu_tanh_softmax.onnx", trainable=True, loss="cross_entropy",
                             optimizer={"type": "adam", "lr": 0.01}, max_batch=64)
    assert net.spec["optimizer"]["type"] == "adam" and net.max_batch == 64
    x0 = expected["x_relu_tanh_softmax"]
    np.testing.assert_allclose(net.predict(x0), expected["y_relu_tanh_softmax"], rtol=RTOL, atol=ATOL)
    x = np.random.default_rng(0).standard_normal((256, 6)).astype(np.float32)
    labels = np.argmax(x[:, :3], axis=1)  # a task the imported weights do not know
    history = net.fit(x, labels, epochs=20, batch_size=32, seed=0, progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_trainable_import_takes_loss_and_optimizer_from_swann_metadata(tmp_path: Path) -> None:
    spec = {"input": 4, "layers": [layer(5, "relu"), layer(3, "softmax")], "loss": "cross_entropy",
            "optimizer": {"type": "rmsprop", "lr": 0.002}}
    sonnx.export(swann.Net(spec, max_batch=4), tmp_path / "a.onnx")
    net = sonnx.import_model(tmp_path / "a.onnx", trainable=True)
    assert net.spec["loss"] == "cross_entropy" and net.spec["optimizer"]["type"] == "rmsprop"
    with pytest.raises(TypeError, match="trainable=True needs loss="):
        sonnx.import_model(FIXTURES / "torchscript_relu_tanh_softmax.onnx", trainable=True)
    with pytest.raises(TypeError, match="for trainable=True"):
        sonnx.import_model(tmp_path / "a.onnx", loss="mse")


# ---- the digits model of `make demo` and the command line ---------------------------------------

def digits_net() -> Any:
    """The demo's digits net trained 10 epochs on its 80/20 split: (net, xt, yt, xv, yv)."""
    data = np.loadtxt(DIGITS, delimiter=",", dtype=np.int64)
    x, y = (data[:, :64] / 16.0).astype(np.float32), data[:, 64]
    order = np.random.default_rng(0).permutation(len(y))  # the demo's 80/20 split
    n = int(round(0.8 * len(y)))
    xt, yt, xv, yv = x[order[:n]], y[order[:n]], x[order[n:]], y[order[n:]]
    spec = {"input": 64, "layers": [layer(128, "relu"), layer(64, "relu"), layer(10, "softmax")],
            "loss": "cross_entropy", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "seed": 0}
    net = swann.Net(spec, max_batch=128)
    net.fit(xt, yt, epochs=10, batch_size=32, seed=0, progress=False)
    return net, xt, yt, xv, yv


def test_digits_model_same_accuracy_in_onnx_runtime(tmp_path: Path) -> None:
    net, xt, yt, xv, yv = digits_net()
    net.save(tmp_path / "digits.safetensors")
    # The command line, as README shows it: model file -> ONNX -> ONNX Runtime.
    cli = [sys.executable, "-m", "swann.onnx"]
    r = subprocess.run(cli + ["export", str(tmp_path / "digits.safetensors"), str(tmp_path / "digits.onnx")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    p_swann = net.predict(xv)
    p_ort = run_ort(tmp_path / "digits.onnx", xv)
    np.testing.assert_allclose(p_ort, p_swann, rtol=RTOL, atol=ATOL)
    acc_swann = float(np.mean(p_swann.argmax(1) == yv))
    acc_ort = float(np.mean(p_ort.argmax(1) == yv))
    assert acc_swann >= 0.9 and acc_ort == acc_swann
    # ... and back: ONNX -> swann model file, which loads with the same outputs.
    r = subprocess.run(cli + ["import", str(tmp_path / "digits.onnx"), str(tmp_path / "back.safetensors")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with swann.Model.load(tmp_path / "back.safetensors") as back:
        assert np.array_equal(back.predict(xv), p_swann)
    # The file kept the spec's loss and optimizer: it loads as a net that trains on.
    again = swann.Net.load(tmp_path / "back.safetensors")
    assert again.spec["loss"] == "cross_entropy" and again.spec["optimizer"] == net.spec["optimizer"]
    assert np.array_equal(again.predict(xv), p_swann)
    again.fit(xt, yt, epochs=1, batch_size=32, seed=0, progress=False)


@pytest.mark.parametrize("dtype", ["f16", "int8"])
def test_compact_digits_models_in_onnx_runtime(dtype: str, tmp_path: Path) -> None:
    """A digits model quantized by swann (swann_model_quantize) exports with a Cast (f16) or a
    per-row DequantizeLinear (int8) in front of each Gemm: ONNX Runtime's probabilities are
    within 1e-3 of swann's f16 session, and its int8 graph (weight-only dequantization; swann's
    session also rounds each input row to int8) gets the held-out accuracy within one image."""
    net, _, _, xv, yv = digits_net()
    with net.to_model() as f32, f32.quantize(dtype) as q:
        sonnx.export(q, tmp_path / "q.onnx")
        ops = [nd.op_type for nd in onnx.load(str(tmp_path / "q.onnx")).graph.node]
        assert ops.count("Cast" if dtype == "f16" else "DequantizeLinear") == 3
        p_swann = q.predict(xv)
        p_ort = run_ort(tmp_path / "q.onnx", xv)
    if dtype == "f16":
        assert float(np.max(np.abs(p_ort - p_swann))) <= 1e-3
    wrong_swann = int(np.sum(p_swann.argmax(1) != yv))
    wrong_ort = int(np.sum(p_ort.argmax(1) != yv))
    assert abs(wrong_ort - wrong_swann) <= 1, (wrong_swann, wrong_ort)


def test_command_line_reports_errors_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file at all")
    r = subprocess.run([sys.executable, "-m", "swann.onnx", "import", str(bad), str(tmp_path / "m.safetensors")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "import_model:" in r.stderr
    r = subprocess.run([sys.executable, "-m", "swann.onnx", "export", str(tmp_path / "missing.safetensors"),
                        str(tmp_path / "m.onnx")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert not (tmp_path / "m.safetensors").exists() and not (tmp_path / "m.onnx").exists()


# ---- hostile files ------------------------------------------------------------------------------

def mlp(tmp_path: Path, mutate: Optional[Any] = None, opset: int = 13) -> Path:
    """A valid 4-5-3 Gemm MLP (ReLU, Softmax), changed by ``mutate(model)`` before it is written."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((5, 4)).astype(np.float32), "w0"),
             numpy_helper.from_array(np.zeros(5, np.float32), "b0"),
             numpy_helper.from_array(rng.standard_normal((3, 5)).astype(np.float32), "w1"),
             numpy_helper.from_array(np.zeros(3, np.float32), "b1")]
    nodes = [helper.make_node("Gemm", ["input", "w0", "b0"], ["z0"], name="gemm0", transB=1),
             helper.make_node("Relu", ["z0"], ["y0"], name="relu0"),
             helper.make_node("Gemm", ["y0", "w1", "b1"], ["z1"], name="gemm1", transB=1),
             helper.make_node("Softmax", ["z1"], ["output"], name="softmax1", axis=-1)]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if mutate is not None:
        mutate(m)
    path = tmp_path / "hostile.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def node(m: Any, name: str) -> Any:
    return next(n for n in m.graph.node if n.name == name)


def init(m: Any, name: str) -> Any:
    return next(t for t in m.graph.initializer if t.name == name)


def set_init(m: Any, name: str, a: np.ndarray) -> None:
    init(m, name).CopyFrom(numpy_helper.from_array(a, name))


def replace_node(m: Any, name: str, *new: Any) -> None:
    nodes = list(m.graph.node)
    i = [n.name for n in nodes].index(name)
    nodes[i:i + 1] = list(new)
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def test_valid_hand_made_mlp_imports(tmp_path: Path) -> None:
    with sonnx.import_model(mlp(tmp_path)) as m:
        assert [la["activation"] for la in m.spec["layers"]] == ["relu", "softmax"]


def _swap_nodes(m: Any) -> None:
    nodes = list(m.graph.node)
    nodes[0], nodes[1] = nodes[1], nodes[0]
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def _cycle(m: Any) -> None:
    node(m, "gemm0").input[0] = "y0"  # gemm0 reads relu0's output, which reads gemm0's


def _erf_gelu(m: Any) -> None:
    m.graph.initializer.extend([numpy_helper.from_array(np.array(v, np.float32), n)
                                for n, v in (("r2", 1.4142135), ("one", 1.0), ("half", 0.5))])
    replace_node(m, "relu0", helper.make_node("Div", ["z0", "r2"], ["d"], name="div"),
                 helper.make_node("Erf", ["d"], ["e"], name="erf"),
                 helper.make_node("Add", ["e", "one"], ["a"], name="add"),
                 helper.make_node("Mul", ["z0", "a"], ["p"], name="mul"),
                 helper.make_node("Mul", ["p", "half"], ["y0"], name="half"))


def _wrong_formula(m: Any) -> None:  # 2 * z is no swann activation
    m.graph.initializer.extend([numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    replace_node(m, "relu0", helper.make_node("Mul", ["z0", "two"], ["y0"], name="double"))


def _skip_connection(m: Any) -> None:
    nodes = list(m.graph.node)
    nodes[2].output[0] = "z1a"
    nodes.insert(3, helper.make_node("Add", ["z1a", "input"], ["z1"], name="skip"))
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def _truncated_raw(m: Any) -> None:
    t = init(m, "w1")
    raw = numpy_helper.to_array(t).tobytes()
    t.ClearField("float_data")
    t.raw_data = raw[:-4]


HOSTILE = {
    "unsupported operator": (lambda m: setattr(node(m, "relu0"), "op_type", "Sin"), "operator Sin"),
    "log_softmax": (lambda m: setattr(node(m, "softmax1"), "op_type", "LogSoftmax"), "LogSoftmax"),
    "custom domain": (lambda m: (setattr(node(m, "relu0"), "domain", "com.example"),
                                 m.opset_import.append(helper.make_opsetid("com.example", 1))), "com.example"),
    "softmax on axis 0": (lambda m: node(m, "softmax1").attribute[0].CopyFrom(helper.make_attribute("axis", 0)),
                          "axis 0"),
    "erf gelu": (_erf_gelu, "operator Erf"),
    "formula of no activation": (_wrong_formula, "not one of swann's activations"),
    "skip connection": (_skip_connection, "'input'"),
    "weight of the wrong shape": (lambda m: set_init(m, "w1", np.zeros((3, 6), np.float32)), "w1"),
    "weight with 3 dimensions": (lambda m: set_init(m, "w0", np.zeros((5, 4, 1), np.float32)), "w0"),
    "bias of the wrong size": (lambda m: set_init(m, "b0", np.zeros(4, np.float32)), "b0"),
    "float64 weight": (lambda m: set_init(m, "w0", np.zeros((5, 4), np.float64)), "float64"),
    "int32 bias": (lambda m: set_init(m, "b1", np.zeros(3, np.int32)), "b1"),
    "initializer shorter than its shape": (_truncated_raw, "w1"),
    "NaN weight": (lambda m: set_init(m, "w0", np.full((5, 4), np.nan, np.float32)), "NaN"),
    "weight from the input": (lambda m: node(m, "gemm1").input.__setitem__(1, "input"), "not an initializer"),
    "huge declared shape": (lambda m: init(m, "w0").dims.__setitem__(0, 1 << 40), "w0"),
    "transA": (lambda m: node(m, "gemm0").attribute.append(helper.make_attribute("transA", 1)), "transA"),
    "Gemm alpha": (lambda m: node(m, "gemm1").attribute.append(helper.make_attribute("alpha", 2.0)), "alpha"),
    "nodes out of order": (_swap_nodes, "valid ONNX model|before it is computed"),
    "cycle": (_cycle, "valid ONNX model|before it is computed"),
    "3-D input": (lambda m: m.graph.input[0].type.tensor_type.shape.dim.append(
        onnx.TensorShapeProto.Dimension(dim_value=1)), "3 dimensions"),
    "two inputs": (lambda m: m.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1])),
                   "2 inputs"),
    "int input": (lambda m: setattr(m.graph.input[0].type.tensor_type, "elem_type", TensorProto.INT64), "float32"),
    "no layers": (lambda m: (m.graph.ClearField("node"), m.graph.node.append(
        helper.make_node("Relu", ["input"], ["output"], name="only"))), "before the first Gemm"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_raises_a_clear_error(case: str, tmp_path: Path) -> None:
    mutate, pattern = HOSTILE[case]
    with pytest.raises(ValueError, match=pattern) as e:
        sonnx.import_model(mlp(tmp_path, mutate))
    assert str(e.value).startswith("import_model: ") and "\n" not in str(e.value)


def test_metadata_spec_swann_refuses_is_a_clear_error(tmp_path: Path) -> None:
    path = mlp(tmp_path, lambda m: helper.set_model_props(m, {"swann.spec": '{"loss": "bogus"}'}))
    with pytest.raises(ValueError, match="metadata gives a loss or optimizer swann refuses"):
        sonnx.import_model(path)
    with sonnx.import_model(path, trainable=True, loss="mse") as net:  # the caller's loss wins
        assert net.spec["loss"] == "mse"


def test_gelu_without_tanh_approximation_is_refused(tmp_path: Path) -> None:
    path = mlp(tmp_path, lambda m: setattr(node(m, "relu0"), "op_type", "Gelu"), opset=20)
    with pytest.raises(ValueError, match="tanh approximation"):
        sonnx.import_model(path)


@pytest.mark.parametrize("cut", [0, 1, 7, 50, 0.5, -1])
def test_truncated_file_raises(cut: Any, tmp_path: Path) -> None:
    data = mlp(tmp_path).read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    (tmp_path / "cut.onnx").write_bytes(data[:n])
    with pytest.raises(ValueError, match="import_model: "):
        sonnx.import_model(tmp_path / "cut.onnx")


def test_random_bytes_never_crash(tmp_path: Path) -> None:
    data = bytearray(mlp(tmp_path).read_bytes())
    rng = np.random.default_rng(1)
    for trial in range(200):
        b = bytearray(data)
        for i in rng.integers(0, len(b), size=int(rng.integers(1, 8))):
            b[int(i)] = int(rng.integers(0, 256))
        (tmp_path / "flip.onnx").write_bytes(bytes(b))
        try:
            with sonnx.import_model(tmp_path / "flip.onnx") as m:  # a flip in a weight still imports
                m.predict(np.zeros((1, m.input_size), np.float32))
        except (ValueError, swann.SwannError):
            pass


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sonnx.import_model(tmp_path / "absent.onnx")
