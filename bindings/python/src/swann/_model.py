"""The :class:`Model` object: a read-only trained net served to many threads.

A model holds the spec and the weights (``swann_model``); each Python thread
that calls :meth:`Model.predict` gets its own session (``swann_session``: the
activation buffers, nothing else), created on its first call. The C library is
loaded with ``ctypes.CDLL``, which releases the GIL for the length of every
call, so sessions on different threads really run at the same time.
"""

from __future__ import annotations

import ctypes
import json
import operator
import os
import threading
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Dict, Optional, Union

import numpy as np

from ._core import (Net, Status, SwannError, _addr, _as_f32, _error, _F32, _FSIZE, _SIZE_MAX, _path_bytes, lib)

__all__ = ["Model", "DEFAULT_MAX_BATCH"]

#: The largest batch one session runs in a single C call unless told otherwise;
#: bigger batches run in chunks of this many rows (the same bits, see predict).
DEFAULT_MAX_BATCH = 256

_MODEL_MAP = 1  # SWANN_MODEL_MAP


def _need_models(what: str) -> None:
    if lib.model_load is None or lib.session_run is None:
        raise NotImplementedError("%s: libswann %s at %s has no swann_model_* / swann_session_* calls; "
                                  "build a newer library" % (what, lib.version, lib.path))


def _check_cap(max_batch: Any, where: str) -> int:
    try:
        mb = operator.index(max_batch)
    except TypeError:
        raise TypeError("%s: max_batch must be an integer, not %s" % (where, type(max_batch).__name__)) from None
    if mb < 1 or mb > _SIZE_MAX:
        raise SwannError(Status.SWANN_E_ARG, "%s: max_batch %d is not in 1...%d" % (where, mb, _SIZE_MAX))
    return mb


class _Registry:
    """Owns one ``swann_model *`` and every session on it, whichever thread made them.

    One lock guards the session table, the closed flag and the count of C runs
    in flight; :meth:`close` waits for those runs, destroys every session, then
    the model (which the C library refuses while a session lives).
    """

    __slots__ = ("ptr", "lock", "idle", "sessions", "running", "__weakref__")

    def __init__(self, ptr: int) -> None:
        self.ptr: Optional[int] = ptr
        # Reentrant: a _Session finalizer may run on this thread while it holds the lock.
        self.lock = threading.RLock()
        self.idle = threading.Condition(self.lock)
        self.sessions: Dict[int, int] = {}  # session address -> its max_batch
        self.running = 0

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a swann model handle cannot be pickled or copied")

    # The C functions are bound as defaults so that collection at interpreter exit,
    # after module globals are cleared, still finds them.
    def close(self, _destroy_session: Any = lib.session_destroy, _destroy: Any = lib.model_destroy) -> None:
        with self.lock:
            if self.ptr is None:
                return
            p, self.ptr = self.ptr, None  # new predict calls now raise
            while self.running:
                self.idle.wait()
            while self.sessions:
                s, _ = self.sessions.popitem()
                _destroy_session(s)
            st = _destroy(p)
        if st:  # pragma: no cover - every session was destroyed just above
            raise _error(st)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - nothing to report to at collection
            pass


class _Session:
    """One thread's session, kept in the model's threading.local. When the thread
    ends (its locals are dropped) the session is destroyed, unless the model was
    closed first (then the registry already destroyed it)."""

    __slots__ = ("reg", "ptr", "max_batch")

    def __init__(self, reg: _Registry, ptr: int, max_batch: int) -> None:
        self.reg = reg
        self.ptr = ptr
        self.max_batch = max_batch

    def drop(self, _destroy: Any = lib.session_destroy) -> None:
        reg, p = self.reg, self.ptr
        self.ptr = 0
        if p:
            with reg.lock:
                if reg.sessions.pop(p, None) is not None:
                    _destroy(p)

    def __del__(self) -> None:
        self.drop()


