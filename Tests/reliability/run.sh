#!/usr/bin/env bash
# run.sh [PREFIX] [SECTION...] -- swann's reliability tests, the bounded CI part.
#
# PREFIX is an install of the shipped library (make stage: build/stage); the
# sanitizer builds come from tools/build-sanitized.sh (build/asan, build/tsan,
# build/fuzz; rebuilt only when Sources/ changed). Sections, all by default:
#
#   asan      the C contract tests (Tests/c/test_*.c but test_noalloc, which counts
#             heap calls) and the checkpoint tests (Tests/checkpoint/test_*.c but
#             test_nomem, which fails allocations through its own shim), built with
#             -fsanitize=address,undefined against
#             the ASan+UBSan library; LeakSanitizer also checks every forked test
#             group (lsan_exit.c); plus numeric.c and threads.c under ASan
#   python    the Python binding's pytest suite (Tests/python) against the ASan
#             library (LD_PRELOAD of clang's ASan runtime, leak checks off: CPython)
#   tsan      threads.c, Tests/c/test_threads.c, test_api.c, test_model.c and test_compact.c against the
#             ThreadSanitizer build; any data race fails
#   numeric   numeric.c against PREFIX
#   threads   threads.c against PREFIX
#   nomem     nomem_create.c: every allocation of create/arena_size failed in turn
#   longrun   longrun.c: a million steps, flat memory, save/load every 10 000
#   jsonoracle json_oracle.c against PREFIX: swann's JSON reader differentially
#             against json-c (libjson-c-dev, tools/setup.sh) on mutated specs for
#             JSONORACLE_SECONDS (default 20)
#   fuzz      fuzz_spec and fuzz_api, FUZZ_SECONDS each (default 45), from the
#             seeds in Tests/reliability/seeds
#
# Prints every check as "ok ..." or "FAIL ..." (ok lines of the big suites are
# counted, not shown: VERBOSE=1 shows them), and ends with exactly one line
#     N passed, N failed
# Exit status is non-zero when any check failed, anything did not build,
# crashed, raced, leaked or timed out.
#
# Environment: FUZZ_SECONDS (45), JSONORACLE_SECONDS (20), JSONORACLE_SEED,
# SWIFTC, CLANG (the clang next to swiftc), CC (gcc), TEST_TIMEOUT per program
# (600), KEEP=1 keeps the work folder, VERBOSE=1.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COMMON="$ROOT/Tests/common" # check.h, the allocation shim
PREFIX=""
if [ $# -gt 0 ] && [ -d "$1" ]; then
    PREFIX=$(cd "$1" && pwd)
    shift
fi
[ -z "$PREFIX" ] && PREFIX="$ROOT/build/stage"
SECTIONS=${*:-asan python tsan numeric threads nomem longrun jsonoracle fuzz}

SWIFTC=${SWIFTC:-swiftc}
SWIFT_BIN=$(dirname "$(command -v "$SWIFTC" 2>/dev/null || echo /nonexistent/swiftc)")
CLANG=${CLANG:-$SWIFT_BIN/clang}
[ -x "$CLANG" ] || CLANG=$(command -v clang || echo clang)
CC=${CC:-gcc}
TIMEOUT=${TEST_TIMEOUT:-600}
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
RTDIR=$(dirname "$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)")
ASAN_RT="$RTDIR/libclang_rt.asan-x86_64.so"
SWIFT_LIB=$(cd "$SWIFT_BIN/../lib/swift/linux" 2>/dev/null && pwd)

B=$(mktemp -d "${TMPDIR:-/tmp}/swann-reliability.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] && echo "# work folder kept: $B" || rm -rf "$B"' EXIT
mkdir -p "$B/bin" "$B/logs"

PASS=0
FAIL=0
T_START=$(date +%s)
ok() { PASS=$((PASS + 1)); echo "ok run.sh $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL run.sh $*"; }
section() { echo "==> $1 ($(( $(date +%s) - T_START )) s so far)"; }
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

# Sanitizer settings: stop at the first error, report UB with a stack, check leaks.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1${ASAN_EXTRA:+:$ASAN_EXTRA}"
export LSAN_OPTIONS="suppressions=$HERE/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1"

ASAN_CFLAGS=(-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
             -shared-libsan -Wall -Wextra)

# compile NAME LOG CMD... -- one build, one ok/FAIL line
compile() {
    local name=$1 log=$2
    shift 2
    if "$@" >"$log" 2>&1; then
        return 0
    fi
    bad "build $name [$(head -c 800 "$log" | tr '\n' ' ')]"
    return 1
}

# run_prog LABEL PROG [ENV=VAL...] [-- ARGS...] -- runs a check.h program, counts its
# ok/FAIL lines against its "# name: P passed, F failed" summary.
run_prog() {
    local label=$1 prog=$2
    shift 2
    local envs=() args=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then shift; args=("$@"); break; fi
        envs+=("$1")
        shift
    done
    local out="$B/logs/${label//\//-}.out" err="$B/logs/${label//\//-}.err"
    echo "# ---- $label"
    local t0=$(date +%s)
    (cd "$B" && env "${envs[@]}" timeout -k 10 "$TIMEOUT" "$prog" "${args[@]}") >"$out" 2>"$err"
    local rc=$?
    if [ "${VERBOSE:-0}" = 1 ]; then cat -v "$out"; else grep -a -v '^ok ' "$out" | cat -v; fi
    if [ -s "$err" ]; then
        echo "# $label stderr (first lines):"
        grep -a -v '^$' "$err" | head -30 | sed 's/^/#   /'
    fi
    local p f summary
    p=$(grep -a -c '^ok ' "$out")
    f=$(grep -a -c '^FAIL ' "$out")
    PASS=$((PASS + p))
    FAIL=$((FAIL + f))
    summary=$(grep -a -E "^# [A-Za-z_0-9]+: [0-9]+ passed, [0-9]+ failed$" "$out" | tail -1)
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "$label timed out after ${TIMEOUT}s"
    elif [ "$rc" -gt 128 ]; then
        bad "$label killed by signal $((rc - 128))"
    elif [ -z "$summary" ]; then
        bad "$label ended without its summary line (exit status $rc)"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        bad "$label exited with status $rc without a FAIL line (a sanitizer report?)"
    fi
    if grep -a -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer" "$err" "$out"; then
        bad "$label: a sanitizer reported an error (see above)"
    fi
    echo "#   ($(( $(date +%s) - t0 )) s, $p ok, $f FAIL)"
}

echo "# swann reliability tests; library: $PREFIX; sections: $SECTIONS"

# ---- builds -----------------------------------------------------------------------
NEED_VARIANTS=""
want asan || want python && NEED_VARIANTS="$NEED_VARIANTS asan"
want tsan && NEED_VARIANTS="$NEED_VARIANTS tsan"
want fuzz && NEED_VARIANTS="$NEED_VARIANTS fuzz"
HAVE_VARIANTS=""
if [ -n "$NEED_VARIANTS" ]; then
    section "build sanitized libraries:$NEED_VARIANTS"
    t0=$(date +%s)
    if SWIFTC="$SWIFTC" CLANG="$CLANG" sh "$ROOT/tools/build-sanitized.sh" $NEED_VARIANTS >"$B/logs/build-sanitized.log" 2>&1; then
        ok "tools/build-sanitized.sh$NEED_VARIANTS ($(( $(date +%s) - t0 )) s)"
        HAVE_VARIANTS=$NEED_VARIANTS
    else
        bad "tools/build-sanitized.sh$NEED_VARIANTS [$(tail -c 1500 "$B/logs/build-sanitized.log" | tr '\n' ' ')]"
        for v in $NEED_VARIANTS; do [ -f "$ROOT/build/$v/stamp" ] && HAVE_VARIANTS="$HAVE_VARIANTS $v"; done
    fi
    grep '^build-sanitized' "$B/logs/build-sanitized.log" | sed 's/^/# /'
fi
have() { [[ " $HAVE_VARIANTS " == *" $1 "* ]]; }
ASAN="$ROOT/build/asan"
TSAN="$ROOT/build/tsan"
FUZZ="$ROOT/build/fuzz"

HAVE_PREFIX=0
if [ -f "$PREFIX/include/swann.h" ] && [ -e "$PREFIX/lib/libswann.so" ]; then
    HAVE_PREFIX=1
elif want numeric || want threads || want nomem || want longrun || want jsonoracle; then
    bad "no library at $PREFIX (run make stage, or pass the prefix)"
fi
PLAIN=(-std=c11 -O2 -g -Wall -Wextra -I"$PREFIX/include" -I"$COMMON" -L"$PREFIX/lib" -Wl,-rpath,"$PREFIX/lib")

# alloc_shim.so: allocation failure injection and live-block counts
if want nomem || want longrun; then
    compile alloc_shim.so "$B/logs/alloc_shim.log" \
        "$CC" -std=c11 -O2 -Wall -Wextra -fPIC -shared -o "$B/bin/alloc_shim.so" "$COMMON/alloc_shim.c" -ldl
fi

# ---- ASan + UBSan: the C tests ------------------------------------------------------
if want asan; then
    section "ASan + UBSan: C contract tests, checkpoint tests, numeric, threads"
    if ! have asan; then
        bad "asan section skipped: no ASan library"
    else
        AI="$ASAN/stage/include"
        ALINK=(-L"$ASAN" -lswann -Wl,-rpath,"$ASAN" -Wl,-rpath,"$RTDIR" -lm -ldl -pthread)
        compile lsan_exit "$B/logs/lsan_exit.log" "$CLANG" "${ASAN_CFLAGS[@]}" -c "$HERE/lsan_exit.c" -o "$B/bin/lsan_exit.o"
        WRAP=("$B/bin/lsan_exit.o" -Wl,--wrap=_exit)
        for src in "$ROOT"/Tests/c/test_*.c; do
            t=$(basename "$src" .c)
            [ "$t" = test_noalloc ] && continue  # counts malloc calls through its own shim
            compile "asan/$t" "$B/logs/asan-$t.log" "$CLANG" "${ASAN_CFLAGS[@]}" -I"$AI" -I"$COMMON" \
                "$src" "${WRAP[@]}" -o "$B/bin/asan-$t" "${ALINK[@]}" &&
                run_prog "asan/$t" "$B/bin/asan-$t" SWANN_TEST_ONE_LEVEL=1  # instrumented: one CPU level
        done
        mkdir -p "$B/ckpt-tmp"
        for src in "$ROOT"/Tests/checkpoint/test_*.c; do
            t=$(basename "$src" .c)
            [ "$t" = test_nomem ] && continue  # fails allocations through its own shim
            compile "asan/checkpoint/$t" "$B/logs/asan-ckpt-$t.log" "$CLANG" "${ASAN_CFLAGS[@]}" -I"$AI" \
                -I"$COMMON" "$src" "${WRAP[@]}" -o "$B/bin/asan-ckpt-$t" "${ALINK[@]}" &&
                run_prog "asan/checkpoint/$t" "$B/bin/asan-ckpt-$t" CKPT_TMP="$B/ckpt-tmp" CKPT_KILLS=20
        done
        for t in numeric threads; do
            compile "asan/$t" "$B/logs/asan-$t.log" "$CLANG" "${ASAN_CFLAGS[@]}" -I"$AI" -I"$COMMON" \
                "$HERE/$t.c" "${WRAP[@]}" -o "$B/bin/asan-$t" "${ALINK[@]}" && run_prog "asan/$t" "$B/bin/asan-$t"
        done
    fi
fi

# ---- ASan: the Python tests -----------------------------------------------------------
if want python; then
    section "ASan + UBSan: Python tests"
    if ! have asan; then
        bad "python section skipped: no ASan library"
    elif ! VPY=$(sh "$ROOT/tools/venv.sh" 2>"$B/logs/venv.log" | tail -1) || [ ! -x "$VPY" ]; then
        bad "python: tools/venv.sh could not make the virtualenv [$(tail -c 600 "$B/logs/venv.log" | tr '\n' ' ')]"
    else
        echo "# ---- python (pytest Tests/python, SWANN_LIBRARY=$ASAN/libswann.so, LD_PRELOAD=$(basename "$ASAN_RT"))"
        t0=$(date +%s)
        # The binding from the working tree (PYTHONPATH first), the instrumented library;
        # CPython's own allocations are not leak-checked, and a small quarantine keeps
        # the binding's RSS-based leak test meaningful.
        (cd "$ROOT" && PYTHONPATH="$ROOT/bindings/python/src" SWANN_LIBRARY="$ASAN/libswann.so" \
            LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=8:abort_on_error=1" \
            timeout -k 10 "$TIMEOUT" "$VPY" -m pytest -p no:cacheprovider -q Tests/python) \
            >"$B/logs/python.out" 2>&1
        rc=$?
        tail -5 "$B/logs/python.out" | sed 's/^/#   /'
        summary=$(grep -E "^[0-9]+ (passed|failed)|^=+ .*(passed|failed)" "$B/logs/python.out" | tail -1)
        np=$(echo "$summary" | grep -o -E "[0-9]+ passed" | grep -o -E "[0-9]+" || echo 0)
        nf=$(echo "$summary" | grep -o -E "[0-9]+ failed" | grep -o -E "[0-9]+" || echo 0)
        ne=$(echo "$summary" | grep -o -E "[0-9]+ error" | grep -o -E "[0-9]+" || echo 0)
        if [ "$rc" -eq 0 ] && [ "${np:-0}" -gt 0 ]; then
            ok "python: pytest Tests/python against the ASan+UBSan library: ${np} passed ($(( $(date +%s) - t0 )) s)"
        else
            bad "python: pytest against the ASan+UBSan library: exit $rc, ${np:-0} passed, ${nf:-0} failed, ${ne:-0} errors"
            grep -a -E "^(FAILED|ERROR)|AddressSanitizer|runtime error" "$B/logs/python.out" | head -20 | sed 's/^/#   /'
        fi
    fi
fi

# ---- TSan --------------------------------------------------------------------------------
if want tsan; then
    section "ThreadSanitizer: threads.c, Tests/c/test_threads.c, Tests/c/test_api.c, Tests/c/test_model.c, Tests/c/test_compact.c"
    if ! have tsan; then
        bad "tsan section skipped: no TSan library"
    else
        TLINK=(-L"$TSAN" -lswann -Wl,-rpath,"$TSAN" -L"$SWIFT_LIB" -ldispatch -lBlocksRuntime -Wl,-rpath,"$SWIFT_LIB"
               -lm -ldl -pthread)
        TFLAGS=(-std=c11 -O1 -g -fsanitize=thread -Wall -Wextra -I"$ROOT/include" -I"$COMMON")
        for src in "$HERE/threads.c" "$ROOT/Tests/c/test_threads.c" "$ROOT/Tests/c/test_api.c" "$ROOT/Tests/c/test_model.c" "$ROOT/Tests/c/test_compact.c"; do
            [ -f "$src" ] || continue
            t=$(basename "$src" .c)
            compile "tsan/$t" "$B/logs/tsan-$t.log" "$CLANG" "${TFLAGS[@]}" "$src" -o "$B/bin/tsan-$t" "${TLINK[@]}" &&
                run_prog "tsan/$t" "$B/bin/tsan-$t"
        done
    fi
fi

# ---- the shipped library ----------------------------------------------------------------
if [ "$HAVE_PREFIX" = 1 ]; then
    for t in numeric threads; do
        want $t || continue
        section "$t (shipped library)"
        compile "$t" "$B/logs/$t.log" "$CC" "${PLAIN[@]}" "$HERE/$t.c" -o "$B/bin/$t" -lswann -lm -ldl -pthread &&
            run_prog "$t" "$B/bin/$t"
    done
    if want nomem && [ -f "$B/bin/alloc_shim.so" ]; then
        section "allocation failure: create and arena_size"
        compile nomem_create "$B/logs/nomem_create.log" "$CC" "${PLAIN[@]}" "$HERE/nomem_create.c" \
            -o "$B/bin/nomem_create" -lswann -lm -ldl &&
            run_prog nomem_create "$B/bin/nomem_create" LD_PRELOAD="$B/bin/alloc_shim.so"
    fi
    if want longrun && [ -f "$B/bin/alloc_shim.so" ]; then
        section "long run: a million steps"
        compile longrun "$B/logs/longrun.log" "$CC" "${PLAIN[@]}" "$HERE/longrun.c" -o "$B/bin/longrun" -lswann -lm -ldl &&
            run_prog longrun "$B/bin/longrun" LD_PRELOAD="$B/bin/alloc_shim.so" -- "${LONGRUN_STEPS:-1000000}" 10000
    fi
    if want jsonoracle; then
        section "JSON oracle: swann's reader against json-c, ${JSONORACLE_SECONDS:-20} s"
        if [ ! -f /usr/include/json-c/json.h ]; then
            bad "jsonoracle: json-c is not installed (libjson-c-dev; tools/setup.sh installs it)"
        else
            compile json_oracle "$B/logs/json_oracle.log" "$CC" "${PLAIN[@]}" "$HERE/json_oracle.c" \
                -o "$B/bin/json_oracle" -lswann -ljson-c -lm -ldl &&
                run_prog json_oracle "$B/bin/json_oracle" JSONORACLE_SECONDS="${JSONORACLE_SECONDS:-20}" \
                    ${JSONORACLE_SEED:+JSONORACLE_SEED="$JSONORACLE_SEED"}
        fi
    fi
fi

# ---- fuzzing ---------------------------------------------------------------------------
if want fuzz; then
    section "fuzzing: spec parser and API sequences, ${FUZZ_SECONDS} s each"
    if ! have fuzz; then
        bad "fuzz section skipped: no fuzzing build"
    else
        FUZZ_SECONDS=$FUZZ_SECONDS CLANG="$CLANG" WORK="$B/fuzz" bash "$HERE/fuzz.sh" --ci >"$B/logs/fuzz.out" 2>&1
        rc=$?
        grep -a -E "^(ok|FAIL) " "$B/logs/fuzz.out"
        grep -a -v -E "^(ok|FAIL) " "$B/logs/fuzz.out" | grep -a -E "^#" | sed 's/^/  /'
        PASS=$((PASS + $(grep -a -c '^ok ' "$B/logs/fuzz.out")))
        FAIL=$((FAIL + $(grep -a -c '^FAIL ' "$B/logs/fuzz.out")))
        [ "$rc" -ne 0 ] && ! grep -a -q '^FAIL ' "$B/logs/fuzz.out" && bad "fuzz.sh exited with status $rc"
    fi
fi

echo "# reliability tests took $(( $(date +%s) - T_START )) s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
