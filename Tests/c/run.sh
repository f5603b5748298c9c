#!/usr/bin/env bash
# run.sh PREFIX -- build and run the swann C contract tests against an install
# prefix holding include/swann.h, lib/libswann.so and lib/pkgconfig/swann.pc.
#
# Prints every check as "ok ..." or "FAIL ...", and ends with exactly one line
#     N passed, N failed
# Exit status is non-zero when any check failed, any program did not build,
# crashed, was killed by a signal or timed out (each counts as a failure).
#
# Environment: CC (default gcc), TEST_TIMEOUT seconds per program (default 600),
# KEEP=1 to keep the build folder, TEST_RUN a command that runs the built programs
# (another machine's: Tests/aarch64/qemu.sh; it is given the allocation shim in
# SWANN_PRELOAD instead of LD_PRELOAD), TEST_SKIP programs not to run there (names,
# space-separated; each is reported as a "# skip" line, neither passed nor failed).
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
PREFIX=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no such prefix: $1" >&2; echo "0 passed, 1 failed"; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COMMON=$(cd "$HERE/../common" && pwd) # check.h, the allocation shim
CC=${CC:-gcc}
TIMEOUT=${TEST_TIMEOUT:-600}
RUN=${TEST_RUN:-}
B=$(mktemp -d /tmp/swann-ctest.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$B"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok run.sh $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL run.sh $*"; }

CFLAGS=(-std=c11 -O1 -Wall -Wextra -Werror)
LIB="$PREFIX/lib"
INC="$PREFIX/include"

# ---- the install itself -------------------------------------------------------
[ -f "$INC/swann.h" ] && ok "prefix has include/swann.h" || bad "prefix has include/swann.h"
[ -f "$LIB/libswann.so" ] && ok "prefix has lib/libswann.so" || bad "prefix has lib/libswann.so"
[ -f "$LIB/pkgconfig/swann.pc" ] && ok "prefix has lib/pkgconfig/swann.pc" || bad "prefix has lib/pkgconfig/swann.pc"

if command -v pkg-config >/dev/null 2>&1 && [ -f "$LIB/pkgconfig/swann.pc" ]; then
    PCF=$(PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --cflags --libs swann 2>&1)
    if [ $? -eq 0 ] && [[ " $PCF " == *" -lswann "* ]]; then
        ok "pkg-config --cflags --libs swann gives -lswann ($PCF)"
    else
        bad "pkg-config --cflags --libs swann gives -lswann [got: $PCF]"
    fi
    cat >"$B/pc.c" <<'EOF'
#include <swann.h>
#include <stdio.h>
int main(void) { puts(swann_version()); return 0; }
EOF
    # shellcheck disable=SC2086
    if $CC "${CFLAGS[@]}" -o "$B/pc" "$B/pc.c" $PCF -Wl,-rpath,"$LIB" >"$B/pc.log" 2>&1 && $RUN "$B/pc" >/dev/null 2>&1; then
        ok "a program builds and runs with only the pkg-config flags"
    else
        bad "a program builds and runs with only the pkg-config flags [$(head -c 400 "$B/pc.log" | tr '\n' ' ')]"
    fi
fi

if [ -f "$INC/swann.h" ]; then
    printf '#include <swann.h>\n#include <swann.h>\nint main(void){return 0;}\n' >"$B/hdr.c"
    if $CC -std=c99 -pedantic -Wall -Wextra -Werror -I"$INC" -fsyntax-only "$B/hdr.c" >"$B/hdr.log" 2>&1; then
        ok "swann.h compiles alone, twice, with -std=c99 -pedantic -Werror"
    else
        bad "swann.h compiles alone with -std=c99 -pedantic -Werror [$(head -c 400 "$B/hdr.log" | tr '\n' ' ')]"
    fi
    if command -v g++ >/dev/null 2>&1; then
        printf '#include <swann.h>\nint main(){ swann_net *n = nullptr; (void)n; return (int)swann_status_name(SWANN_OK)[0] == 0; }\n' >"$B/hdr.cc"
        if g++ -std=c++11 -Wall -Wextra -Werror -I"$INC" -c -o "$B/hdr.o" "$B/hdr.cc" >"$B/hdrpp.log" 2>&1 &&
            nm "$B/hdr.o" | grep -q ' U swann_status_name$'; then
            ok "swann.h is usable from C++ with C linkage"
        else
            bad "swann.h is usable from C++ with C linkage [$(head -c 400 "$B/hdrpp.log" | tr '\n' ' ')]"
        fi
    fi
fi

if [ -f "$LIB/libswann.so" ]; then
    SYMS=$(nm -D --defined-only "$LIB/libswann.so" 2>/dev/null | awk 'NF >= 3 && $2 != "A" { print $3 }' | sed 's/@.*//')
    OTHER=$(printf '%s\n' "$SYMS" | grep -v -E '^(swann_|SWANN_)' | grep -v '^$' || true)
    if [ -z "$OTHER" ]; then
        ok "libswann.so exports only swann_/SWANN_ symbols"
    else
        N=$(printf '%s\n' "$OTHER" | wc -l)
        bad "libswann.so exports only swann_/SWANN_ symbols [$N others, e.g.: $(printf '%s\n' "$OTHER" | head -8 | tr '\n' ' ')]"
    fi
    MISSING=""
    for f in swann_version swann_status_name swann_last_error swann_arena_size swann_create swann_destroy \
        swann_input_size swann_output_size swann_param_count swann_max_batch swann_spec_json \
        swann_forward swann_backward swann_backward_grad swann_step swann_zero_grad swann_params \
        swann_grads swann_save swann_load_size swann_load swann_save_buffer swann_load_buffer_size swann_load_buffer \
        swann_model_load swann_model_mem_size swann_model_from_buffer swann_model_from_net swann_model_save_buffer \
        swann_model_destroy swann_model_input_size swann_model_output_size swann_model_spec_json \
        swann_session_arena_size swann_session_create swann_session_run swann_session_destroy \
        swann_model_quantize swann_model_save; do
        printf '%s\n' "$SYMS" | grep -qx "$f" || MISSING="$MISSING $f"
    done
    [ -z "$MISSING" ] && ok "libswann.so defines every contract function" ||
        bad "libswann.so defines every contract function [missing:$MISSING]"
