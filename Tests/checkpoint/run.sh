#!/usr/bin/env bash
# run.sh PREFIX -- the checkpoint (model file) tests of swann.
#
# PREFIX is an install prefix: PREFIX/include/swann.h, PREFIX/lib/libswann.so,
# PREFIX/lib/libswann.a (make install PREFIX=...). Builds and runs every test_*.c
# (with the allocation shim preloaded), among them:
#   test_roundtrip      round trips, resumed training, arenas, max_batch, errors (libswann.so;
#                       test_roundtrip_static: the same linked with libswann.a)
#   test_corrupt        every truncation, every bit flip, a corrupt-file corpus, leak checks (alloc_shim.so)
#   test_atomic         SIGKILL during saves, and write failures (RLIMIT_FSIZE)
#   test_files          symbolic links, permission bits, FIFOs and devices, long names, shape messages
#   test_nomem          the n-th allocation fails, for save, load and load_size (alloc_shim.so)
#   bench               a 1024-4096-4096-1024 net saved and loaded (MB/s)
#   fuzz_load           libFuzzer on the loader, ASan-instrumented library when the sources and swiftc are there
#   interop.py          the Python safetensors package reads and writes swann files
# and ends with one line "N passed, N failed" (all checks); the exit status is
# non-zero when anything failed or crashed.
#
# Environment: CKPT_FUZZ_SECONDS (60), CKPT_FUZZ_SEED (1), CKPT_KILLS (200),
# CKPT_VERBOSE=1 (print every ok line), CKPT_KEEP=1 (keep the work folder),
# CC (gcc), CLANG (clang), SWIFTC (swiftc).
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
PREFIX=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no such prefix: $1" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COMMON="$ROOT/Tests/common" # check.h, the allocation shim
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
SWIFTC=${SWIFTC:-swiftc}
FUZZ_SECONDS=${CKPT_FUZZ_SECONDS:-60}
FUZZ_SEED=${CKPT_FUZZ_SEED:-1}

