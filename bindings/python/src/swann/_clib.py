"""Finding, checking and declaring the C library ``libswann``.

The library is looked up in this order:

1. the ``SWANN_LIBRARY`` environment variable, a path to ``libswann.so``
   (when it is set, it is the only place tried, so a typo never silently
   loads another copy);
2. the copy shipped inside this package, ``swann/_lib/libswann.so``
   (``bindings/python/copy_lib.sh`` puts it there before ``pip install``);
3. the system's library path (``ctypes.util.find_library("swann")``, then
   ``libswann.so.0`` and ``libswann.so``);
4. the lib folders ``make install`` fills, found without ``ldconfig``: this
   Python's prefix (``make install PREFIX=$VIRTUAL_ENV``), ``/usr/local/lib``,
   and the libdir of ``pkg-config swann`` (``PKG_CONFIG_PATH`` for any other
   ``PREFIX``).

``pip install ./bindings/python`` builds the library and ships it as the copy
(2), so an installed package needs none of the others.

A library that is missing, lacks a symbol of the C contract, or has an
incompatible major version is an :class:`ImportError` naming every place
that was tried and why each was rejected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from ctypes import c_double, POINTER, c_char_p, c_int, c_size_t, c_uint, c_void_p
from pathlib import Path
from typing import Any, List, Optional, Tuple

__all__ = [
    "CONTRACT_VERSION",
    "COMPATIBLE_MAJORS",
    "ENV_VAR",
    "LibSwann",
    "load_library",
]

#: The C contract version this binding is written against.
CONTRACT_VERSION = 1

#: Library major versions accepted. 0.x releases are the development series
#: of contract 1 (the library reports "0.1.0" while contract 1 is being
#: completed); 1.x are its releases.
COMPATIBLE_MAJORS = (0, 1)

#: The environment variable that names the library file.
ENV_VAR = "SWANN_LIBRARY"

_size_p = POINTER(c_size_t)
_void_pp = POINTER(c_void_p)

# name: (argtypes, restype). Float buffers are c_void_p: the binding passes
# their addresses as plain integers.
_REQUIRED = {
    "swann_version": ([], c_char_p),
    "swann_status_name": ([c_int], c_char_p),
    "swann_last_error": ([], c_char_p),
    "swann_arena_size": ([c_char_p, c_size_t, _size_p], c_int),
    "swann_create": ([c_char_p, c_size_t, c_void_p, c_size_t, _void_pp], c_int),
    "swann_destroy": ([c_void_p], None),
    "swann_input_size": ([c_void_p], c_size_t),
    "swann_output_size": ([c_void_p], c_size_t),
    "swann_param_count": ([c_void_p], c_size_t),
    "swann_max_batch": ([c_void_p], c_size_t),
    "swann_spec_json": ([c_void_p, c_char_p, c_size_t, _size_p], c_int),
    "swann_forward": ([c_void_p, c_void_p, c_size_t, c_void_p], c_int),
    "swann_backward": ([c_void_p, c_void_p, c_void_p, c_void_p], c_int),
    "swann_backward_grad": ([c_void_p, c_void_p, c_void_p], c_int),
    "swann_step": ([c_void_p], c_int),
    "swann_zero_grad": ([c_void_p], c_int),
    "swann_params": ([c_void_p, _void_pp, _size_p], c_int),
    "swann_grads": ([c_void_p, _void_pp, _size_p], c_int),
    "swann_save": ([c_void_p, c_char_p], c_int),
    "swann_load_size": ([c_char_p, c_size_t, _size_p], c_int),
    "swann_load": ([c_char_p, c_size_t, c_void_p, c_size_t, _void_pp], c_int),
    "swann_save_buffer": ([c_void_p, c_void_p, c_size_t, _size_p], c_int),
    "swann_load_buffer_size": ([c_char_p, c_size_t, c_size_t, _size_p], c_int),
    "swann_load_buffer": ([c_char_p, c_size_t, c_size_t, c_void_p, c_size_t, _void_pp], c_int),
    # additions to contract 1
    "swann_set_lr": ([c_void_p, c_double], c_int),
    "swann_get_lr": ([c_void_p, POINTER(c_double)], c_int),
    "swann_set_threads": ([c_void_p, c_size_t], c_int),
    "swann_accumulated_rows": ([c_void_p, _size_p], c_int),
    "swann_step_rows": ([c_void_p, c_size_t], c_int),
    "swann_last_batch": ([c_void_p, c_void_p], c_int),  # rows: a size_t's address
    "swann_set_flush_subnormals": ([c_void_p, c_int], c_int),
    "swann_get_flush_subnormals": ([c_void_p, POINTER(c_int)], c_int),
}

# Models and sessions (deploy.md): optional, so that a library from before them
# still imports; swann.Model says so when they are missing.
_OPTIONAL = {
    "swann_model_load": ([c_char_p, c_uint, _void_pp], c_int),
    "swann_model_mem_size": ([c_char_p, c_size_t, _size_p], c_int),
    "swann_model_from_buffer": ([c_char_p, c_size_t, c_void_p, c_size_t, _void_pp], c_int),
    "swann_model_from_net": ([c_void_p, _void_pp], c_int),
    "swann_model_save_buffer": ([c_void_p, c_void_p, c_size_t, _size_p], c_int),
    "swann_model_destroy": ([c_void_p], c_int),
    "swann_model_input_size": ([c_void_p], c_size_t),
    "swann_model_output_size": ([c_void_p], c_size_t),
    "swann_model_spec_json": ([c_void_p, c_char_p, c_size_t, _size_p], c_int),
    "swann_session_arena_size": ([c_void_p, c_size_t, _size_p], c_int),
    "swann_session_create": ([c_void_p, c_size_t, c_void_p, c_size_t, _void_pp], c_int),
    "swann_session_run": ([c_void_p, c_void_p, c_size_t, c_void_p], c_int),
    "swann_session_destroy": ([c_void_p], None),
    # Compact weights (deploy.md): f16 / int8 models and saving any model.
    "swann_model_quantize": ([c_void_p, c_char_p, _void_pp], c_int),
    "swann_model_save": ([c_void_p, c_char_p], c_int),
}


class LibSwann:
    """A loaded, checked ``libswann`` with every function's prototype declared.

    Each C function is an attribute under its C name without the ``swann_``
    prefix (``lib.forward``); optional ones missing from the library are None.
    """

    path: str
    version: str
    cdll: ctypes.CDLL
    # the C functions (ctypes function pointers with declared prototypes)
    status_name: Any
    last_error: Any
    arena_size: Any
    create: Any
    destroy: Any
    input_size: Any
    output_size: Any
    param_count: Any
    max_batch: Any
    spec_json: Any
    forward: Any
    last_batch: Any
    backward: Any
    backward_grad: Any
    step: Any
    zero_grad: Any
    params: Any
    grads: Any
    save: Any
    load_size: Any
    load: Any
    set_lr: Any
    get_lr: Any
    set_threads: Any
    accumulated_rows: Any
    step_rows: Any
    set_flush_subnormals: Any
    get_flush_subnormals: Any
    # optional: None when the library predates them
    model_load: Any
    model_mem_size: Any
    model_from_buffer: Any
    model_from_net: Any
    model_save_buffer: Any
    model_destroy: Any
    model_input_size: Any
    model_output_size: Any
    model_spec_json: Any
    session_arena_size: Any
    session_create: Any
    session_run: Any
    session_destroy: Any
    model_quantize: Any
    model_save: Any

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        missing = []
        for name, (argtypes, restype) in _REQUIRED.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.argtypes = argtypes
            fn.restype = restype
            setattr(self, name[len("swann_"):], fn)
        if missing:
            raise _Incompatible("does not export " + ", ".join(missing))
        for name, (argtypes, restype) in _OPTIONAL.items():
            fn = getattr(cdll, name, None)
            if fn is not None:
                fn.argtypes = argtypes
                fn.restype = restype
            setattr(self, name[len("swann_"):], fn)
        raw = cdll.swann_version()
        self.version = raw.decode("ascii", "replace") if raw else ""
        major = _major(self.version)
        if major not in COMPATIBLE_MAJORS:
            raise _Incompatible(
                "is version %r; this binding needs major version %s"
                % (self.version, " or ".join(str(m) for m in COMPATIBLE_MAJORS))
            )

    def __repr__(self) -> str:
        return "<libswann %s at %s>" % (self.version, self.path)


class _Incompatible(Exception):
    pass


def _major(version: str) -> Optional[int]:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _package_copy() -> Path:
    return Path(__file__).resolve().parent / "_lib" / "libswann.so"


def _try(path_or_name: str, is_path: bool) -> Tuple[Optional[LibSwann], str]:
    if is_path and not os.path.exists(path_or_name):
        return None, "no such file"
    try:
        cdll = ctypes.CDLL(path_or_name)
    except OSError as e:
        return None, "could not be loaded (%s)" % (e,)
    try:
        lib = LibSwann(cdll, _resolved(cdll, path_or_name))
    except _Incompatible as e:
        return None, "not compatible: it " + str(e)
    return lib, ""


def _resolved(cdll: ctypes.CDLL, fallback: str) -> str:
    """The file a loaded library came from (via dladdr), else what was asked for."""
    try:
        class _DlInfo(ctypes.Structure):
            _fields_ = [("dli_fname", c_char_p), ("dli_fbase", c_void_p),
                        ("dli_sname", c_char_p), ("dli_saddr", c_void_p)]
        libdl = ctypes.CDLL(None)
        dladdr = libdl.dladdr
        dladdr.argtypes = [c_void_p, POINTER(_DlInfo)]
        dladdr.restype = c_int
        info = _DlInfo()
        addr = ctypes.cast(cdll.swann_version, c_void_p).value
        if dladdr(addr, ctypes.byref(info)) and info.dli_fname:
            return os.path.abspath(os.fsdecode(info.dli_fname))
    except Exception:  # pragma: no cover - dladdr is a convenience only
        pass
    return fallback


def candidates() -> List[Tuple[str, str, bool]]:
    """The places the binding tries, in order: (label, path or name, is_path)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [("$%s" % ENV_VAR, env, True)]
    out = [("package copy", str(_package_copy()), True)]
    found = ctypes.util.find_library("swann")
    names = [found] if found else []
    names += [n for n in ("libswann.so.0", "libswann.so") if n not in names]
    out += [("system library path", n, False) for n in names]
    dirs = [os.path.join(sys.prefix, "lib"), "/usr/local/lib"]
    pc = _pkg_config_libdir()
    if pc:
        dirs.append(pc)
    seen = set()
    for d in dirs:
        where = os.path.join(d, "libswann.so.0")
        if where not in seen:
            seen.add(where)
            out.append(("installed prefix", where, True))
    return out


