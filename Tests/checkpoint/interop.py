"""interop.py -- swann model files and the Python safetensors package.

  (a) a file saved by swann reads with safetensors.numpy.load_file and
      safe_open(...).metadata(); its tensors are swann's parameters and optimizer
      state bit for bit, and a numpy forward pass with them (z = W y + b, the
      spec's activations) matches swann's forward output;
  (b) files written by safetensors.numpy.save_file (other tensor order, no
      optimizer tensors, extra header padding) load into swann and give the
      numpy forward's outputs; a swann file rewritten by Python (with its
      optimizer state) resumes training bit for bit like the original;
  (c) files Python can write but swann must refuse are SWANN_E_FORMAT.

swann is driven through ctypes. Usage: interop.py PREFIX (PREFIX/lib/libswann.so).
Prints ok/FAIL lines and "# interop: P passed, F failed"; exit status 1 on failure.
"""
import ctypes as C
import json
import os
import struct
import sys
import tempfile

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

# the shared numpy reference of the forward pass: Tests/common/numpy_ref.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from numpy_ref import layer_sizes, ref_forward_tensors, split_params  # noqa: E402

PASSED = 0
FAILED = 0


def check(cond, what, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok interop.py {what}")
    else:
        FAILED += 1
        print(f"FAIL interop.py {what}" + (f" [{detail}]" if detail else ""))
    sys.stdout.flush()


class Swann:
    OK, E_FORMAT = 0, 8

    def __init__(self, prefix):
        lib = C.CDLL(os.path.join(prefix, "lib", "libswann.so"))
        P, S = C.c_void_p, C.c_size_t
        sig = {
            "swann_version": (C.c_char_p, []),
            "swann_last_error": (C.c_char_p, []),
            "swann_create": (C.c_int, [C.c_char_p, S, P, S, C.POINTER(P)]),
            "swann_destroy": (None, [P]),
            "swann_input_size": (S, [P]),
            "swann_output_size": (S, [P]),
            "swann_param_count": (S, [P]),
            "swann_spec_json": (C.c_int, [P, C.c_char_p, S, C.POINTER(S)]),
            "swann_forward": (C.c_int, [P, C.POINTER(C.c_float), S, C.POINTER(C.c_float)]),
            "swann_backward": (C.c_int, [P, C.POINTER(C.c_float), C.POINTER(C.c_float), C.POINTER(C.c_float)]),
            "swann_step": (C.c_int, [P]),
            "swann_params": (C.c_int, [P, C.POINTER(C.POINTER(C.c_float)), C.POINTER(S)]),
            "swann_grads": (C.c_int, [P, C.POINTER(C.POINTER(C.c_float)), C.POINTER(S)]),
            "swann_save": (C.c_int, [P, C.c_char_p]),
            "swann_load": (C.c_int, [C.c_char_p, S, P, S, C.POINTER(P)]),
        }
        for name, (res, args) in sig.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.lib = lib

    def error(self):
        return self.lib.swann_last_error().decode(errors="replace")

    def version(self):
        return self.lib.swann_version().decode()

    def create(self, spec, max_batch=8):
        out = C.c_void_p()
        st = self.lib.swann_create(spec.encode(), max_batch, None, 0, C.byref(out))
        if st != 0:
            raise RuntimeError(f"create: {st}: {self.error()}")
        return out

    def load(self, path, max_batch=8):
        out = C.c_void_p()
        st = self.lib.swann_load(path.encode(), max_batch, None, 0, C.byref(out))
        return st, out

    def spec(self, net):
        need = C.c_size_t()
        self.lib.swann_spec_json(net, None, 0, C.byref(need))
        buf = C.create_string_buffer(need.value)
        self.lib.swann_spec_json(net, buf, need.value, C.byref(need))
        return buf.value.decode()

    def _flat(self, fn, net):
        p, n = C.POINTER(C.c_float)(), C.c_size_t()
        fn(net, C.byref(p), C.byref(n))
        return np.ctypeslib.as_array(p, shape=(n.value,))

    def params(self, net):
        """A live view of the parameters."""
        return self._flat(self.lib.swann_params, net)

    def grads(self, net):
        return self._flat(self.lib.swann_grads, net)

    def forward(self, net, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.zeros((x.shape[0], self.lib.swann_output_size(net)), dtype=np.float32)
        st = self.lib.swann_forward(net, x.ctypes.data_as(C.POINTER(C.c_float)), x.shape[0],
                                    y.ctypes.data_as(C.POINTER(C.c_float)))
        if st != 0:
            raise RuntimeError(f"forward: {st}: {self.error()}")
        return y

    def backward(self, net, t):
        t = np.ascontiguousarray(t, dtype=np.float32)
        st = self.lib.swann_backward(net, t.ctypes.data_as(C.POINTER(C.c_float)), None, None)
        if st != 0:
            raise RuntimeError(f"backward: {st}: {self.error()}")

    def step(self, net):
        st = self.lib.swann_step(net)
        if st != 0:
            raise RuntimeError(f"step: {st}: {self.error()}")


def close(a, b, rtol=1e-4, atol=1e-5):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


SPEC_MIXED = {
    "input": 6,
    "layers": [
        {"units": 9, "activation": "leaky_relu", "alpha": 0.1},
        {"units": 8, "activation": "elu", "alpha": 0.7},
        {"units": 7, "activation": "gelu"},
        {"units": 7, "activation": "softplus"},
        {"units": 6, "activation": "tanh"},
        {"units": 5, "activation": "sigmoid"},
        {"units": 4, "activation": "relu"},
        {"units": 3, "activation": "softmax"},
    ],
    "loss": "cross_entropy",
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
    "seed": 12,
}
SPEC_MSE = {
    "input": 5,
    "layers": [{"units": 11, "activation": "tanh"}, {"units": 2, "activation": "identity"}],
    "loss": "mse",
    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.5},
    "seed": 3,
}


def onehot(rng, rows, n):
    t = np.zeros((rows, n), dtype=np.float32)
    t[np.arange(rows), rng.integers(0, n, rows)] = 1
    return t


def part_a(sw, tmp):
    spec = SPEC_MIXED
    net = sw.create(json.dumps(spec))
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (8, spec["input"])).astype(np.float32)
    t = onehot(rng, 8, 3)
    # one step from a fresh optimizer: the momentum buffer is the mean gradient
    sw.forward(net, x)
    sw.backward(net, t)
    grads = sw.grads(net).copy()
    sw.step(net)
    path = os.path.join(tmp, "from-swann.safetensors")
    check(sw.lib.swann_save(net, path.encode()) == 0, "(a) swann saves a file")
    tensors = load_file(path)
    n_layers = len(spec["layers"])
    want = {"optimizer.step"}
    for k in range(n_layers):
        for w in ("weight", "bias"):
            want |= {f"layers.{k}.{w}", f"optimizer.{k}.{w}.momentum_buffer"}
    check(set(tensors) == want, "(a) safetensors.numpy.load_file reads swann's file with the expected tensor names",
          f"{sorted(set(tensors) ^ want)}")
    with safe_open(path, "np") as f:
        meta = f.metadata()
    spec_json = sw.spec(net)
    check(meta == {"format": "swann", "swann.version": sw.version(), "swann.spec": spec_json},
          "(a) safe_open().metadata() is format, swann.version and the canonical swann.spec", f"{meta}")
    step = tensors["optimizer.step"]
    check(step.dtype == np.int64 and step.shape == () and int(step) == 1, "(a) optimizer.step is an int64 scalar = 1",
          f"{step.dtype} {step.shape} {step}")
    sizes = layer_sizes(spec)
    shapes_ok = all(tensors[f"layers.{k}.weight"].shape == (sizes[k + 1], sizes[k]) and
                    tensors[f"layers.{k}.bias"].shape == (sizes[k + 1],) and
                    tensors[f"layers.{k}.weight"].dtype == np.float32 for k in range(n_layers))
    check(shapes_ok, "(a) weights are F32 [out, in], biases F32 [out]")
    params = split_params(spec, sw.params(net).copy())
    same = all(np.array_equal(params[k].view(np.uint32), tensors[k].view(np.uint32)) for k in params)
    check(same, "(a) the file's layers.* tensors are swann's parameters bit for bit")
    scale = np.float32(1) / np.float32(8)
    g = split_params(spec, grads)
    mom_ok = all(np.array_equal((g[k] * scale).view(np.uint32),
                                tensors[k.replace("layers.", "optimizer.") + ".momentum_buffer"].view(np.uint32))
                 for k in g)
    check(mom_ok, "(a) momentum_buffer after one step is the gradient / T (PyTorch's first-step rule), bit for bit")
    xs = rng.uniform(-2, 2, (8, spec["input"])).astype(np.float32)
    y_swann = sw.forward(net, xs)
    y_np = ref_forward_tensors(json.loads(spec_json), tensors, xs)
    check(close(y_swann, y_np), "(a) numpy forward with the file's weights equals swann's forward output",
          f"max diff {np.abs(y_swann - y_np).max()}")
    np.save(os.path.join(tmp, "swann_forward.npy"), y_swann)
    check(np.array_equal(np.load(os.path.join(tmp, "swann_forward.npy")), y_swann), "(a) outputs saved to .npy")
    sw.lib.swann_destroy(net)


