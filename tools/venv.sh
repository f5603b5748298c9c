#!/bin/sh
# Creates (once) the Python virtual environment the tests use, build/venv, with
# numpy, pytest, safetensors, scikit-learn and pandas (Tests/python/test_sklearn.py:
# scikit-learn's estimator checks, pandas for their DataFrame ones), installing python3-venv first when missing.
# Prints the venv's python path on the last line.
set -e
cd "$(dirname "$0")/.."
venv=build/venv
if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    fi
    mkdir -p build
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -c 'import numpy, pytest, safetensors, sklearn, pandas' >/dev/null 2>&1 || \
    "$venv/bin/python" -m pip install -q --disable-pip-version-check numpy pytest safetensors scikit-learn pandas >&2
echo "$(pwd)/$venv/bin/python"
