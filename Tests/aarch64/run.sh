#!/usr/bin/env bash
# run.sh A64_BUILD HOST_BUILD -- swann on 64-bit ARM Linux, under qemu-aarch64.
#   A64_BUILD  build/aarch64-linux-gnu (libswann.so, libswann.a for aarch64)
#   HOST_BUILD build (the x86-64 libswann.so): model files cross between the two
# Cross-compiles and runs: the C contract tests (Tests/c/run.sh with TEST_RUN=qemu.sh),
# the XOR and digits examples, the checkpoint round trips (Tests/checkpoint/test_roundtrip.c,
# test_buffer.c), and crossfile.c on both machines: a model file written on one loads
# on the other, saves the same bytes again and gives the same outputs, bit for bit; the
# same for the f16 and int8 models each machine quantizes from them (Tests/c/test_compact.c
# runs with the other contract tests).
# Ends with one line "N passed, N failed" (every check of every program).
set -u
[ $# -eq 2 ] || { echo "usage: $0 A64_BUILD HOST_BUILD" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
A64=$(cd "$1" && pwd) || exit 2
HOST=$(cd "$2" && pwd) || exit 2
HERE="$ROOT/Tests/aarch64"
XCC=aarch64-linux-gnu-gcc
RUN="sh $HERE/qemu.sh"
B=$(mktemp -d /tmp/swann-aarch64.XXXXXX)
trap 'rm -rf "$B"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
counts() { # adds a runner's "N passed, N failed" line (its last) to ours
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
    if [ -z "$line" ]; then bad "$2 ended without its summary line"; return; fi
    PASS=$((PASS + ${line%% passed*}))
    line=${line#*, }
    FAIL=$((FAIL + ${line%% failed}))
}

# ---- an install prefix for the aarch64 library ---------------------------------------
P="$B/prefix"
mkdir -p "$P/include" "$P/lib/pkgconfig"
cp "$ROOT/include/swann.h" "$P/include/"
cp "$A64/libswann.so" "$A64/libswann.a" "$P/lib/"
ln -s libswann.so "$P/lib/libswann.so.0"
sed -e "s|@PREFIX@|$P|" -e "s|@VERSION@|0|" "$ROOT/tools/swann.pc.in" > "$P/lib/pkgconfig/swann.pc"
file -L "$P/lib/libswann.so" | grep -q 'ARM aarch64' && ok "libswann.so is an aarch64 shared object" ||
    bad "libswann.so is not aarch64: $(file -L "$P/lib/libswann.so")"
deps=$(aarch64-linux-gnu-readelf -d "$P/lib/libswann.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
[ "$deps" = "ld-linux-aarch64.so.1 libc.so.6 libm.so.6 " ] && ok "needs only libc and libm: $deps" || bad "needs more than libc and libm: $deps"
others=$(aarch64-linux-gnu-nm -D --defined-only "$P/lib/libswann.so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | grep -v '^swann_' | tr '\n' ' ')
[ -z "$others" ] && ok "exports only swann_*" || bad "exports other symbols: $others"
ok "sizes: libswann.so $(stat -c %s "$P/lib/libswann.so") bytes, libswann.a $(stat -c %s "$P/lib/libswann.a") bytes"

# ---- the C contract tests ------------------------------------------------------------
echo "# ---- Tests/c under qemu-aarch64"
# test_fork is not run: qemu-user cannot start threads in the child of a process
# that has threads (it asserts in its own TCG code: cpu_exec "cpu == current_cpu").
CC=$XCC TEST_RUN="$RUN" TEST_SKIP=test_fork bash "$ROOT/Tests/c/run.sh" "$P" > "$B/c.out" 2>&1
grep -E '^(FAIL|# skip)' "$B/c.out"
counts "$B/c.out" "Tests/c/run.sh"
echo "# Tests/c: $(tail -1 "$B/c.out")"

# ---- the checkpoint round trips ------------------------------------------------------
CF="-std=c11 -O1 -Wall -Wextra -I$P/include -I$ROOT/Tests/common -L$P/lib -Wl,-rpath,$P/lib"
for t in test_roundtrip test_buffer; do
    if $XCC $CF -o "$B/$t" "$ROOT/Tests/checkpoint/$t.c" -lswann -lm -pthread 2> "$B/$t.log"; then
        (cd "$B" && CKPT_TMP="$B" timeout -k 10 1200 $RUN "./$t") > "$B/$t.out" 2>&1
        rc=$?
        p=$(grep -c '^ok ' "$B/$t.out"); f=$(grep -c '^FAIL ' "$B/$t.out")
        PASS=$((PASS + p)); FAIL=$((FAIL + f))
        grep '^FAIL ' "$B/$t.out" | head -20
        [ $rc -eq 0 ] && ok "$t: $p checks, exit 0" || bad "$t exited $rc: $(tail -3 "$B/$t.out" | tr '\n' ' ')"
    else
        bad "build $t: $(head -c 600 "$B/$t.log")"
    fi
done

# ---- the examples ---------------------------------------------------------------------
EF="-std=c11 -O2 -Wall -Wextra -Werror -I$P/include -L$P/lib -Wl,-rpath,$P/lib"
if $XCC $EF "$ROOT/examples/c/hello.c" -o "$B/hello" -lswann -lm && $RUN "$B/hello" > "$B/hello.out"; then
    if awk '{ want = ($1 != $3); got = ($5 > 0.5); if (want != got) bad = 1 } END { exit bad || NR != 4 }' "$B/hello.out"; then
        ok "hello.c learns XOR on aarch64: $(awk '{printf "%s ", $5}' "$B/hello.out")"
    else
        bad "hello.c did not learn XOR: $(cat "$B/hello.out")"
    fi
else
    bad "hello.c did not build or run"
fi
$XCC $EF "$ROOT/examples/c/train_digits.c" -o "$B/train_digits" -lswann -lm || bad "train_digits.c does not build for aarch64"
cc -std=c11 -O2 -I"$ROOT/include" "$ROOT/examples/c/train_digits.c" -o "$B/train_digits_x86" "$HOST/libswann.so" -lm -Wl,-rpath,"$HOST" ||
    bad "train_digits.c does not build for the host"
acc() { sed -n 's/^held-out accuracy: \([0-9.]*\).*/\1/p' "$1"; }
$RUN "$B/train_digits" "$ROOT/examples/data/digits.csv" --quiet --save "$B/arm.safetensors" > "$B/digits_arm.out" 2>&1
"$B/train_digits_x86" "$ROOT/examples/data/digits.csv" --quiet --save "$B/x86.safetensors" > "$B/digits_x86.out" 2>&1
a=$(acc "$B/digits_arm.out"); x=$(acc "$B/digits_x86.out")
if [ -n "$a" ] && awk "BEGIN { exit !($a >= 0.96) }" && grep -q '^reload: .*max output difference 0$' "$B/digits_arm.out"; then
    ok "digits demo on aarch64: held-out accuracy $a (x86-64: $x), reloaded model identical"
else
    bad "digits demo on aarch64: $(tail -5 "$B/digits_arm.out")"
fi
# Training is not promised bit-identical across ISAs (libm's expf/logf and the compiler's
# contractions may differ in the last bit); inference and the files are (below).
if cmp -s "$B/arm.safetensors" "$B/x86.safetensors"; then
    echo "# digits trained on aarch64 and on x86-64: the same model file, byte for byte"
else
    echo "# digits trained on aarch64 and on x86-64: the files differ ($(cmp -l "$B/arm.safetensors" "$B/x86.safetensors" | wc -l) bytes), the accuracy is $a and $x"
fi
[ -n "$a" ] && [ "$a" = "$x" ] && ok "digits trained on aarch64 and on x86-64 reach the same held-out accuracy ($a)" ||
    bad "digits trained on aarch64 ($a) and on x86-64 ($x) reach different accuracies"

# ---- model files crossing -------------------------------------------------------------
$XCC $CF "$HERE/crossfile.c" -o "$B/crossfile_arm" -lswann || bad "crossfile.c does not build for aarch64"
cc -std=c11 -O1 -I"$ROOT/include" "$HERE/crossfile.c" -o "$B/crossfile_x86" "$HOST/libswann.so" -Wl,-rpath,"$HOST" ||
    bad "crossfile.c does not build for the host"
for src in x86 arm; do
    $RUN "$B/crossfile_arm" resave "$B/$src.safetensors" "$B/$src.by-arm.safetensors" &&
        "$B/crossfile_x86" resave "$B/$src.safetensors" "$B/$src.by-x86.safetensors" &&
        $RUN "$B/crossfile_arm" predict "$B/$src.safetensors" "$B/$src.pred-arm" &&
        "$B/crossfile_x86" predict "$B/$src.safetensors" "$B/$src.pred-x86" || { bad "crossfile on the $src model failed"; continue; }
    for by in arm x86; do
        cmp -s "$B/$src.safetensors" "$B/$src.by-$by.safetensors" &&
            ok "a model file written on $src, loaded and saved again on $by: the same bytes" ||
            bad "a model file written on $src, saved again on $by, differs"
    done
    cmp -s "$B/$src.pred-arm" "$B/$src.pred-x86" &&
        ok "the $src model's outputs for 256 rows: the same bits on aarch64 and x86-64" ||
        bad "the $src model's outputs differ between aarch64 and x86-64"
done

# ---- compact models crossing (f16, int8) ------------------------------------------------
# Each machine quantizes each float32 model: the same file bytes on both (the quantization is
# IEEE arithmetic with no contraction: a max, one division, round to nearest even). A compact
# file written on one machine, loaded as a model and saved on the other: the same bytes. Its
# outputs for 256 rows: the same bits on both, for int8 (exact int32 sums, then the same two
# float roundings) and for f16 (widening is exact; the fixed-order chains are fused
# multiply-adds on both: NEON fmla, x86 FMA).
for src in x86 arm; do
    for dt in f16 int8; do
        m="$B/$src.$dt"
        $RUN "$B/crossfile_arm" quantize "$B/$src.safetensors" $dt "$m.arm.safetensors" &&
            "$B/crossfile_x86" quantize "$B/$src.safetensors" $dt "$m.x86.safetensors" ||
            { bad "quantizing the $src model to $dt failed"; continue; }
        cmp -s "$m.arm.safetensors" "$m.x86.safetensors" &&
            ok "the $src model quantized to $dt on aarch64 and on x86-64: the same file bytes" ||
            bad "the $src model quantized to $dt differs between aarch64 and x86-64"
        for by in arm x86; do
            other=x86; [ $by = x86 ] && other=arm
            if [ $by = arm ]; then $RUN "$B/crossfile_arm" remodel "$m.$other.safetensors" "$m.by-$by.safetensors"
            else "$B/crossfile_x86" remodel "$m.$other.safetensors" "$m.by-$by.safetensors"; fi &&
                cmp -s "$m.$other.safetensors" "$m.by-$by.safetensors" &&
                ok "a $dt model file written on $other, loaded and saved again on $by: the same bytes" ||
                bad "a $dt model file written on $other, saved again on $by, differs or failed"
        done
        $RUN "$B/crossfile_arm" predict "$m.x86.safetensors" "$m.pred-arm" &&
            "$B/crossfile_x86" predict "$m.arm.safetensors" "$m.pred-x86" &&
            cmp -s "$m.pred-arm" "$m.pred-x86" &&
            ok "the $src model as $dt: outputs for 256 rows, the same bits on aarch64 and x86-64" ||
            bad "the $src model as $dt: outputs differ between aarch64 and x86-64 (or a run failed)"
        cmp -s "$m.pred-arm" "$B/$src.pred-arm" &&
            bad "the $src model as $dt gives exactly the float32 outputs (was it quantized?)"
    done
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
