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
if arm-none-eabi-gcc $FLAGS -std=c11 -Os -Wall -Wextra -nostartfiles -ffunction-sections -fdata-sections \
        -T examples/mcu/mps2-an386.ld -Iinclude -I"$W" examples/mcu/startup.c examples/mcu/main.c \
        "$M4/libswann.a" -lm -Wl,--gc-sections -Wl,--no-enum-size-warning -Wl,-Map="$W/mcu.map" \
        -o "$W/mcu.elf" 2> "$W/link.log"; then
    ok "firmware links: $W/mcu.elf"
else
    bad "firmware link: $(head -c 1500 "$W/link.log")"; finish
fi

# Footprint: the library's code (text + rodata) after --gc-sections, from the link map.
lib=$(perl -ne 'if (/^ \.(text|rodata)\S*\s*$/) { $pend = 1; next }
    if (($pend && /^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+\S*libswann\.a/) ||
        /^ \.(?:text|rodata)\S*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+\S*libswann\.a/) { $n += hex($+) }
    $pend = 0; END { print $n + 0 }' "$W/mcu.map")
echo "# footprint: swann's code and read-only data in the firmware: $lib bytes"
arm-none-eabi-size "$W/mcu.elf" | sed 's/^/# /'
heap=$(arm-none-eabi-nm "$W/mcu.elf" | awk '$3 ~ /^(malloc|free|posix_memalign|arc4random_buf|calloc|realloc)$/ {print $3}' | tr '\n' ' ')
[ -z "$heap" ] && ok "no heap symbol (malloc, free, posix_memalign) nor arc4random_buf in the firmware" ||
    bad "heap symbols in the firmware: $heap"

timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
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
finish
