"""The :class:`Net` object, :class:`SwannError` and :class:`Status`."""

from __future__ import annotations

import ctypes
import enum
import json
import math
import operator
import os
from ctypes import byref, c_size_t, c_void_p
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Union, overload

import numpy as np

from . import _clib
from ._progress import EpochProgress

try:  # numpy >= 1.20
    from numpy.typing import ArrayLike
except ImportError:  # pragma: no cover
    ArrayLike = Any  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from ._model import Model

__all__ = ["Net", "SwannError", "Status", "lib"]

#: The loaded C library (see :mod:`swann._clib`). Importing the package fails
#: with ImportError when no compatible library is found.
lib = _clib.load_library()

_F32 = np.dtype(np.float32)
_FSIZE = 4
_SIZE_MAX = 2 ** (8 * ctypes.sizeof(c_size_t)) - 1

# Function pointers, bound once.
_forward = lib.forward
_backward = lib.backward
_backward_grad = lib.backward_grad
_last_batch = lib.last_batch
_step = lib.step
_zero_grad = lib.zero_grad
_status_name = lib.status_name
_last_error = lib.last_error
_empty = np.empty
_ascontig = np.ascontiguousarray
_addressof = ctypes.addressof
_char_from_buffer = ctypes.c_char.from_buffer


class Status(enum.IntEnum):
    """The C library's status codes (``swann_status`` in ``swann.h``)."""

    SWANN_OK = 0
    SWANN_E_ARG = 1
    SWANN_E_SPEC = 2
    SWANN_E_SHAPE = 3
    SWANN_E_STATE = 4
    SWANN_E_ARENA = 5
    SWANN_E_NOMEM = 6
    SWANN_E_IO = 7
    SWANN_E_FORMAT = 8
    SWANN_E_NUMERIC = 9


class SwannError(Exception):
    """A failing call: the C library returned a status other than ``SWANN_OK``.

    Attributes:
        status: the status code (a :class:`Status` when the value is known, else an int).
        name: the status's name as the library spells it, e.g. ``"SWANN_E_SHAPE"``.
        message: the library's last-error text (``str(err)`` is the same text).

    The binding checks array shapes itself before calling the library (the C
    side cannot know a buffer's length); those errors are SwannErrors too, with
    the status the library would use (``SWANN_E_SHAPE`` or ``SWANN_E_ARG``) and
    a message in the library's style.
    """

    status: Union[Status, int]
    name: str
    message: str

    def __init__(self, status: int, message: str, name: Optional[str] = None) -> None:
        try:
            st: Union[Status, int] = Status(status)
        except ValueError:
            st = int(status)
        if name is None:
            raw = _status_name(int(status))
            name = raw.decode("ascii", "replace") if raw else "SWANN_E_UNKNOWN"
        super().__init__(message)
        self.status = st
        self.name = name
        self.message = message

    def __repr__(self) -> str:
        return "SwannError(%s, %r)" % (self.name, self.message)


def _error(status: int) -> SwannError:
    """The SwannError for a status the library just returned."""
    raw = _last_error()
    return SwannError(status, raw.decode("utf-8", "replace") if raw else "")


def _closed(what: str) -> ValueError:
    return ValueError("%s: the swann.Net is closed" % what)


def _addr(a: np.ndarray) -> int:
    """Address of a C-contiguous array's first byte.

    ``c_char.from_buffer`` is several times cheaper than ``a.ctypes.data``;
    it needs a writable, non-empty buffer, so other arrays take the slow path.
    """
    try:
        return _addressof(_char_from_buffer(a))  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def _as_f32(a: Any) -> np.ndarray:
    """``a`` as a C-contiguous float32 ndarray, copied only when it is not one already."""
    if type(a) is np.ndarray and a.dtype is _F32 and a.flags.c_contiguous:
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError("expected real numbers, got an array of dtype %s" % arr.dtype)
    return _ascontig(arr, dtype=_F32)


def _shape_error(where: str, name: str, arr: np.ndarray, width: int, width_name: str) -> SwannError:
    hint = ""
    if arr.ndim == 1 and arr.shape[0] == width:
        hint = " (for one row use %s.reshape(1, -1))" % name
    return SwannError(Status.SWANN_E_SHAPE,
                      "%s: %s must be a 2-D array of shape (batch, %d) (%s %d); got shape %s%s"
                      % (where, name, width, width_name, width, tuple(arr.shape), hint))