for f in include/swann.h lib/libswann.so lib/libswann.a; do
    [ -e "$PREFIX/$f" ] || { echo "run.sh: $PREFIX/$f is missing" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/swann-ckpt-tests.XXXXXX")
SHM=$(mktemp -d /dev/shm/swann-ckpt-fuzz.XXXXXX 2>/dev/null || mktemp -d "$WORK.shm.XXXXXX")
cleanup() {
    rm -rf "$SHM"
    if [ "${CKPT_KEEP:-0}" = 1 ]; then echo "# work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/bin" "$WORK/tmp" "$WORK/logs"
export CKPT_TMP="$WORK/tmp"
export CKPT_KILLS=${CKPT_KILLS:-200}

PASSED=0
FAILED=0
START=$(date +%s)

note_fail() { # one failed check that is not a test's own (a build, a crash)
    FAILED=$((FAILED + 1))
    echo "FAIL run.sh $*"
}

CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -I$PREFIX/include -I$COMMON"
SHARED="-L$PREFIX/lib -lswann -Wl,-rpath,$PREFIX/lib -lm -ldl"
STATIC="$PREFIX/lib/libswann.a -lm -lpthread -ldl"

build() { # build NAME SOURCE LINKFLAGS...
    local name=$1 src=$2
    shift 2
    if ! $CC $CFLAGS "$HERE/$src" -o "$WORK/bin/$name" "$@" >"$WORK/logs/build-$name.log" 2>&1; then
        note_fail "building $name"
        sed 's/^/    /' "$WORK/logs/build-$name.log" | head -40
        return 1
    fi
}

# run_test NAME [ENV=VALUE...] -- runs a built test, adds its "# NAME: P passed, F failed" line
run_test() {
    local name=$1
    shift
    local log="$WORK/logs/$name.log"
    echo "==> $name"
    local t0=$(date +%s)
    (cd "$WORK" && env "$@" "$WORK/bin/${name%% *}") >"$log" 2>&1
    local rc=$?
    if [ "${CKPT_VERBOSE:-0}" = 1 ]; then cat -v "$log"; else grep -a -v '^ok ' "$log" | cat -v; fi
    local summary
    summary=$(grep -a -E "^# [A-Za-z_]+: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -1)
    if [ -z "$summary" ]; then
        note_fail "$name crashed or ended without its summary (exit status $rc)"
        return
    fi
    local p f
    p=$(echo "$summary" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
    f=$(echo "$summary" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$f" -eq 0 ] && [ $rc -ne 0 ]; then note_fail "$name exited with status $rc"; fi
    echo "    ($(( $(date +%s) - t0 )) s)"
}

echo "# swann checkpoint tests against $PREFIX (library $(sed -n 's/^Version: //p' "$PREFIX/lib/pkgconfig/swann.pc" 2>/dev/null))"

# ---- C tests ------------------------------------------------------------------
if $CC -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared "$COMMON/alloc_shim.c" -o "$WORK/bin/alloc_shim.so" -ldl \
        >"$WORK/logs/build-alloc_shim.log" 2>&1; then
    HAVE_SHIM=1
else
    HAVE_SHIM=0
    note_fail "building alloc_shim.so"
    cat "$WORK/logs/build-alloc_shim.log"
fi
# Every test_*.c here is a program, built against libswann.so and run with the
# allocation shim preloaded (it only counts until a test arms it; the leak and
# allocation-failure checks of test_corrupt and test_nomem need it).
PRELOAD=()
[ $HAVE_SHIM = 1 ] && PRELOAD=(LD_PRELOAD="$WORK/bin/alloc_shim.so")
for src in "$HERE"/test_*.c; do
    [ -e "$src" ] || continue
    t=$(basename "$src" .c)
    build "$t" "$t.c" $SHARED && run_test "$t" "${PRELOAD[@]}"
done
# and the round trips once more with the static library
build test_roundtrip_static test_roundtrip.c $STATIC && run_test test_roundtrip_static
build bench bench.c $SHARED && run_test bench

# ---- fuzzing --------------------------------------------------------------------
# platform_objects DIR: the platform layer's C files (Sources/CSupport/*.c), instrumented, as DIR/cs-*.o
platform_objects() {
    local c
    for c in "$ROOT"/Sources/CSupport/*.c; do
        "$CLANG" -std=c11 -O1 -g -fsanitize=fuzzer-no-link,address -I "$ROOT/Sources/CSupport/include" \
            -c "$c" -o "$1/cs-$(basename "$c" .c).o" || return 1
    done
}

fuzz() {
    echo "==> fuzz_load (${FUZZ_SECONDS} s, seed $FUZZ_SEED)"
    local fz="$WORK/fuzz" log="$WORK/logs/fuzz.log"
    mkdir -p "$fz/seeds" "$fz/corpus" "$fz/obj"
    if ! build make_seeds make_seeds.c $SHARED || ! "$WORK/bin/make_seeds" "$fz/seeds"; then
        note_fail "making the fuzzer's seed corpus"
        return
    fi
    if ! command -v "$CLANG" >/dev/null 2>&1; then
        note_fail "fuzz_load: no clang (set CLANG) to build the libFuzzer harness"
        return
    fi
    local mode swift_srcs=()
    # the Swift sources, in subfolders too
    [ -d "$ROOT/Sources/Swann" ] && mapfile -t swift_srcs < <(find "$ROOT/Sources/Swann" -name '*.swift' | LC_ALL=C sort)
    if command -v "$SWIFTC" >/dev/null 2>&1 && [ ${#swift_srcs[@]} -gt 0 ] &&
        "$SWIFTC" -enable-experimental-feature Embedded -wmo -parse-as-library -Onone \
            -sanitize=fuzzer,address -target-cpu "${TARGET_CPU:-haswell}" -module-name Swann \
            -I "$ROOT/Sources/CSupport/include" -c "${swift_srcs[@]}" -o "$fz/obj/swann.o" \
            >"$WORK/logs/build-fuzz.log" 2>&1 &&
        platform_objects "$fz/obj" >>"$WORK/logs/build-fuzz.log" 2>&1 &&
        "$CLANG" -O1 -g -fsanitize=fuzzer,address -I "$PREFIX/include" "$HERE/fuzz_load.c" \
            "$fz/obj/swann.o" "$fz/obj"/cs-*.o -lm -lpthread -fuse-ld=lld -o "$WORK/bin/fuzz_load" \
            >>"$WORK/logs/build-fuzz.log" 2>&1; then
        mode="library built from $ROOT/Sources with -Onone -sanitize=fuzzer,address (coverage-guided, ASan+LSan)"
    elif "$CLANG" -O1 -g -fsanitize=fuzzer,address -I "$PREFIX/include" "$HERE/fuzz_load.c" \
            "$PREFIX/lib/libswann.a" -lm -lpthread -o "$WORK/bin/fuzz_load" \
            >>"$WORK/logs/build-fuzz.log" 2>&1; then
        mode="PREFIX's libswann.a, not instrumented (only the harness has ASan; little coverage feedback)"
    else
        note_fail "building fuzz_load"
        tail -30 "$WORK/logs/build-fuzz.log"
        return
    fi
    echo "    fuzzing against: $mode"
    (cd "$fz" && CKPT_FUZZ_DIR="$SHM" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "$WORK/bin/fuzz_load" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -seed="$FUZZ_SEED" -dict="$HERE/fuzz.dict" -print_final_stats=1 \
        -artifact_prefix="$fz/" corpus seeds) >"$log" 2>&1
    local rc=$?
    local runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "    executions: ${runs:-?}, corpus: $(ls "$fz/corpus" | wc -l) files, exit status $rc"
    if [ $rc -eq 0 ] && grep -q "^Done [0-9]* runs" "$log"; then
        PASSED=$((PASSED + 1))
        echo "ok run.sh fuzz_load: ${runs:-?} inputs without a crash, leak, timeout or property violation"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL run.sh fuzz_load found a problem (exit status $rc):"
        grep -a -E "ERROR|property violated|SUMMARY|Test unit written|panic|Fatal" "$log" | head -20 | sed 's/^/    /'
        grep -a -A12 "^==[0-9]*==ERROR" "$log" | head -30 | sed 's/^/    /'
        for a in "$fz"/crash-* "$fz"/leak-* "$fz"/timeout-* "$fz"/oom-*; do
            [ -e "$a" ] || continue
            echo "    reproducer $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
            base64 -w 100 "$a" | head -40 | sed 's/^/      /'
        done
    fi
}
fuzz

# ---- Python interop ---------------------------------------------------------------
echo "==> interop.py"
PY=$(sh "$ROOT/tools/venv.sh" 2>"$WORK/logs/venv.log" | tail -1)
if [ -z "$PY" ] || [ ! -x "$PY" ]; then
    note_fail "the Python venv (tools/venv.sh) is not available"
    tail -5 "$WORK/logs/venv.log"
else
    "$PY" "$HERE/interop.py" "$PREFIX" >"$WORK/logs/interop.log" 2>&1
    rc=$?
    if [ "${CKPT_VERBOSE:-0}" = 1 ]; then cat "$WORK/logs/interop.log"; else grep -v '^ok ' "$WORK/logs/interop.log"; fi
    summary=$(grep -E "^# interop: [0-9]+ passed, [0-9]+ failed$" "$WORK/logs/interop.log" | tail -1)
    if [ -z "$summary" ]; then
        note_fail "interop.py crashed (exit status $rc)"
    else
        PASSED=$((PASSED + $(echo "$summary" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
        FAILED=$((FAILED + $(echo "$summary" | sed -E 's/.*, ([0-9]+) failed/\1/')))
    fi
fi

echo "# checkpoint tests took $(( $(date +%s) - START )) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