def rewrite_header(path, out, key_order, extra_pad, pad=b" "):
    """Rewrites a safetensors file's header: keys in key_order, JSON with spaces,
    padded to 8 and then extra_pad more bytes."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    text = json.dumps({k: header[k] for k in key_order}, indent=1).encode()
    text += b" " * (-len(text) % 8) + pad * extra_pad
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
    return header


def part_b(sw, tmp):
    rng = np.random.default_rng(7)
    for spec in (SPEC_MSE, SPEC_MIXED):
        name = "mse" if spec is SPEC_MSE else "mixed"
        sizes = layer_sizes(spec)
        tensors = {}
        # insertion order: biases first, last layer first
        for k in reversed(range(len(spec["layers"]))):
            tensors[f"layers.{k}.bias"] = rng.normal(0, 0.3, sizes[k + 1]).astype(np.float32)
        for k in reversed(range(len(spec["layers"]))):
            tensors[f"layers.{k}.weight"] = rng.normal(0, 0.5, (sizes[k + 1], sizes[k])).astype(np.float32)
        path = os.path.join(tmp, f"from-python-{name}.safetensors")
        save_file(tensors, path, metadata={"format": "swann", "swann.spec": json.dumps(spec, indent=2)})
        x = rng.uniform(-2, 2, (8, spec["input"])).astype(np.float32)
        y_np = ref_forward_tensors(spec, tensors, x)

        def loads_and_matches(p, label):
            st, net = sw.load(p)
            check(st == 0, f"(b) {name}: {label} loads into swann", f"status {st}: {sw.error()}")
            if st != 0:
                return
            params = split_params(spec, sw.params(net).copy())
            check(all(np.array_equal(params[k], tensors[k]) for k in tensors),
                  f"(b) {name}: {label}: swann's parameters are the numpy arrays bit for bit")
            y = sw.forward(net, x)
            check(close(y, y_np), f"(b) {name}: {label}: swann's forward equals the numpy forward",
                  f"max diff {np.abs(y - y_np).max()}")
            sw.lib.swann_destroy(net)

        loads_and_matches(path, "save_file output (other order, no optimizer tensors)")
        raw = open(path, "rb").read()
        keys = list(json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]]))
        p2 = os.path.join(tmp, f"from-python-{name}-padded.safetensors")
        rewrite_header(path, p2, list(reversed(keys)), 37)
        loads_and_matches(p2, "header reversed, indented and padded 37 more bytes")
        with safe_open(p2, "np") as f:
            check(set(f.keys()) == set(tensors), f"(b) {name}: safetensors itself still reads the padded file")


def part_b_resume(sw, tmp):
    """swann file -> load_file -> save_file (Python's layout) -> swann: the same training state."""
    spec = SPEC_MSE
    rng = np.random.default_rng(3)
    batches = [(rng.uniform(-1, 1, (8, 5)).astype(np.float32), rng.uniform(-1, 1, (8, 2)).astype(np.float32))
               for _ in range(7)]
    net = sw.create(json.dumps(spec))
    for x, t in batches[:3]:
        sw.forward(net, x), sw.backward(net, t), sw.step(net)
    orig = os.path.join(tmp, "resume-swann.safetensors")
    sw.lib.swann_save(net, orig.encode())
    tensors = load_file(orig)
    with safe_open(orig, "np") as f:
        meta = f.metadata()
    again = os.path.join(tmp, "resume-python.safetensors")
    save_file(dict(reversed(list(tensors.items()))), again, metadata=meta)
    check(open(again, "rb").read() != open(orig, "rb").read(), "(b) Python's rewrite has another layout")
    nets = []
    for p in (orig, again):
        st, n = sw.load(p)
        check(st == 0, f"(b) {os.path.basename(p)} loads", f"{st}: {sw.error()}")
        nets.append(n)
    if all(n.value for n in nets):
        for n in nets:
            for x, t in batches[3:]:
                sw.forward(n, x), sw.backward(n, t), sw.step(n)
        for x, t in batches[3:]:
            sw.forward(net, x), sw.backward(net, t), sw.step(net)
        p0, p1, p2 = (sw.params(n).copy() for n in (net, nets[0], nets[1]))
        check(np.array_equal(p0, p1) and np.array_equal(p0, p2),
              "(b) training resumed from Python's rewrite (momentum and step kept) equals uninterrupted training")
        for n in nets:
            sw.lib.swann_destroy(n)
    sw.lib.swann_destroy(net)


def part_c(sw, tmp):
    spec = SPEC_MSE
    sizes = layer_sizes(spec)
    good = {}
    for k in range(2):
        good[f"layers.{k}.weight"] = np.ones((sizes[k + 1], sizes[k]), np.float32)
        good[f"layers.{k}.bias"] = np.zeros(sizes[k + 1], np.float32)
    spec_json = json.dumps(spec)
    cases = [
        ("no metadata", good, None),
        ("format pt", good, {"format": "pt", "swann.spec": spec_json}),
        ("no swann.spec", good, {"format": "swann"}),
        ("F16 weights", {**good, "layers.0.weight": good["layers.0.weight"].astype(np.float16)},
         {"format": "swann", "swann.spec": spec_json}),
        ("F64 bias", {**good, "layers.1.bias": good["layers.1.bias"].astype(np.float64)},
         {"format": "swann", "swann.spec": spec_json}),
        ("transposed weight", {**good, "layers.0.weight": np.ones((5, 11), np.float32)},
         {"format": "swann", "swann.spec": spec_json}),
        ("NaN weight", {**good, "layers.1.weight": np.full((2, 11), np.nan, np.float32)},
         {"format": "swann", "swann.spec": spec_json}),
        ("step as F32 with momentum buffers",
         {**good, "optimizer.step": np.array(1.0, np.float32),
          **{f"optimizer.{k}.{w}.momentum_buffer": v for (k, w), v in
             {(0, "weight"): good["layers.0.weight"], (0, "bias"): good["layers.0.bias"],
              (1, "weight"): good["layers.1.weight"], (1, "bias"): good["layers.1.bias"]}.items()}},
         {"format": "swann", "swann.spec": spec_json}),
        ("an extra tensor", {**good, "extra": np.zeros(3, np.float32)}, {"format": "swann", "swann.spec": spec_json}),
    ]
    for name, tensors, meta in cases:
        p = os.path.join(tmp, "bad.safetensors")
        save_file(tensors, p, metadata=meta)
        st, net = sw.load(p)
        check(st == Swann.E_FORMAT and not net.value, f"(c) Python-written file with {name} -> SWANN_E_FORMAT",
              f"status {st}: {sw.error()}")
        if st == 0:
            sw.lib.swann_destroy(net)
    # and the control: the good one loads
    p = os.path.join(tmp, "good.safetensors")
    save_file(good, p, metadata={"format": "swann", "swann.spec": spec_json})
    st, net = sw.load(p)
    check(st == 0, "(c) control: the same file done right loads", f"status {st}: {sw.error()}")
    if st == 0:
        sw.lib.swann_destroy(net)


def main():
    if len(sys.argv) != 2:
        print("usage: interop.py PREFIX", file=sys.stderr)
        return 2
    sw = Swann(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ckpt-interop-", dir=os.environ.get("CKPT_TMP")) as tmp:
        for part in (part_a, part_b, part_b_resume, part_c):
            try:
                part(sw, tmp)
            except Exception as e:  # a crash of one part is one failure
                check(False, f"{part.__name__} ran to the end", f"{type(e).__name__}: {e}")
    print(f"# interop: {PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
