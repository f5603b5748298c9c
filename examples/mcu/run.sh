#!/bin/sh
# run.sh M4_BUILD HOST_BUILD -- builds the firmware of examples/mcu/ against
# M4_BUILD/libswann.a (armv7em-none-eabi) and runs it in qemu-system-arm (mps2-an386)
# with semihosting and a timeout. The digits model is trained on the build machine
# (examples/c/train_digits.c with HOST_BUILD's library) and compiled into flash.
# Prints the footprint; ends with "N passed, N failed"; non-zero when anything failed.
set -u
M4=$(cd "$1" && pwd) || exit 2
HOST=$(cd "$2" && pwd) || exit 2
cd "$(dirname "$0")/../.."
W="$M4/mcu"
mkdir -p "$W"
pass=0
fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

HCC="cc -std=c11 -O2 -Iinclude -Wl,-rpath,$HOST"
$HCC examples/c/train_digits.c -o "$W/train_digits" "$HOST/libswann.so" -lm &&
    "$W/train_digits" examples/data/digits.csv --quiet --save "$W/digits.safetensors" > "$W/train.out" 2>&1 &&
    $HCC examples/mcu/embed.c -o "$W/embed" "$HOST/libswann.so" &&
    "$W/embed" "$W/digits.safetensors" examples/data/digits.csv "$W/digits_data.h" ||
    { bad "the digits model and its header (build machine)"; finish; }

FLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 --specs=picolibc.specs --oslib=semihost"
# link NAME MAIN.c [LD FLAGS...]: a firmware image $W/NAME.elf and its link map.
link() {
    name=$1 main=$2
    shift 2
    arm-none-eabi-gcc $FLAGS -std=c11 -Os -Wall -Wextra -nostartfiles -ffunction-sections -fdata-sections \
        -T examples/mcu/mps2-an386.ld -Iinclude -I"$W" examples/mcu/startup.c "$main" \
        "$M4/libswann.a" -lm -Wl,--gc-sections -Wl,--no-enum-size-warning -Wl,-Map="$W/$name.map" "$@" \
        -o "$W/$name.elf" 2> "$W/$name.log"
}
# swann's code and read-only data (text + rodata) in a firmware after --gc-sections, from its
# link map: the sections kept (the map lists the discarded ones first, in the same format).
footprint() {
    perl -ne '$kept = 1 if /^Linker script and memory map/; next unless $kept;
        if (/^ \.(text|rodata)\S*\s*$/) { $pend = 1; next }
        if (($pend && /^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+\S*libswann\.a/) ||
            /^ \.(?:text|rodata)\S*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+\S*libswann\.a/) { $n += hex($+) }
        $pend = 0; END { print $n + 0 }' "$1"
}
if link mcu examples/mcu/main.c; then
    ok "firmware links: $W/mcu.elf"
else
    bad "firmware link: $(head -c 1500 "$W/mcu.log")"; finish
fi
lib=$(footprint "$W/mcu.map")
echo "# footprint: swann's code and read-only data in the demo firmware: $lib bytes"
arm-none-eabi-size "$W/mcu.elf" | sed 's/^/# /'
heap=$(arm-none-eabi-nm "$W/mcu.elf" | awk '$3 ~ /^(malloc|free|posix_memalign|arc4random_buf|calloc|realloc)$/ {print $3}' | tr '\n' ' ')
[ -z "$heap" ] && ok "no heap symbol (malloc, free, posix_memalign) nor arc4random_buf in the firmware" ||
    bad "heap symbols in the firmware: $heap"

# The whole library: the same firmware with every swann_* call kept (-u), so nothing of
# the library's own is left out. Goal: at most 128 KB.
keep=$(arm-none-eabi-nm -g --defined-only "$M4/libswann.a" | awk '$3 ~ /^swann_/ {printf " -Wl,-u,%s", $3}')
# shellcheck disable=SC2086
if link whole examples/mcu/main.c $keep; then
    whole=$(footprint "$W/whole.map")
    echo "# footprint: the whole library (every swann_* call kept): $whole bytes"
    [ "$whole" -le 131072 ] && ok "the whole library is at most 128 KB in a firmware: $whole bytes" ||
        bad "the whole library is $whole bytes, above 128 KB"