class Model:
    """A trained network frozen for inference: the spec and the weights,
    read-only, shared by every thread that calls :meth:`predict`.

    Make one with :meth:`Model.load`, :meth:`Model.from_bytes` or
    :meth:`Net.to_model`. ``max_batch`` bounds the rows one session runs per C
    call (default 256): a thread's session is created on its first
    :meth:`predict` for that call's batch, replaced by a bigger one when a
    bigger batch comes, up to ``max_batch``; larger inputs run in chunks of
    ``max_batch`` rows. Every row's output is bit-identical to
    ``Net.forward`` on the net the model came from, whatever the batch, the
    chunking or the thread.

    The model is freed on :meth:`close`, at the end of a ``with`` block, or
    when the object is collected; closing waits for :meth:`predict` calls
    running on other threads, then destroys every thread's session and the
    model. Later calls raise ValueError.
    """

    __slots__ = ("_reg", "_local", "_in", "_out", "_max_batch", "__weakref__")

    def __init__(self) -> None:  # pragma: no cover - the class methods make models
        raise TypeError("use swann.Model.load(), swann.Model.from_bytes() or net.to_model()")

    @classmethod
    def _adopt(cls, ptr: Optional[int], max_batch: int) -> "Model":
        if not ptr:  # pragma: no cover - the library returned OK without a model
            raise SwannError(Status.SWANN_E_ARG, "model: the library returned no model")
        m = cls.__new__(cls)
        m._reg = _Registry(ptr)
        m._local = threading.local()
        m._in = int(lib.model_input_size(ptr))
        m._out = int(lib.model_output_size(ptr))
        m._max_batch = max_batch
        return m

    # ---- making one -----------------------------------------------------------

    @classmethod
    def load(cls, path: Union[str, bytes, "os.PathLike[Any]"], map: bool = False,
             max_batch: int = DEFAULT_MAX_BATCH) -> "Model":
        """A model from a model file (what :meth:`Net.save` writes, or PyTorch
        safetensors as :meth:`Net.load` accepts; optimizer state is ignored).

        ``map=True`` maps the file read-only and uses the weights in place where
        they are aligned (``SWANN_MODEL_MAP``): the file must then not be
        truncated or rewritten in place while the model lives (:meth:`Net.save`
        never does that: it renames a new file over the old one).

        Raises:
            SwannError: ``SWANN_E_IO`` (cannot read), ``SWANN_E_FORMAT`` (not a
                valid model file), ``SWANN_E_ARG`` (bad max_batch).
        """
        _need_models("Model.load")
        p = _path_bytes(path, "model_load")
        mb = _check_cap(max_batch, "Model.load")
        out = c_void_p()
        st = lib.model_load(p, _MODEL_MAP if map else 0, byref(out))
        if st:
            raise _error(st)
        return cls._adopt(out.value, mb)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], max_batch: int = DEFAULT_MAX_BATCH) -> "Model":
        """A model from model-file bytes (:meth:`to_bytes`, :meth:`Net.to_bytes`,
        a file's contents), checked exactly as a file is; the bytes are copied.

        Raises:
            SwannError: ``SWANN_E_FORMAT`` (not valid model bytes), ``SWANN_E_ARG``
                (empty bytes, bad max_batch), ``SWANN_E_NOMEM``.
            TypeError: data is not bytes-like.
        """
        _need_models("Model.from_bytes")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("Model.from_bytes: data must be bytes-like, not %s" % type(data).__name__)
        b = bytes(data)
        mb = _check_cap(max_batch, "Model.from_bytes")
        out = c_void_p()
        st = lib.model_from_buffer(b, len(b), None, 0, byref(out))
        if st:
            raise _error(st)
        return cls._adopt(out.value, mb)

    @classmethod
    def _from_net(cls, net: Net, max_batch: int) -> "Model":
        _need_models("Net.to_model")
        mb = _check_cap(max_batch, "Net.to_model")
        h = net._handle("to_model")
        out = c_void_p()
        st = lib.model_from_net(h.ptr, byref(out))
        if st:
            raise _error(st)
        return cls._adopt(out.value, mb)

    # ---- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Waits for running :meth:`predict` calls, then frees every thread's
        session and the model. Calling it again does nothing."""
        self._reg.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._reg.ptr is None

    def __enter__(self) -> "Model":
        self._live("with")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        reg = getattr(self, "_reg", None)
        if reg is not None:
            reg.__del__()

    def __reduce__(self) -> Any:
        # Pickles as its model-file bytes and max_batch; sessions are per process.
        return (_model_from_bytes, (self.to_bytes(), self._max_batch))

    def __copy__(self) -> "Model":
        raise TypeError("a swann.Model cannot be shallow-copied; use copy.deepcopy(), or to_bytes() and "
                        "Model.from_bytes() (a model is read-only: one can be shared by every thread)")

    def __deepcopy__(self, memo: Any) -> "Model":
        return Model.from_bytes(self.to_bytes(), self._max_batch)

    def _live(self, what: str) -> int:
        p = self._reg.ptr
        if p is None:
            raise ValueError("%s: the swann.Model is closed" % what)
        return p

    def __repr__(self) -> str:
        if self._reg.ptr is None:
            return "<swann.Model (closed)>"
        return "<swann.Model input_size=%d output_size=%d max_batch=%d>" % (self._in, self._out, self._max_batch)

    # ---- shape and spec -------------------------------------------------------

    @property
    def input_size(self) -> int:
        """Width of an input row."""
        self._live("input_size")
        return self._in

    @property
    def output_size(self) -> int:
        """Width of an output row."""
        self._live("output_size")
        return self._out

    @property
    def max_batch(self) -> int:
        """The most rows one session runs in a single C call (larger inputs are chunked)."""
        return self._max_batch

    @property
    def spec(self) -> Dict[str, Any]:
        """The model's spec as a dict (canonical, every default filled in), from ``swann_model_spec_json``."""
        p = self._live("spec")
        cap = 1024
        needed = c_size_t(0)
        for _ in range(3):
            buf = ctypes.create_string_buffer(cap)
            st = lib.model_spec_json(p, buf, cap, byref(needed))
            if st == 0:
                spec: Dict[str, Any] = json.loads(buf.value.decode("utf-8"))
                return spec
            if st != Status.SWANN_E_ARG or needed.value <= cap:
                raise _error(st)
            cap = int(needed.value)
        raise _error(st)  # pragma: no cover - the size kept growing

    def to_bytes(self) -> bytes:
        """The model as model-file bytes (``swann_model_save_buffer``): they load
        back with :meth:`Model.from_bytes`, and, for a float32 model, as a net
        with :meth:`Net.from_bytes` (to fine-tune it)."""
        p = self._live("to_bytes")
        need = c_size_t(0)
        lib.model_save_buffer(p, None, 0, byref(need))  # SWANN_E_ARG: it only asks the size
        buf = ctypes.create_string_buffer(max(need.value, 1))
        st = lib.model_save_buffer(p, buf, need.value, byref(need))
        if st:
            raise _error(st)
        return buf.raw[:need.value]

    # ---- compact weights and files ---------------------------------------------

    def quantize(self, dtype: str) -> "Model":
        """A new model with this float32 model's layer weights stored as
        ``"f16"`` (IEEE binary16) or ``"int8"`` (symmetric, one float32 scale per
        output row); biases stay float32 (``swann_model_quantize``). This model
        is unchanged. The new one predicts with the same calls, 2x / 4x fewer
        weight bytes per row, outputs close to this model's (f16 within about
        1e-3; int8 within a few percent of the output range), the same bits
        whatever the batch or thread.

        Raises:
            TypeError: dtype is not a str.
            SwannError: ``SWANN_E_ARG`` (an unknown dtype, a model already
                compact, an int8 layer wider than 133144 inputs),
                ``SWANN_E_NUMERIC`` (a weight beyond binary16's range for f16).
        """
        p = self._live("quantize")
        if lib.model_quantize is None:
            raise NotImplementedError("quantize: libswann %s at %s has no swann_model_quantize; build a newer library"
                                      % (lib.version, lib.path))
        if not isinstance(dtype, str):
            raise TypeError("quantize: dtype must be \"f16\" or \"int8\", not %s" % type(dtype).__name__)
        out = c_void_p()
        st = lib.model_quantize(p, dtype.encode("utf-8", "replace"), byref(out))
        if st:
            raise _error(st)
        return Model._adopt(out.value, self._max_batch)

    def save(self, path: Union[str, bytes, "os.PathLike[Any]"]) -> None:
        """Writes the model (any dtype) as a safetensors file, atomically
        (``swann_model_save``). A compact model's file loads with
        :meth:`Model.load` and with the ``safetensors`` package; a float32
        model's also with :meth:`Net.load`.

        Raises:
            SwannError: ``SWANN_E_IO`` (cannot write), ``SWANN_E_ARG`` (bad path).
        """
        p = self._live("save")
        if lib.model_save is None:
            raise NotImplementedError("save: libswann %s at %s has no swann_model_save; build a newer library"
                                      % (lib.version, lib.path))
        st = lib.model_save(p, _path_bytes(path, "model_save"))
        if st:
            raise _error(st)

    # ---- inference ------------------------------------------------------------

    def _session(self, reg: _Registry, p: int, rows: int) -> _Session:
        """This thread's session, made (or replaced by a bigger one) for ``rows`` rows."""
        s: Optional[_Session] = getattr(self._local, "s", None)
        if s is not None and s.ptr and s.max_batch >= rows:
            return s
        if s is not None:  # a bigger batch: grow geometrically, so a ramp of sizes makes few sessions
            rows = min(self._max_batch, max(rows, 2 * s.max_batch))
            self._local.s = None
            s.drop()
        out = c_void_p()
        st = lib.session_create(p, rows, None, 0, byref(out))
        if st:
            raise _error(st)
        s = _Session(reg, int(out.value or 0), rows)
        with reg.lock:
            reg.sessions[s.ptr] = rows
        self._local.s = s
        return s

    def predict(self, x: Any) -> np.ndarray:
        """Outputs for the rows of ``x``, on the calling thread's own session.

        Args:
            x: ``(n, input_size)`` or one row ``(input_size,)``; a C-contiguous
                float32 array is used as it is, anything else is converted.
                ``n`` may be 0 or above :attr:`max_batch` (then it runs in
                chunks of max_batch rows).

        Returns:
            ``(n, output_size)`` float32, or ``(output_size,)`` for a 1-D ``x``.

        Safe to call from any number of threads at once: each thread has its
        own session, and the GIL is released while the C library runs.

        Raises:
            SwannError: ``SWANN_E_SHAPE`` for a wrong width or dimension,
                ``SWANN_E_NUMERIC`` for NaN or Inf in ``x`` (the C library's
                message names the row), ``SWANN_E_NOMEM``.
            ValueError: the model is closed.
        """
        if not (type(x) is np.ndarray and x.dtype is _F32 and x.flags.c_contiguous):
            x = _as_f32(x)
        one = x.ndim == 1
        if one:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self._in:
            raise SwannError(Status.SWANN_E_SHAPE,
                             "predict: x must have shape (batch, %d) or (%d,) (input_size %d); got shape %s"
                             % (self._in, self._in, self._in, tuple(x.shape if not one else x.shape[1:])))
        n = x.shape[0]
        y = np.empty((n, self._out), _F32)
        reg = self._reg
        with reg.lock:
            p = reg.ptr
            if p is None:
                raise ValueError("predict: the swann.Model is closed")
            reg.running += 1  # close() waits for this call
        try:
            if n:
                chunk = min(n, self._max_batch)
                s = self._session(reg, p, chunk)
                run, sp = lib.session_run, s.ptr
                xa, ya = _addr(x), _addr(y)
                xs, ys = self._in * _FSIZE, self._out * _FSIZE
                for at in range(0, n, chunk):
                    r = min(chunk, n - at)
                    st = run(sp, xa + at * xs, r, ya + at * ys)
                    if st:
                        raise _error(st)
        finally:
            with reg.lock:
                reg.running -= 1
                if not reg.running:
                    reg.idle.notify_all()
        return y[0] if one else y


def _model_from_bytes(data: bytes, max_batch: int) -> Model:
    """Unpickles a :class:`Model` (see ``Model.__reduce__``)."""
    return Model.from_bytes(data, max_batch)

