#!/bin/sh
# Builds instrumented variants of libswann for the reliability tests.
#
#   sh tools/build-sanitized.sh [asan] [tsan] [fuzz]      (default: all three)
#
#   build/asan/   Embedded Swift (as shipped) at -O with -sanitize=address, the C
#                 support with -fsanitize=address,undefined; libswann.so needs
#                 clang's shared ASan runtime (DT_NEEDED + rpath), so a host links
#                 with -fsanitize=address -shared-libsan, or preloads the runtime
#                 (Python). Also a staged prefix build/asan/stage (include, lib,
#                 lib/pkgconfig/swann.pc) for Tests/c/run.sh.
#   build/tsan/   The same sources in normal Swift mode (Embedded mode takes no
#                 -sanitize=thread), -sanitize=thread; C support -fsanitize=thread.
#                 A host links with -fsanitize=thread.
#   build/fuzz/   Objects for libFuzzer harnesses: Embedded Swift at -Onone with
#                 -sanitize=fuzzer,address (at -O ASan can miss a write to freed
#                 memory that the optimiser removed), C support with
#                 -fsanitize=fuzzer-no-link,address,undefined. Harnesses link
#                 build/fuzz/swann.o and build/fuzz/csupport.o directly.
#
# Each variant compiles a snapshot of Sources/ (copied first, so an edit during
# the build cannot mix versions) and is skipped when the snapshot, the flags and
# this script are unchanged since its last build (build/<variant>/stamp).
# Prints, per variant, "built" or "up to date" and the time taken.
#
# Environment: SWIFTC (default swiftc), CLANG (default: the clang next to swiftc),
# TARGET_CPU (default haswell), BUILD (default build), FORCE=1 to rebuild.
set -eu
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SWIFTC=${SWIFTC:-swiftc}
SWIFT_BIN=$(dirname "$(command -v "$SWIFTC")")
CLANG=${CLANG:-$SWIFT_BIN/clang}
TARGET_CPU=${TARGET_CPU:-haswell}
BUILD=${BUILD:-build}
[ -x "$CLANG" ] || CLANG=$(command -v clang || true)
[ -n "$CLANG" ] || { echo "build-sanitized: no clang (the Swift toolchain's, or apt clang)" >&2; exit 1; }
# clang's runtime folder (libclang_rt.asan-x86_64.so and friends)
RTDIR=$(dirname "$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)")
[ -f "$RTDIR/libclang_rt.asan-x86_64.so" ] || {
    echo "build-sanitized: $CLANG has no ASan runtime ($RTDIR)" >&2; exit 1; }
VERSION=$(sed -n 's/^let swannVersion: StaticString = "\(.*\)"/\1/p' Sources/Swann/Network/Version.swift)

VARIANTS=${*:-asan tsan fuzz}

# snapshot SRC_DIR: copies the sources; prints their hash.
snapshot() {
    rm -rf "$1"
    mkdir -p "$1/Swann" "$1/CSupport"
    cp -R Sources/Swann/. "$1/Swann/"
    cp -R Sources/CSupport/. "$1/CSupport/"
    (cd "$1" && find . -type f | LC_ALL=C sort | xargs cat) | cat - tools/exports.map "$SELF" | sha256sum | cut -c1-64
}

# swift_srcs SRC_DIR: the snapshot's Swift files, in subfolders too (paths without spaces)
swift_srcs() { find "$1/Swann" -name '*.swift' | LC_ALL=C sort; }

EMBEDDED="-enable-experimental-feature Embedded -wmo -parse-as-library -module-name Swann"
CWARN="-std=c11 -g -fPIC -fvisibility=hidden -fno-omit-frame-pointer -Wall -Wextra"

