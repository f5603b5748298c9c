#!/bin/sh
# Runs the Python binding's tests in a virtualenv against the built library.
#
#   sh Tests/python/run.sh [pytest arguments...]
#
# Uses build/venv (tools/venv.sh), installs ./bindings/python into it, and runs
# pytest on Tests/python with SWANN_LIBRARY pointing at build/libswann.so (or at
# $SWANN_LIBRARY when it is set). Exits with pytest's status.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

LIB=${SWANN_LIBRARY:-$ROOT/build/libswann.so}
if [ ! -f "$LIB" ]; then
    echo "run.sh: $LIB not found: build it first (make lib)" >&2
    exit 2
fi
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
# build/venv with numpy, pytest and safetensors (test_optimizers.py reads its fixtures with it)
VPY=$(sh "$ROOT/tools/venv.sh" | tail -1)
# test_onnx.py: the onnx package (the [onnx] extra) and ONNX Runtime to run what it exports
"$VPY" -c 'import onnx, onnxruntime' >/dev/null 2>&1 || \
    "$VPY" -m pip install -q --disable-pip-version-check onnx onnxruntime
# Reinstall the binding every run so the tests see the working tree (dropping
# setuptools' build folder, which could carry files that no longer exist).
rm -rf bindings/python/build
"$VPY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python

status=0
# The PyTorch-parity tests once more on the AVX2 kernels where the CPU has AVX-512 (the
# main run uses the AVX-512 ones): every level with FMA meets the same references.
if [ $# -eq 0 ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    SWANN_ISA=avx2 SWANN_LIBRARY="$LIB" "$VPY" -m pytest -q -p no:cacheprovider Tests/python/test_optimizers.py \
        Tests/python/test_numeric.py || status=$?
fi
SWANN_LIBRARY="$LIB" "$VPY" -m pytest -p no:cacheprovider Tests/python "$@" || status=$?
exit $status
