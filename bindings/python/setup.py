"""The build step of the swann package: ships libswann.so inside it.

`pip install ./bindings/python` (and `pip wheel`) runs the project's own
library build, `make lib` in the repository two folders up, and copies
build/libswann.so into the package as swann/_lib/libswann.so, where the binding
finds it before the system's library path. A copy already there
(bindings/python/copy_lib.sh) is shipped as it is and nothing is built.

The wheel holds a Linux binary, so it is tagged for the platform
(py3-none-linux_x86_64: ctypes needs no particular Python ABI);
`auditwheel repair` then retags it manylinux_2_28 (the library binds to glibc
2.28 symbol versions at most).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 carries bdist_wheel; older ones take it from wheel
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
COPY = HERE / "src" / "swann" / "_lib" / "libswann.so"


class LibraryError(RuntimeError):
    pass


def _build_library() -> Path:
    """Runs `make lib` in the repository; returns the built libswann.so."""
    if not (ROOT / "Makefile").is_file() or not (ROOT / "include" / "swann.h").is_file():
        raise LibraryError(
            "swann: cannot build libswann: %s is not the swann repository (no Makefile, include/swann.h). "
            "Install from a clone (pip install ./bindings/python) or put a built libswann.so at %s "
            "(bindings/python/copy_lib.sh)." % (ROOT, COPY))
    swiftc = os.environ.get("SWIFTC", "swiftc")
    if shutil.which(swiftc) is None:
        raise LibraryError(
            "swann: building libswann needs Swift 6 (the `swiftc` compiler, %r, is not on PATH). "
            "Install Swift 6.x from https://swift.org/install and retry, or put a built libswann.so "
            "at %s (bindings/python/copy_lib.sh)." % (swiftc, COPY))
    make = shutil.which(os.environ.get("MAKE", "make"))
    if make is None:
        raise LibraryError("swann: building libswann needs `make` and a C compiler (apt-get install make gcc)")
    build = os.environ.get("SWANN_BUILD_DIR", "build")
    print("swann: building libswann: make -C %s lib BUILD=%s" % (ROOT, build), flush=True)
    done = subprocess.run([make, "-C", str(ROOT), "--no-print-directory", "lib", "BUILD=" + build])
    if done.returncode != 0:
        raise LibraryError("swann: `make -C %s lib` failed (status %d): see its output above"
                           % (ROOT, done.returncode))
    lib = Path(build) if os.path.isabs(build) else ROOT / build
    return lib / "libswann.so"


class BuildPyWithLibrary(build_py):
    """build_py, then libswann.so into the built package's _lib folder."""

    def run(self):
        super().run()
        source = COPY if COPY.is_file() else _build_library()
        dest = Path(self.build_lib) / "swann" / "_lib" / "libswann.so"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)  # the file, not a symlink
        os.chmod(dest, 0o755)


class BinaryDistribution(Distribution):
    """A package with a native library: platlib, and a platform-tagged wheel."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3, this machine type."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
      distclass=BinaryDistribution)