# platform OUT SRC FLAGS...: the platform layer's C files, each compiled with FLAGS,
# into one relocatable OUT/csupport.o (as the Makefile does).
platform() {
    out=$1 src=$2
    shift 2
    for c in "$src"/CSupport/*.c; do
        "$CLANG" $CWARN "$@" -I "$src/CSupport/include" -c "$c" -o "$out/cs-$(basename "$c" .c).o"
    done
    ld -r -o "$out/csupport.o" "$out"/cs-*.o
}

build_asan() {
    out=$1 src=$2
    platform "$out" "$src" -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
    "$SWIFTC" $EMBEDDED -O -target-cpu "$TARGET_CPU" -sanitize=address -I "$src/CSupport/include" \
        -c $(swift_srcs "$src") -o "$out/swann.o"
    "$CLANG" -shared -fsanitize=address,undefined -shared-libsan -fuse-ld=lld -o "$out/libswann.so" \
        "$out/swann.o" "$out/csupport.o" -Wl,-soname,libswann.so.0 -Wl,--version-script=tools/exports.map \
        -Wl,-z,defs -Wl,--gc-sections -Wl,-rpath,"$RTDIR" -lm
    ln -sf libswann.so "$out/libswann.so.0"
    # a prefix as `make install` lays it out, for Tests/c/run.sh
    rm -rf "$out/stage"
    mkdir -p "$out/stage/include" "$out/stage/lib/pkgconfig"
    cp include/swann.h "$out/stage/include/"
    cp "$out/libswann.so" "$out/stage/lib/libswann.so.$VERSION"
    ln -sf "libswann.so.$VERSION" "$out/stage/lib/libswann.so.0"
    ln -sf libswann.so.0 "$out/stage/lib/libswann.so"
    sed -e "s|@PREFIX@|$ROOT/$out/stage|" -e "s|@VERSION@|$VERSION|" tools/swann.pc.in \
        >"$out/stage/lib/pkgconfig/swann.pc"
}

build_tsan() {
    out=$1 src=$2
    platform "$out" "$src" -O1 -fsanitize=thread
    # Normal mode links the Swift runtime (libswiftCore.so, rpath set by swiftc).
    "$SWIFTC" -wmo -parse-as-library -module-name Swann -O -target-cpu "$TARGET_CPU" -sanitize=thread \
        -I "$src/CSupport/include" -emit-library -o "$out/libswann.so" $(swift_srcs "$src") "$out/csupport.o" \
        -Xlinker --version-script=tools/exports.map -Xlinker -soname=libswann.so.0 -use-ld=lld -lm
    ln -sf libswann.so "$out/libswann.so.0"
}

build_fuzz() {
    out=$1 src=$2
    platform "$out" "$src" -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    "$SWIFTC" $EMBEDDED -Onone -target-cpu "$TARGET_CPU" -sanitize=fuzzer,address -I "$src/CSupport/include" \
        -c $(swift_srcs "$src") -o "$out/swann.o"
}

# one_variant V: builds build/V unless up to date; its output goes to build/V/build.log.
one_variant() {
    v=$1
    out=$BUILD/$v
    t0=$(date +%s)
    hash=$(snapshot "$out/src.new")
    key="$hash $TARGET_CPU $("$SWIFTC" --version 2>/dev/null | head -1)"
    if [ "${FORCE:-0}" != 1 ] && [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ]; then
        rm -rf "$out/src.new"
        echo "build-sanitized: $v up to date ($out)"
        return 0
    fi
    rm -rf "$out/src" && mv "$out/src.new" "$out/src"
    rm -f "$out/stamp"
    echo "build-sanitized: building $v into $out"
    "build_$v" "$out" "$out/src"
    echo "$key" >"$out/stamp"
    echo "build-sanitized: $v built in $(( $(date +%s) - t0 )) s"
}

# The variants build side by side (two cores make it about twice as fast).
pids=""
for v in $VARIANTS; do
    case $v in asan|tsan|fuzz) ;; *) echo "build-sanitized: unknown variant $v (asan, tsan, fuzz)" >&2; exit 2 ;; esac
    mkdir -p "$BUILD/$v"
    ( one_variant "$v" ) >"$BUILD/$v/build.log" 2>&1 &
    pids="$pids $!:$v"
done
status=0
for pv in $pids; do
    pid=${pv%%:*} v=${pv#*:}
    if wait "$pid"; then
        cat "$BUILD/$v/build.log"
    else
        cat "$BUILD/$v/build.log"
        echo "build-sanitized: $v FAILED (log: $BUILD/$v/build.log)"
        status=1
    fi
done
exit $status