def _pkg_config_libdir() -> Optional[str]:
    """``pkg-config --variable=libdir swann``, or None (no pkg-config, no swann.pc)."""
    try:
        done = subprocess.run(["pkg-config", "--variable=libdir", "swann"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = done.stdout.strip()
    return libdir if done.returncode == 0 and libdir else None


def load_library() -> LibSwann:
    """Finds and loads a compatible libswann, or raises ImportError saying where it looked."""
    tried = []
    for label, where, is_path in candidates():
        lib, why = _try(where, is_path)
        if lib is not None:
            return lib
        tried.append("  - %s %s: %s" % (label, where, why))
    need = "libswann %d.x, C contract version %d (0.x development releases are accepted too)" % (
        CONTRACT_VERSION, CONTRACT_VERSION)
    lines = ["swann: could not load a compatible C library; this binding needs %s." % need,
             "Looked in, in order:"]
    lines += tried
    if os.environ.get(ENV_VAR):
        lines.append("%s is set, so no other place was tried; unset it to search the package copy "
                     "(%s) and the system library path." % (ENV_VAR, _package_copy()))
    else:
        lines.append("`pip install ./bindings/python` from a swann clone builds the library into the "
                     "package; or build it (`make lib`) and set %s=/path/to/libswann.so, or install it "
                     "(`make install`)." % ENV_VAR)
    raise ImportError("\n".join(lines))
