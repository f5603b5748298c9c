"""Library lookup order and the ImportError message, each in a fresh interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

import swann
from swann import _clib

LIB = Path(swann.library_path).resolve()
PKG = Path(swann.__file__).resolve().parent

PROBE = "import swann; print(swann.library_path); print(swann.library_version)"


def run(code: str, env: Optional[Dict[str, str]] = None, pythonpath: Optional[Path] = None):
    e = {k: v for k, v in os.environ.items() if k not in ("SWANN_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    e.update(env or {})
    # the package under test: a given copy, else the one this process imported
    e["PYTHONPATH"] = str(pythonpath if pythonpath is not None else PKG.parent)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=120)


def package_copy(tmp: Path, with_lib: bool) -> Path:
    """A copy of the installed package under tmp/site, with or without _lib/libswann.so."""
    site = tmp / "site"
    shutil.copytree(PKG, site / "swann", ignore=shutil.ignore_patterns("__pycache__", "libswann.so*"))
    (site / "swann" / "_lib").mkdir(exist_ok=True)
    if with_lib:
        shutil.copy2(LIB, site / "swann" / "_lib" / "libswann.so")
    return site


def test_swann_library_missing_file(tmp_path):
    missing = tmp_path / "nowhere" / "libswann.so"
    r = run(PROBE, {"SWANN_LIBRARY": str(missing)})
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    msg = r.stderr
    assert str(missing) in msg and "no such file" in msg
    assert "$SWANN_LIBRARY" in msg
    assert "contract version 1" in msg and "needs libswann" in msg
    assert "no other place was tried" in msg


def test_swann_library_not_a_library(tmp_path):
    bogus = tmp_path / "libswann.so"
    bogus.write_text("not an ELF file\n")
    r = run(PROBE, {"SWANN_LIBRARY": str(bogus)})
    assert r.returncode != 0 and "ImportError" in r.stderr
    assert "could not be loaded" in r.stderr and str(bogus) in r.stderr


def compile_stub(tmp: Path, source: str) -> Path:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip("no C compiler")
    src = tmp / "stub.c"
    out = tmp / "libstub.so"
    src.write_text(source)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return out


def test_library_without_the_contract(tmp_path):
    stub = compile_stub(tmp_path, "int unrelated(void) { return 1; }\n")
    r = run(PROBE, {"SWANN_LIBRARY": str(stub)})
    assert r.returncode != 0 and "ImportError" in r.stderr
    assert "does not export swann_version" in r.stderr


def test_library_with_incompatible_major_version(tmp_path):
    names = [n for n in _clib._REQUIRED if n != "swann_version"]
    src = 'const char *swann_version(void) { return "7.0.0"; }\n'
    src += "".join("int %s(void) { return 0; }\n" % n for n in names)
    stub = compile_stub(tmp_path, src)
    r = run(PROBE, {"SWANN_LIBRARY": str(stub)})
    assert r.returncode != 0 and "ImportError" in r.stderr
    assert "'7.0.0'" in r.stderr and "major version" in r.stderr


def test_swann_library_is_used(tmp_path):
    r = run(PROBE, {"SWANN_LIBRARY": str(LIB)})
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.split()[0]) == LIB


def test_package_copy_is_second(tmp_path):
    site = package_copy(tmp_path, with_lib=True)
    r = run(PROBE, pythonpath=site)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.split()[0]) == (site / "swann" / "_lib" / "libswann.so").resolve()
    # SWANN_LIBRARY comes first
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(LIB, other / "libswann.so")
    r = run(PROBE, {"SWANN_LIBRARY": str(other / "libswann.so")}, pythonpath=site)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.split()[0]) == (other / "libswann.so").resolve()


def test_system_library_path_is_last(tmp_path):
    site = package_copy(tmp_path, with_lib=False)
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(LIB, libdir / "libswann.so.0")
    r = run(PROBE, {"LD_LIBRARY_PATH": str(libdir)}, pythonpath=site)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.split()[0]).parent == libdir.resolve()


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="pkg-config is not installed")
def test_make_install_prefix_found_through_pkg_config(tmp_path):
    # what `make install PREFIX=...` leaves: lib/libswann.so.0 and lib/pkgconfig/swann.pc,
    # found with no SWANN_LIBRARY, no ldconfig, no LD_LIBRARY_PATH
    site = package_copy(tmp_path, with_lib=False)
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "pkgconfig").mkdir(parents=True)
    shutil.copy2(LIB, prefix / "lib" / "libswann.so.0")
    (prefix / "lib" / "pkgconfig" / "swann.pc").write_text(
        "prefix=%s\nlibdir=${prefix}/lib\nName: swann\nDescription: t\nVersion: 0\nLibs: -L${libdir} -lswann\n"
        % prefix)
    r = run(PROBE, {"PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}, pythonpath=site)
    assert r.returncode == 0, r.stderr
    found = Path(r.stdout.split()[0])
    if found.parent != (prefix / "lib").resolve():
        pytest.skip("a libswann on the system library path comes first: %s" % found)


def test_nothing_found_lists_every_place(tmp_path):
    site = package_copy(tmp_path, with_lib=False)
    r = run(PROBE, pythonpath=site)
    if r.returncode == 0:
        pytest.skip("a libswann is installed on the system library path: %s" % r.stdout.split()[0])
    msg = r.stderr
    assert "ImportError" in msg
    assert str((site / "swann" / "_lib" / "libswann.so").resolve()) in msg
    assert "package copy" in msg and "system library path" in msg and "libswann.so.0" in msg
    assert "SWANN_LIBRARY" in msg   # tells how to point at a library
    assert "installed prefix" in msg and "pip install ./bindings/python" in msg


def test_package_copy_of_wrong_version_falls_through(tmp_path):
    names = [n for n in _clib._REQUIRED if n != "swann_version"]
    src = 'const char *swann_version(void) { return "9.9.9"; }\n'
    src += "".join("int %s(void) { return 0; }\n" % n for n in names)
    stub = compile_stub(tmp_path, src)
    site = package_copy(tmp_path, with_lib=False)
    shutil.copy2(stub, site / "swann" / "_lib" / "libswann.so")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(LIB, libdir / "libswann.so.0")
    r = run(PROBE, {"LD_LIBRARY_PATH": str(libdir)}, pythonpath=site)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.split()[0]).parent == libdir.resolve()
