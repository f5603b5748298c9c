#!/bin/sh
# Copies a built libswann.so into the package (src/swann/_lib/libswann.so), so
# that `pip install ./bindings/python` ships it inside the package.
#
#   sh bindings/python/copy_lib.sh build/libswann.so
#
# Run it before `pip install` (the copy is what gets installed). Remove the copy
# with `sh bindings/python/copy_lib.sh --remove`.
set -e
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/src/swann/_lib"
if [ "$1" = "--remove" ]; then
    # also drop setuptools' build folder, which would still carry the copy
    rm -rf "$dest/libswann.so" "$here/build"
    exit 0
fi
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 path/to/libswann.so | --remove" >&2
    exit 2
fi
mkdir -p "$dest"
# Copy the file itself (cp follows a symlink such as libswann.so.0 -> libswann.so).
cp "$1" "$dest/libswann.so.tmp"
chmod 755 "$dest/libswann.so.tmp"
mv "$dest/libswann.so.tmp" "$dest/libswann.so"
rm -rf "$here/build"
echo "copied $1 -> $dest/libswann.so"