else
    bad "whole-library link: $(head -c 1500 "$W/whole.log")"
fi

# The inference-only firmware (infer.c): a model in flash, one session. Goal: at most 32 KB.
if link infer examples/mcu/infer.c; then
    inf=$(footprint "$W/infer.map")
    echo "# footprint: swann's code and read-only data in the inference-only firmware: $inf bytes"
    arm-none-eabi-size "$W/infer.elf" | sed 's/^/# /'
    # Sessions' kernel table holds no training entry (KernelTableInference.swift): none linked.
    train=$(arm-none-eabi-nm "$W/infer.elf" | grep -E '10UpdateRule|6Losses|11ActivationsO8backward' | wc -l)
    [ "$train" -eq 0 ] && ok "the inference-only firmware links no training kernel (update rules, losses, backward)" ||
        bad "the inference-only firmware links $train training kernel symbols"
    timeout 600 qemu-system-arm -M mps2-an386 -icount shift=0 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$W/infer.elf" > "$W/infer.out" 2>&1
    rc=$?
    cat "$W/infer.out"
    [ $rc -eq 0 ] && grep -q '^ok ' "$W/infer.out" && ok "inference-only firmware ran and exited 0" ||
        bad "inference-only firmware exited $rc (124: timed out)"
else
    bad "inference-only firmware link: $(head -c 1500 "$W/infer.log")"
fi

# Bad input (badinput.c): the same checks on the build machine (Linux's statuses) and in a
# second firmware image; each prints "ok"/"FAIL" lines, counted here once per machine.
runbad() { # runbad MACHINE OUTPUT STATUS
    p=$(grep -c '^ok ' "$2"); f=$(grep -c '^FAIL ' "$2")
    grep -A1 '^FAIL ' "$2" | sed "s/^/$1: /"
    pass=$((pass + p)); fail=$((fail + f))
    [ "$3" -eq 0 ] && [ "$p" -gt 0 ] && ok "bad input on $1: $p checks passed, $f failed, exit 0" ||
        bad "bad input on $1: $f of $((p + f)) checks failed (exit $3)"
}
if $HCC -Wall -Wextra -Werror examples/mcu/badinput.c -o "$W/badinput-host" "$HOST/libswann.so" -lm; then
    "$W/badinput-host" > "$W/badinput-host.out" 2>&1
    runbad "the build machine" "$W/badinput-host.out" $?
else
    bad "badinput.c for the build machine did not compile"
fi
if link badinput examples/mcu/badinput.c; then
    timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$W/badinput.elf" > "$W/badinput.out" 2>&1
    runbad "the Cortex-M4" "$W/badinput.out" $?
else
    bad "bad-input firmware link: $(head -c 1500 "$W/badinput.log")"
fi

timeout 600 qemu-system-arm -M mps2-an386 -icount shift=0 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$W/mcu.elf" > "$W/run.out" 2>&1
rc=$?
cat "$W/run.out"
pass=$((pass + $(grep -c '^ok ' "$W/run.out")))
fail=$((fail + $(grep -c '^FAIL ' "$W/run.out")))
if [ $rc -eq 0 ] && grep -q '^mcu: 0 failed$' "$W/run.out"; then
    ok "firmware ran in qemu-system-arm and exited 0"
else
    bad "firmware exited $rc (124: timed out)"
fi
# Stack budget (the painted high-water marks above): every call in 16 KB (7-11 KB today:
# create and training, a model read from flash and its session, bad input). A NetSpec
# copied by value is 4 KB here: this fails when copies creep back (Network/Spec.swift).
stack_over=$(awk '/^# stack: / { if ($(NF-1) > 16384) print }' "$W/run.out")
[ -z "$stack_over" ] && ok "stack within budget (16 KB for every call)" ||
    bad "stack over budget: $stack_over"
finish