fi

# ---- build ---------------------------------------------------------------------
if $CC "${CFLAGS[@]}" -fPIC -shared -o "$B/alloc_shim.so" "$COMMON/alloc_shim.c" -ldl >"$B/alloc_shim.log" 2>&1; then
    ok "build alloc_shim.so"
else
    bad "build alloc_shim.so [$(head -c 600 "$B/alloc_shim.log" | tr '\n' ' ')]"
fi

# every test_*.c in this folder is a program (a new one is picked up without editing this file)
PROGS=()
for src in "$HERE"/test_*.c; do
    [ -e "$src" ] && PROGS+=("$(basename "$src" .c)")
done
[ ${#PROGS[@]} -gt 0 ] || bad "no test_*.c programs in $HERE"
for t in "${PROGS[@]}"; do
    if $CC "${CFLAGS[@]}" -I"$INC" -I"$COMMON" -o "$B/$t" "$HERE/$t.c" -L"$LIB" -lswann -lm -ldl -pthread \
        -Wl,-rpath,"$LIB" >"$B/$t.build.log" 2>&1; then
        ok "build $t"
    else
        bad "build $t [$(head -c 800 "$B/$t.build.log" | tr '\n' ' ')]"
    fi
done

# ---- run -----------------------------------------------------------------------
# run_prog NAME [VAR=VALUE]: one program, its checks counted, with an optional
# environment setting (the second pass below).
run_prog() {
    t=$1
    [ -x "$B/$t" ] || return 0
    if [[ " ${TEST_SKIP:-} " == *" $t "* ]]; then echo "# skip $t (TEST_SKIP)"; return 0; fi
    echo "# ---- $t${2:+ ($2)}"
    # every program runs with the allocation shim preloaded: test_noalloc counts heap
    # calls through it; for the others it only counts (it fails nothing unless armed)
    if [ -n "$RUN" ]; then
        (cd "$B" && env ${2:+"$2"} SWANN_PRELOAD="$B/alloc_shim.so" timeout -k 10 "$TIMEOUT" $RUN "./$t") \
            >"$B/$t.out" 2>"$B/$t.err"
    else
        (cd "$B" && env ${2:+"$2"} LD_PRELOAD="$B/alloc_shim.so" timeout -k 10 "$TIMEOUT" "./$t") >"$B/$t.out" 2>"$B/$t.err"
    fi
    rc=$?
    cat "$B/$t.out"
    if [ -s "$B/$t.err" ]; then
        echo "# $t stderr (first lines):"
        head -20 "$B/$t.err" | sed 's/^/#   /'
    fi
    P=$(grep -c '^ok ' "$B/$t.out")
    F=$(grep -c '^FAIL ' "$B/$t.out")
    PASS=$((PASS + P))
    FAIL=$((FAIL + F))
    SUMMARY=$(grep -E "^# $t: [0-9]+ passed, [0-9]+ failed$" "$B/$t.out" | tail -1)
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "$t timed out after ${TIMEOUT}s (exit $rc)"
    elif [ "$rc" -gt 128 ]; then
        bad "$t killed by signal $((rc - 128))"
    elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        bad "$t exited with status $rc"
    elif [ -z "$SUMMARY" ]; then
        bad "$t ended without its summary line (crashed?)"
    else
        SP=$(echo "$SUMMARY" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
        SF=$(echo "$SUMMARY" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
        if [ "$SP" != "$P" ] || [ "$SF" != "$F" ]; then
            bad "$t summary ($SP passed, $SF failed) disagrees with its ok/FAIL lines ($P, $F)"
        elif [ "$rc" -eq 1 ] && [ "$F" -eq 0 ]; then
            bad "$t exited 1 without a FAIL line"
        elif [ "$rc" -eq 0 ] && [ "$F" -ne 0 ]; then
            bad "$t exited 0 despite FAIL lines"
        fi
    fi
}
for t in "${PROGS[@]}"; do run_prog "$t"; done

# The tests that compare against references (the lecture's math, PyTorch's optimizers,
# thread counts, batch invariance, sessions) once more on the AVX2 kernels, where the
# first pass ran the AVX-512 ones: both levels must meet every reference (swann.h,
# "CPU levels"; test_isa compares the two bit for bit).
if [ -z "$RUN" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    for t in test_math test_xor test_step_paths test_parallel test_batch_invariance test_packed_forward test_model test_compact test_bias_sums; do
        run_prog "$t" SWANN_ISA=avx2
    done
elif [ -z "$RUN" ]; then
    echo "# no AVX-512 on this CPU: the reference tests ran once, on its widest level"
fi
# Compact models sum in integers (int8) or in one fixed order (f16): their scalar
# reference holds on the baseline level too, the one level exempt for float32.
[ -z "$RUN" ] && run_prog test_compact SWANN_ISA=baseline
# grad_b sums no products and that test's z rounds once: its bits hold on the baseline level too.
[ -z "$RUN" ] && run_prog test_bias_sums SWANN_ISA=baseline

[ "${KEEP:-0}" = 1 ] && echo "# build folder kept: $B"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