def _r2(T: np.ndarray, err: np.ndarray) -> float:
    """R^2 averaged over the outputs (scikit-learn's r2_score, multioutput="uniform_average")."""
    t = T.astype(np.float64)
    ss_res = np.sum(err * err, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    safe = ss_tot > 0
    r2 = np.where(safe, 1.0 - ss_res / np.where(safe, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def _check_finite(a: np.ndarray, where: str, name: str) -> None:
    """SWANN_E_NUMERIC naming the first row of a 2-D float32 array with NaN or Inf."""
    # One pass without a temporary: float32 values summed in float64 cannot
    # overflow, so the sum is finite exactly when every value is.
    if np.isfinite(np.sum(a, dtype=np.float64)):
        return
    r, c = np.argwhere(~np.isfinite(a))[0]
    v = a[r, c]
    raise SwannError(Status.SWANN_E_NUMERIC, "%s: %s has %s at row %d, column %d"
                     % (where, name, "NaN" if np.isnan(v) else "Inf" if v > 0 else "-Inf", r, c))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):  # numpy scalars in a spec dict, e.g. np.int64 units
        return o.item()
    raise TypeError("spec: %r (%s) is not JSON serializable" % (o, type(o).__name__))


def _spec_bytes(spec: Union[Mapping[str, Any], str, bytes]) -> bytes:
    if isinstance(spec, Mapping):
        data = json.dumps(dict(spec), default=_json_default).encode("utf-8")
    elif isinstance(spec, str):
        data = spec.encode("utf-8")
    elif isinstance(spec, (bytes, bytearray)):
        data = bytes(spec)
    else:
        raise TypeError("spec must be a dict or a JSON string, not %s" % type(spec).__name__)
    if b"\0" in data:
        raise SwannError(Status.SWANN_E_SPEC, "spec: the text contains a NUL character")
    return data


def _path_bytes(path: Union[str, bytes, "os.PathLike[Any]"], where: str) -> bytes:
    p = os.fsencode(os.fspath(path))
    if b"\0" in p:
        raise SwannError(Status.SWANN_E_ARG, "%s: path contains a NUL character" % where)
    return p


def _check_max_batch(max_batch: int, where: str) -> int:
    try:
        mb = operator.index(max_batch)
    except TypeError:
        raise TypeError("%s: max_batch must be an integer, not %s" % (where, type(max_batch).__name__)) from None
    if mb < 0:
        raise SwannError(Status.SWANN_E_ARG, "%s: max_batch %d is negative" % (where, mb))
    if mb > _SIZE_MAX:
        raise SwannError(Status.SWANN_E_ARG, "%s: max_batch %d does not fit in size_t" % (where, mb))
    return mb


class _Handle:
    """Owns one ``swann_net *``; destroys it when the last reference goes.

    A Net holds one until it is closed; every params/grads view holds one
    too, so the arena outlives any view of it, even after ``close()``.
    """

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr: int) -> None:
        self.ptr: Optional[int] = ptr

    def __reduce_ex__(self, protocol: Any) -> Any:  # a copy would free the net twice
        raise TypeError("a swann net handle cannot be pickled or copied")

    def __deepcopy__(self, memo: Any) -> "_Handle":
        raise TypeError("a swann net handle cannot be copied")

    def __del__(self, _destroy: Any = lib.destroy) -> None:
        p, self.ptr = self.ptr, None
        if p:
            _destroy(p)


class _ArenaView:
    """The base object of a params/grads array: keeps the Net and its arena alive."""

    __slots__ = ("__array_interface__", "net", "handle")

    def __init__(self, net: "Net", handle: _Handle, address: int, count: int) -> None:
        self.net = net
        self.handle = handle
        self.__array_interface__ = {
            "version": 3,
            "shape": (count,),
            "typestr": "<f4",
            "data": (address, False),
        }


class Net:
    """A swann network: parameters, gradients, optimizer state and the buffers
    of forward and backward, in one arena owned by the C library.

    Create one from a spec (a dict or a JSON string, see the C contract's
    "Network spec") and the largest batch a single :meth:`forward` will see::

        net = swann.Net({"input": 64,
                         "layers": [{"units": 128, "activation": "relu"},
                                    {"units": 10, "activation": "softmax"}],
                         "loss": "cross_entropy",
                         "optimizer": {"type": "adam", "lr": 1e-3}}, max_batch=128)

    The net is freed when the object is collected, on :meth:`close`, or at the
    end of a ``with`` block. A net may be used by one thread at a time.

    Raises:
        SwannError: ``SWANN_E_SPEC`` for an invalid spec, ``SWANN_E_ARG`` for a
            max_batch of 0 or above the library's limit, ``SWANN_E_NOMEM``.
        TypeError: spec is neither a mapping nor a string.
    """

    __slots__ = ("_h", "_in", "_out", "_nparams", "_max_batch", "_loss", "_rowsbuf", "_rowsaddr",
                 "_params_addr", "_grads_addr", "_lossbuf", "_lossaddr", "__weakref__")

    def __init__(self, spec: Union[Mapping[str, Any], str, bytes], max_batch: int = 128) -> None:
        self._h: Optional[_Handle] = None
        data = _spec_bytes(spec)
        mb = _check_max_batch(max_batch, "create")
        out = c_void_p()
        st = lib.create(data, mb, None, 0, byref(out))
        if st:
            raise _error(st)
        self._adopt(out.value)

    def _adopt(self, ptr: Optional[int]) -> None:
        if not ptr:  # pragma: no cover - the library returned OK without a net
            raise SwannError(Status.SWANN_E_ARG, "create: the library returned no net")
        h = _Handle(ptr)
        self._h = h
        self._in = int(lib.input_size(ptr))
        self._out = int(lib.output_size(ptr))
        self._nparams = int(lib.param_count(ptr))
        self._max_batch = int(lib.max_batch(ptr))
        self._lossbuf = ctypes.c_float(0.0)
        self._lossaddr = _addressof(self._lossbuf)
        # The row count of the last forward is asked from C (_c_rows), never kept
        # here: an exception (a KeyboardInterrupt from a signal handler) between
        # a C forward returning and Python recording its batch would leave such
        # a count stale, and backward would hand C a target and dx of the wrong size.
        self._rowsbuf = c_size_t(0)
        self._rowsaddr = _addressof(self._rowsbuf)
        # The buffers' addresses are asked for on first use (see _view): while the
        # C library has not handed them out, a step takes shortcuts (swann.h).
        self._params_addr = 0
        self._grads_addr = 0
        self._loss = str(self._spec_dict().get("loss", ""))

    # ---- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Releases the net. Calling it again does nothing.

        Later calls on this object raise ValueError. Arrays from :attr:`params`
        and :attr:`grads` stay valid: the arena is freed when the last of them
        is gone.
        """
        self._h = None

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._h is None

    def __enter__(self) -> "Net":
        if self._h is None:
            raise _closed("with")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __reduce__(self) -> Any:
        # Pickles as its model-file bytes (parameters, optimizer state, step count,
        # spec) and max_batch; unpickling checks the bytes as Net.from_bytes does.
        return (_net_from_bytes, (self.to_bytes(), self._max_batch))

    def __copy__(self) -> "Net":
        # A shallow copy would share the arena (and free it twice).
        raise TypeError("a swann.Net cannot be shallow-copied; use copy.deepcopy(), or to_bytes() and Net.from_bytes()")

    def __deepcopy__(self, memo: Any) -> "Net":
        """An independent net with the same state, through :meth:`to_bytes`."""
        return Net.from_bytes(self.to_bytes(), self._max_batch)

    def _handle(self, what: str) -> _Handle:
        h = self._h
        if h is None:
            raise _closed(what)
        return h

    def __repr__(self) -> str:
        if self._h is None:
            return "<swann.Net (closed)>"
        return "<swann.Net input_size=%d output_size=%d param_count=%d max_batch=%d loss=%s>" % (
            self._in, self._out, self._nparams, self._max_batch, self._loss)

    # ---- shape and spec ------------------------------------------------------

    @property
    def input_size(self) -> int:
        """Width of an input row (the spec's ``input``)."""
        self._handle("input_size")
        return self._in

    @property
    def output_size(self) -> int:
        """Width of an output row (the last layer's ``units``)."""
        self._handle("output_size")
        return self._out

    @property
    def param_count(self) -> int:
        """Number of parameters (weights and biases of every layer)."""
        self._handle("param_count")
        return self._nparams

    @property
    def max_batch(self) -> int:
        """The largest batch one :meth:`forward` accepts (fixed at creation)."""
        self._handle("max_batch")
        return self._max_batch

    def _spec_dict(self) -> Dict[str, Any]:
        h = self._handle("spec")
        cap = 1024
        needed = c_size_t(0)
        for _ in range(3):
            buf = ctypes.create_string_buffer(cap)
            st = lib.spec_json(h.ptr, buf, cap, byref(needed))
            if st == 0:
                spec: Dict[str, Any] = json.loads(buf.value.decode("utf-8"))
                return spec
            if st != Status.SWANN_E_ARG or needed.value <= cap:
                raise _error(st)
            cap = int(needed.value)
        raise _error(st)  # pragma: no cover - the size kept growing

    @property
    def spec(self) -> Dict[str, Any]:
        """The net's spec as a dict (canonical: every default filled in), from ``swann_spec_json``."""
        return self._spec_dict()

    # ---- parameters ----------------------------------------------------------

    def _view(self, what: str) -> np.ndarray:
        h = self._handle(what)
        address = self._params_addr if what == "params" else self._grads_addr
        if not address:
            data, count = c_void_p(), c_size_t()
            st = (lib.params if what == "params" else lib.grads)(h.ptr, byref(data), byref(count))
            if st:
                raise _error(st)
            address = int(data.value or 0)
            if what == "params":
                self._params_addr = address
            else:
                self._grads_addr = address
        return np.asarray(_ArenaView(self, h, address, self._nparams))

    @property
    def params(self) -> np.ndarray:
        """The parameters as a live float32 view into the arena (no copy).

        Flat, layer by layer: ``W_k`` (row-major ``[out, in]``) then ``b_k``.
        Writing to it changes the net. The view keeps the net's memory alive
        (``view.base.net`` is this Net), even after ``del net`` or ``close()``.
        The first read hands the buffer's address to Python; from then on each
        plain-SGD step checks every new parameter instead of proving the update
        finite from the gradient alone (a few percent slower), and forward reads
        the weights as they lie instead of keeping them packed between calls
        (one-row forwards about 3x slower; see swann.h, swann_forward). For fast
        inference after editing weights, serve ``net.to_model()``.
        """
        return self._view("params")

    @property
    def grads(self) -> np.ndarray:
        """The accumulated gradients (``grad Err``, summed over rows, not yet
        averaged), a live float32 view laid out like :attr:`params`. After the
        first read, each step zeroes the buffer (before, the next backward writes
        over it, which saves a pass over memory)."""
        return self._view("grads")

    # ---- training and inference ----------------------------------------------

    def _rows(self, x: ArrayLike, where: str, name: str = "x") -> np.ndarray:
        a = _as_f32(x)
        if a.ndim != 2 or a.shape[1] != self._in:
            raise _shape_error(where, name, a, self._in, "input_size")
        return a

    def forward(self, x: ArrayLike) -> np.ndarray:
        """Runs the net on a batch and keeps what :meth:`backward` needs.

        Args:
            x: ``(batch, input_size)`` array-like, ``1 <= batch <= max_batch``.
                Converted to C-contiguous float32 only if it is not already.

        Returns:
            ``(batch, output_size)`` float32 array.

        Raises:
            SwannError: ``SWANN_E_SHAPE`` for a wrong shape or batch,
                ``SWANN_E_NUMERIC`` for NaN or Inf in ``x``.
        """
        h = self._h
        if h is None:
            raise _closed("forward")
        if not (type(x) is np.ndarray and x.dtype is _F32 and x.flags.c_contiguous):
            x = _as_f32(x)
        if x.ndim != 2 or x.shape[1] != self._in:
            raise _shape_error("forward", "x", x, self._in, "input_size")
        b = x.shape[0]
        if b == 0 or b > self._max_batch:
            raise SwannError(Status.SWANN_E_SHAPE,
                             "forward: batch %d is not in 1...max_batch %d (predict() takes any number of rows)"
                             % (b, self._max_batch))
        y = _empty((b, self._out), _F32)
        try:  # _addr inlined: this is the hot path
            xa = _addressof(_char_from_buffer(x))  # type: ignore[arg-type]
        except (TypeError, ValueError, BufferError):
            xa = x.ctypes.data
        st = _forward(h.ptr, xa, b, _addressof(_char_from_buffer(y)))  # type: ignore[arg-type]
        if st:
            raise _error(st)
        return y

    def _c_rows(self, p: Optional[int]) -> int:
        """Rows of the C net's last successful forward (swann_last_batch), 0 before any."""
        st = _last_batch(p, self._rowsaddr)
        if st:
            raise _error(st)
        return self._rowsbuf.value

    def _targets(self, target: ArrayLike, rows: Optional[int], where: str, name: str = "target",
                 rows_of: Optional[str] = None) -> np.ndarray:
        """Targets as a (rows, output_size) float32 array; integer labels one-hot for cross_entropy.

        ``rows`` is the row count the targets must have: the C net's last forward,
        or with ``rows_of`` the rows of that input array (fit: "x").
        """
        a = target if type(target) is np.ndarray else np.asarray(target)
        out = self._out
        if a.ndim == 1 and a.dtype.kind in "iu" and self._loss == "cross_entropy":
            n = a.shape[0]
            if n and (a.min() < 0 or a.max() >= out):
                r = int(np.flatnonzero((a < 0) | (a >= out))[0])
                raise SwannError(Status.SWANN_E_ARG,
                                 "%s: %s has class label %d at row %d; cross_entropy expects class indices in 0...%d"
                                 % (where, name, int(a[r]), r, out - 1))
            t = np.zeros((n, out), _F32)
            t[np.arange(n), a] = 1.0
        elif a.ndim == 1 and out == 1:
            t = _as_f32(a).reshape(-1, 1)
        else:
            t = _as_f32(a)
            if t.ndim != 2 or t.shape[1] != out:
                hint = ""
                if t.ndim == 1 and self._loss == "cross_entropy":
                    hint = " or 1-D integer class labels"
                raise SwannError(Status.SWANN_E_SHAPE,
                                 "%s: %s must have shape (batch, %d) (output_size %d)%s; got shape %s"
                                 % (where, name, out, out, hint, tuple(t.shape)))
        if rows is not None and t.shape[0] != rows:
            if rows_of is not None:
                raise SwannError(Status.SWANN_E_SHAPE,
                                 "%s: %s has %d rows, %s has %d" % (where, rows_of, rows, name, t.shape[0]))
            raise SwannError(Status.SWANN_E_SHAPE,
                             "%s: %s has %d rows, the last forward had %d" % (where, name, t.shape[0], rows))
        return t

    def _check_labels(self, t: np.ndarray, where: str, name: str) -> None:
        """SWANN_E_ARG naming the first target the loss cannot take (the C
        library refuses them too, but only at that row's backward)."""
        if self._loss == "binary_cross_entropy":
            if not t.size or (t.min() >= 0 and t.max() <= 1):
                return
            expected = "binary_cross_entropy expects targets in [0, 1]"
            r, c = np.argwhere((t < 0) | (t > 1))[0]
        elif self._loss == "cross_entropy":
            if not t.size or t.min() >= 0:
                return
            expected = "cross_entropy expects class indices (1-D integers) or non-negative (soft) labels"
            r, c = np.argwhere(t < 0)[0]
        else:
            return
        raise SwannError(Status.SWANN_E_ARG, "%s: %s has %g at row %d, column %d; %s"
                         % (where, name, float(t[r, c]), r, c, expected))

    @overload
    def backward(self, target: ArrayLike, return_dx: Literal[False] = ...) -> float: ...

    @overload
    def backward(self, target: ArrayLike, return_dx: Literal[True]) -> Tuple[float, np.ndarray]: ...

    def backward(self, target: ArrayLike, return_dx: bool = False) -> Union[float, Tuple[float, np.ndarray]]:
        """Backward pass for the rows of the last :meth:`forward` against ``target``.

        ADDS ``grad Div`` into the accumulated gradients (and the row count to
        ``T``); call :meth:`step` to apply them.

        Args:
            target: ``(batch, output_size)`` desired outputs; for a
                ``cross_entropy`` net also 1-D integer class labels (one-hot
                encoded here); for a one-output net also a 1-D array.
            return_dx: also return ``grad_x Div`` per row.

        Returns:
            The mean ``Div`` over the rows, or ``(loss, dx)`` with ``dx`` of
            shape ``(batch, input_size)`` when ``return_dx`` is true.

        Raises:
            SwannError: ``SWANN_E_STATE`` before any forward or for a net whose
                loss is ``"none"``; ``SWANN_E_SHAPE`` when target does not
                match; ``SWANN_E_NUMERIC`` for a non-finite loss or gradient
                (nothing is accumulated then).
        """
        h = self._h
        if h is None:
            raise _closed("backward")
        b = self._c_rows(h.ptr)  # 0 before any forward: C refuses with SWANN_E_STATE
        t = self._targets(target, b or None, "backward")
        dx = _empty((b, self._in), _F32) if (return_dx and b) else None
        st = _backward(h.ptr, _addr(t), self._lossaddr, None if dx is None else _addr(dx))
        if st:
            raise _error(st)
        loss = self._lossbuf.value
        if return_dx:
            return loss, dx  # type: ignore[return-value]
        return loss

    def backward_grad(self, dy: ArrayLike, return_dx: bool = False) -> Optional[np.ndarray]:
        """Backward pass with the host's own ``grad_Y Div`` per row (for any loss, including ``"none"``).

        Args:
            dy: ``(batch, output_size)``, batch as in the last :meth:`forward`.
            return_dx: return ``grad_x Div`` per row.

        Returns:
            ``(batch, input_size)`` dx when ``return_dx`` is true, else None.

        Raises:
            SwannError: ``SWANN_E_STATE`` before any forward, ``SWANN_E_SHAPE``,
                ``SWANN_E_NUMERIC`` for NaN or Inf in ``dy``.
        """
        h = self._h
        if h is None:
            raise _closed("backward_grad")
        b = self._c_rows(h.ptr)
        g = _as_f32(dy)
        if g.ndim != 2 or g.shape[1] != self._out:
            raise SwannError(Status.SWANN_E_SHAPE,
                             "backward_grad: dy must have shape (batch, %d) (output_size %d); got shape %s"
                             % (self._out, self._out, tuple(g.shape)))
        if b and g.shape[0] != b:
            raise SwannError(Status.SWANN_E_SHAPE,
                             "backward_grad: dy has %d rows, the last forward had %d" % (g.shape[0], b))
        dx = _empty((b, self._in), _F32) if (return_dx and b) else None
        st = _backward_grad(h.ptr, _addr(g), None if dx is None else _addr(dx))
        if st:
            raise _error(st)
        return dx

    def step(self) -> None:
        """Applies the optimizer to the accumulated gradients averaged over ``T``
        (plain SGD: ``W -= lr / T * grad``), then zeroes gradients and ``T``.

        Raises:
            SwannError: ``SWANN_E_STATE`` when nothing is accumulated;
                ``SWANN_E_NUMERIC`` when a gradient is not finite (nothing
                changes; discard the gradients with :meth:`zero_grad`).
        """
        h = self._h
        if h is None:
            raise _closed("step")
        st = _step(h.ptr)
        if st:
            raise _error(st)

    def step_rows(self, rows: int) -> None:
        """Data-parallel step: as :meth:`step`, dividing by ``rows``, the row count
        summed over all processes, after the hosts summed :attr:`grads` across
        them (e.g. ``MPI_Allreduce`` in place).

        Raises:
            SwannError: ``SWANN_E_ARG`` when rows is not in 1 .. 2**62;
                ``SWANN_E_NUMERIC`` as :meth:`step`.
        """
        h = self._handle("step_rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1 or rows > _SIZE_MAX:
            raise SwannError(int(Status.SWANN_E_ARG), "step_rows: rows %r must be an integer >= 1" % (rows,))
        st = lib.step_rows(h.ptr, rows)
        if st:
            raise _error(st)

    @property
    def accumulated_rows(self) -> int:
        """``T``: the rows whose gradients are accumulated since the last step."""
        h = self._handle("accumulated_rows")
        out = c_size_t()
        st = lib.accumulated_rows(h.ptr, byref(out))
        if st:
            raise _error(st)
        return int(out.value)

    @property
    def lr(self) -> float:
        """The learning rate the next step uses (the schedule applied). Setting it
        changes the base rate, which a schedule in the spec still scales; ``spec``
        and files saved afterwards carry the new base rate."""
        h = self._handle("lr")
        out = ctypes.c_double()
        st = lib.get_lr(h.ptr, byref(out))
        if st:
            raise _error(st)
        return float(out.value)

    @lr.setter
    def lr(self, value: float) -> None:
        h = self._handle("lr")
        st = lib.set_lr(h.ptr, float(value))
        if st:
            raise _error(st)

    @property
    def flush_subnormals(self) -> bool:
        """True (the default): forward, backward and step treat float's subnormal
        numbers as zero (x86 FTZ/DAZ, inside swann's calls only), which keeps late
        training at full speed. False: IEEE subnormals. Not saved in model files."""
        h = self._handle("flush_subnormals")
        out = ctypes.c_int()
        st = lib.get_flush_subnormals(h.ptr, byref(out))
        if st:
            raise _error(st)
        return bool(out.value)

    @flush_subnormals.setter
    def flush_subnormals(self, on: bool) -> None:
        h = self._handle("flush_subnormals")
        st = lib.set_flush_subnormals(h.ptr, 1 if on else 0)
        if st:
            raise _error(st)

    def set_threads(self, threads: int) -> None:
        """Uses 1 .. spec["threads"] threads for the large matrix products.

        Raises:
            SwannError: ``SWANN_E_ARG`` outside that range.
        """
        h = self._handle("set_threads")
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1 or threads > _SIZE_MAX:
            raise SwannError(int(Status.SWANN_E_ARG), "set_threads: threads %r must be an integer >= 1" % (threads,))
        st = lib.set_threads(h.ptr, threads)
        if st:
            raise _error(st)

    def zero_grad(self) -> None:
        """Zeroes the accumulated gradients and ``T``."""
        h = self._h
        if h is None:
            raise _closed("zero_grad")
        st = _zero_grad(h.ptr)
        if st:
            raise _error(st)

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Runs the net on any number of rows, ``max_batch`` at a time.

        Args:
            x: ``(n, input_size)`` array-like; ``n`` may be 0 or above max_batch.

        Returns:
            ``(n, output_size)`` float32 array.

        This is forward passes: afterwards :meth:`backward` refers to the last
        chunk of rows.
        """
        h = self._handle("predict")
        a = self._rows(x, "predict")
        n = a.shape[0]
        y = _empty((n, self._out), _F32)
        if n == 0:
            return y
        xa, ya = _addr(a), _addr(y)
        xs, ys, mb = self._in * _FSIZE, self._out * _FSIZE, self._max_batch
        for s in range(0, n, mb):
            r = min(mb, n - s)
            st = _forward(h.ptr, xa + s * xs, r, ya + s * ys)
            if st:
                raise _error(st)
        return y

    def fit(self, x: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            validation: Optional[Tuple[ArrayLike, ArrayLike]] = None, progress: bool = True,
            seed: Optional[int] = None, early_stopping: bool = False, patience: int = 10,
            min_delta: float = 0.0,
            callback: Optional[Callable[[int, Dict[str, float]], Optional[bool]]] = None,
            ) -> Dict[str, List[float]]:
        """Trains with mini-batches: per batch forward, backward, :meth:`step`.

        A batch larger than ``max_batch`` runs as several forward/backward pairs
        before one step, which the contract makes equal to one bigger batch.
        Gradients accumulated before the call are discarded.

        Args:
            x: ``(n, input_size)`` inputs.
            y: ``(n, output_size)`` targets, or 1-D integer class labels for
                ``cross_entropy`` (one-hot encoded here).
            epochs: passes over the data.
            batch_size: rows per optimizer step (the last batch may be smaller).
            shuffle: visit the rows in a new random order each epoch.
            validation: ``(x_val, y_val)`` evaluated after each epoch.
            progress: show a progress bar on stderr (tqdm when installed).
            seed: seed of the shuffling: an int gives the same order, and so
                the same trained net, on every run; None (the default) takes
                fresh OS entropy, so the order and the result differ from run
                to run.
            early_stopping: stop when ``val_loss`` has not improved by more
                than ``min_delta`` for ``patience`` epochs, and put back the
                parameters of the best epoch (the lowest ``val_loss``; the
                optimizer state and step count stay those of the last epoch).
                Needs ``validation``.
            patience: epochs without improvement before stopping (at least 1).
            min_delta: the smallest decrease of ``val_loss`` that counts.
            callback: called after each epoch as ``callback(epoch, logs)``,
                ``epoch`` counting from 0 and ``logs`` this epoch's entries of
                the history (``{"loss": ..., "val_loss": ...}``); returning True
                stops training after that epoch (the best weights are still
                restored with ``early_stopping``).

        Returns:
            The history, one entry per epoch run under each key: ``"loss"``
            (mean training loss of the epoch), and with ``validation`` also
            ``"val_loss"`` and, for ``cross_entropy`` or
            ``binary_cross_entropy`` nets, ``"val_accuracy"``; for ``mse`` nets
            ``"val_mae"`` (mean absolute error over every output) and
            ``"val_r2"`` (coefficient of determination, averaged over the
            outputs as scikit-learn's ``r2_score``; an output constant in
            ``y_val`` counts 1.0 when predicted exactly, else 0.0).

        Before the first step fit checks every array, so bad data changes
        nothing: shapes and row counts (``SWANN_E_SHAPE``), then NaN or Inf in
        ``x``, ``y`` and the validation pair (``SWANN_E_NUMERIC``, naming the
        array, row and column, e.g. ``fit: validation x has NaN at row 17, column 2``),
        then the targets the loss can take (``SWANN_E_ARG``):
        ``binary_cross_entropy`` targets in [0, 1]; ``cross_entropy`` class
        indices in 0 .. output_size-1 or non-negative soft labels.

        Raises:
            SwannError: as above, or from any failing call (``SWANN_E_STATE``
                for a net whose loss is ``"none"``, ...).
        """
        h = self._handle("fit")
        X = self._rows(x, "fit", "x")
        n = X.shape[0]
        Y = self._targets(y, n, "fit", "y", rows_of="x")
        epochs = operator.index(epochs)
        batch_size = operator.index(batch_size)
        if epochs < 0:
            raise SwannError(Status.SWANN_E_ARG, "fit: epochs %d is negative" % epochs)
        if batch_size < 1:
            raise SwannError(Status.SWANN_E_ARG, "fit: batch_size %d must be at least 1" % batch_size)
        if n == 0:
            raise SwannError(Status.SWANN_E_SHAPE, "fit: x has no rows")
        if early_stopping:
            patience = operator.index(patience)
            if validation is None:
                raise SwannError(Status.SWANN_E_ARG, "fit: early_stopping needs validation=(x_val, y_val)")
            if patience < 1:
                raise SwannError(Status.SWANN_E_ARG, "fit: patience %d must be at least 1" % patience)
            min_delta = float(min_delta)
            if not (min_delta >= 0.0 and math.isfinite(min_delta)):
                raise SwannError(Status.SWANN_E_ARG, "fit: min_delta %r must be finite and non-negative" % min_delta)
        if callback is not None and not callable(callback):
            raise TypeError("fit: callback must be callable as callback(epoch, logs)")
        val = None
        if validation is not None:
            try:
                vx, vy = validation
            except (TypeError, ValueError):
                raise TypeError("fit: validation must be a pair (x_val, y_val)") from None
            VX = self._rows(vx, "fit", "validation x")
            VY = self._targets(vy, VX.shape[0], "fit", "validation y", rows_of="validation x")
            if VX.shape[0] == 0:
                raise SwannError(Status.SWANN_E_SHAPE, "fit: validation x has no rows")
            val = (VX, VY)
        # Every array is checked before the first step, so bad data changes
        # nothing; the C library would find it only at its batch, mid-epoch.
        inputs = [("x", X)] + ([("validation x", val[0])] if val else [])
        targets = [("y", Y)] + ([("validation y", val[1])] if val else [])
        for name, a in inputs + targets:
            _check_finite(a, "fit", name)
        for name, a in targets:
            self._check_labels(a, "fit", name)
        history: Dict[str, List[float]] = {"loss": []}
        if val is not None:
            history["val_loss"] = []
            if self._loss in ("cross_entropy", "binary_cross_entropy"):
                history["val_accuracy"] = []
            elif self._loss == "mse":
                history["val_mae"] = []
                history["val_r2"] = []
        best_loss, best_params, waited = math.inf, None, 0
        rng = np.random.default_rng(seed)
        p = h.ptr
        xs, ts, mb = self._in * _FSIZE, self._out * _FSIZE, self._max_batch
        lossbuf, lossaddr = self._lossbuf, self._lossaddr
        batches = (n + batch_size - 1) // batch_size
        _zero_grad(p)
        try:
            for epoch in range(epochs):
                if shuffle:
                    order = rng.permutation(n)
                    EX, EY = X[order], Y[order]
                else:
                    EX, EY = X, Y
                xa, ta = _addr(EX), _addr(EY)
                bar = EpochProgress(batches, "epoch %d/%d" % (epoch + 1, epochs), bool(progress))
                total = 0.0
                for start in range(0, n, batch_size):
                    end = min(start + batch_size, n)
                    for s in range(start, end, mb):
                        r = min(mb, end - s)
                        st = _forward(p, xa + s * xs, r, None)
                        if st:
                            raise _error(st)
                        st = _backward(p, ta + s * ts, lossaddr, None)
                        if st:
                            raise _error(st)
                        total += lossbuf.value * r
                    st = _step(p)
                    if st:
                        raise _error(st)
                    bar.update(1, total / end)
                history["loss"].append(total / n)
                summary = "loss %.4f" % (total / n)
                stop = False
                if val is not None:
                    vloss, metrics = self._evaluate(p, val[0], val[1])
                    history["val_loss"].append(vloss)
                    summary += " - val_loss %.4f" % vloss
                    for key, value in metrics.items():
                        history[key].append(value)
                        summary += " - %s %.4f" % (key, value)
                    if early_stopping:
                        if vloss < best_loss - min_delta or best_params is None:
                            best_loss, waited = vloss, 0
                            best_params = np.array(self.params, copy=True)
                        else:
                            waited += 1
                            stop = waited >= patience
                bar.close(summary)
                if callback is not None:
                    logs = {key: values[-1] for key, values in history.items()}
                    stop = bool(callback(epoch, logs)) or stop
                if stop:
                    break
        except BaseException:
            _zero_grad(p)
            raise
        if best_params is not None:
            self.params[:] = best_params
        return history

    def _evaluate(self, p: Optional[int], X: np.ndarray, T: np.ndarray) -> Tuple[float, Dict[str, float]]:
        """Validation loss (through the library's own loss) and the loss's metrics
        (accuracy, or MAE and R^2); leaves no gradients."""
        n = X.shape[0]
        Y = _empty((n, self._out), _F32)
        xa, ya, ta = _addr(X), _addr(Y), _addr(T)
        xs, ys, mb = self._in * _FSIZE, self._out * _FSIZE, self._max_batch
        total = 0.0
        try:
            for s in range(0, n, mb):
                r = min(mb, n - s)
                st = _forward(p, xa + s * xs, r, ya + s * ys)
                if st:
                    raise _error(st)
                st = _backward(p, ta + s * ys, self._lossaddr, None)
                if st:
                    raise _error(st)
                total += self._lossbuf.value * r
        finally:
            _zero_grad(p)
        metrics: Dict[str, float] = {}
        if self._loss == "cross_entropy":
            metrics["val_accuracy"] = float(np.mean(Y.argmax(axis=1) == T.argmax(axis=1)))
        elif self._loss == "binary_cross_entropy":
            metrics["val_accuracy"] = float(np.mean((Y > 0.5) == (T > 0.5)))
        elif self._loss == "mse":
            err = Y.astype(np.float64) - T
            metrics["val_mae"] = float(np.mean(np.abs(err)))
            metrics["val_r2"] = _r2(T, err)
        return total / n, metrics

    # ---- model files ----------------------------------------------------------

    def save(self, path: Union[str, bytes, "os.PathLike[Any]"]) -> None:
        """Writes the net (parameters, optimizer state, spec) to a safetensors file, atomically.

        Raises:
            SwannError: ``SWANN_E_IO`` when the file cannot be written.
        """
        h = self._handle("save")
        st = lib.save(h.ptr, _path_bytes(path, "save"))
        if st:
            raise _error(st)

    @classmethod
    def load(cls, path: Union[str, bytes, "os.PathLike[Any]"], max_batch: int = 128) -> "Net":
        """Creates a net from a file written by :meth:`save`.

        Raises:
            SwannError: ``SWANN_E_IO`` (cannot read), ``SWANN_E_FORMAT`` (not a
                valid swann safetensors file), ``SWANN_E_ARG`` (bad max_batch).
        """
        p = _path_bytes(path, "load")
        mb = _check_max_batch(max_batch, "load")
        out = c_void_p()
        st = lib.load(p, mb, None, 0, byref(out))
        if st:
            raise _error(st)
        net = cls.__new__(cls)
        net._h = None
        net._adopt(out.value)
        return net

    def to_bytes(self) -> bytes:
        """The net as model-file bytes: exactly what :meth:`save` writes to a file.

        Raises:
            SwannError: ``SWANN_E_NUMERIC`` when a parameter or optimizer value
                is not finite, ``SWANN_E_NOMEM``.
        """
        h = self._handle("to_bytes")
        need = c_size_t(0)
        lib.save_buffer(h.ptr, None, 0, byref(need))  # SWANN_E_ARG: it only asks the size
        buf = ctypes.create_string_buffer(max(need.value, 1))
        st = lib.save_buffer(h.ptr, buf, need.value, byref(need))
        if st:
            raise _error(st)
        return buf.raw[:need.value]

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], max_batch: int = 128) -> "Net":
        """Creates a net from bytes of :meth:`to_bytes` (or of a file :meth:`save`
        wrote), checked exactly as :meth:`load` checks a file; the bytes are copied.

        Raises:
            SwannError: ``SWANN_E_FORMAT`` (not valid swann model bytes),
                ``SWANN_E_ARG`` (empty bytes, bad max_batch), ``SWANN_E_NOMEM``.
            TypeError: data is not bytes-like.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("from_bytes: data must be bytes-like, not %s" % type(data).__name__)
        b = bytes(data)
        mb = _check_max_batch(max_batch, "load_buffer")
        out = c_void_p()
        st = lib.load_buffer(b, len(b), mb, None, 0, byref(out))
        if st:
            raise _error(st)
        net = cls.__new__(cls)
        net._h = None
        net._adopt(out.value)
        return net

    def to_model(self, max_batch: int = 256) -> "Model":
        """A :class:`swann.Model`: a snapshot of the net's current parameters
        (``swann_model_from_net``) to serve from many threads; the net stays
        usable and later training does not change the model. ``max_batch`` is
        the model's rows per session call (see :class:`swann.Model`).

        Raises:
            SwannError: ``SWANN_E_NOMEM``; ``SWANN_E_ARG`` for a bad max_batch.
            NotImplementedError: the library has no model calls.
        """
        from ._model import Model
        return Model._from_net(self, max_batch)


def _net_from_bytes(data: bytes, max_batch: int) -> Net:
    """Unpickles a :class:`Net` (see ``Net.__reduce__``)."""
    return Net.from_bytes(data, max_batch)
