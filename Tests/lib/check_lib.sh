#!/bin/sh
# Checks what the shipped library must be (docs/architecture.md, decision 1,
# "Embedded Swift for the shipped library"):
# no Swift runtime and no other library (only libc and libm, and glibc's libpthread stub), only swann_* exported,
# well under 1 MB, and a static archive whose only globals are swann_*.
# Ends with "N passed, N failed".
so=$1
ar=$2
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

deps=$(ldd "$so" | awk '{print $1}' | grep -vE '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2)$' | sort | tr '\n' ' ')
# libpthread.so.0: glibc below 2.34 defines the pthread_* versions the library binds to there
# (Sources/CSupport/glibc_versions.h); a stub on newer glibc.
if [ "$deps" = "libc.so.6 libm.so.6 " ] || [ "$deps" = "libc.so.6 libm.so.6 libpthread.so.0 " ]; then ok "ldd: $deps"; else bad "ldd shows more than libc, libm (and libpthread): $deps"; fi

others=$(nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | grep -v '^swann_' | tr '\n' ' ')
if [ -z "$others" ]; then ok "exports: only swann_*"; else bad "exports other symbols: $others"; fi

n=$(nm -D --defined-only "$so" | grep -c ' T swann_')
if [ "$n" -ge 25 ]; then ok "exports $n swann_* functions"; else bad "only $n swann_* functions exported"; fi

if nm -D "$so" | grep -qiE ' U (swift_|_swift|\$s)'; then bad "needs Swift runtime symbols"; else ok "no Swift runtime symbols needed"; fi

# No code reaches the Swift runtime's heap (an Array, a String bridged to C, a
# boxed capture): such an allocation traps when malloc fails, inside the host.
# The library's heap use is its own checked C allocations (cs_aligned_alloc).
callers=$(objdump -d --no-show-raw-insn "$so" |
    awk '/^[0-9a-f]+ <.*>:$/ {fn=$2} /call.*<(swift_allocObject|swift_slowAlloc|swift_allocBox)>/ {print fn}' |
    sort -u | tr '\n' ' ')
if [ -z "$callers" ]; then ok "no Swift heap allocation in the library"; else bad "Swift heap allocation reached from: $callers"; fi

size=$(stat -c %s "$so")
if [ "$size" -lt 1048576 ]; then ok "size: $size bytes"; else bad "size: $size bytes (>= 1 MB)"; fi

# One version: Sources/Swann/Network/Version.swift, which the build reads, and the header's macros agree.
dir=$(cd "$(dirname "$0")/../.." && pwd)
swift_v=$(sed -n 's/^let swannVersion: StaticString = "\(.*\)"/\1/p' "$dir/Sources/Swann/Network/Version.swift")
swift_n=$(sed -n 's/^let swannVersionNumber = \([0-9]*\)$/\1/p' "$dir/Sources/Swann/Network/Version.swift")
h_v=$(sed -n 's/^#define SWANN_VERSION  *"\(.*\)"$/\1/p' "$dir/include/swann.h")
h_parts=$(sed -n 's/^#define SWANN_VERSION_\(MAJOR\|MINOR\|PATCH\)  *\([0-9]*\)$/\2/p' "$dir/include/swann.h" | tr '\n' '.')
want_n=$(echo "$swift_v" | awk -F. '{print $1 * 1000000 + $2 * 1000 + $3}')
if [ -n "$swift_v" ] && [ "$swift_v" = "$h_v" ] && [ "$h_parts" = "$swift_v." ] && [ "$swift_n" = "$want_n" ]; then
    ok "version $swift_v: Version.swift and swann.h agree"
else
    bad "version: Version.swift says \"$swift_v\" ($swift_n), swann.h \"$h_v\" ($h_parts)"
fi

globals=$(nm -g --defined-only "$ar" | awk 'NF == 3 {print $3}' | grep -v '^swann_' | tr '\n' ' ')
if [ -z "$globals" ]; then ok "static archive: only swann_* global"; else bad "static archive globals: $globals"; fi

# A C program linked statically against libswann.a runs.
tmp=$(mktemp -d)
cat > "$tmp/static.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "swann.h"
int main(void) {
    swann_net *net = NULL;
    const char *spec = "{\"input\":3,\"layers\":[{\"units\":2,\"activation\":\"softmax\"}],\"loss\":\"cross_entropy\"}";
    if (swann_create(spec, 1, NULL, 0, &net) != SWANN_OK) { puts(swann_last_error()); return 1; }
    float x[3] = {1, 2, 3}, y[2];
    if (swann_forward(net, x, 1, y) != SWANN_OK) return 1;
    swann_destroy(net);
    return (y[0] + y[1] > 0.999f && y[0] + y[1] < 1.001f) ? 0 : 1;
}
C
if cc -std=c11 -I"$dir/include" "$tmp/static.c" "$ar" -lm -o "$tmp/static" && "$tmp/static"; then
    ok "static link: a C program runs against libswann.a"
else
    bad "static link against libswann.a"
fi
rm -rf "$tmp"

# The house's arrows (docs/architecture.md): Boundary -> Network -> Kernels -> the
# platform layer. Kernels name no network type; the network calls nothing of the
# boundary; the sources name no JSON library but their own.
src="$dir/Sources/Swann"
net_types='NetSpec|LayerSpec|OptimizerConfig|Limits|InitKind|ScheduleKind|NetHeader|Net|Plan|LayerRecord|SwannError|Failure|Status|StepJob|StepChunks|TensorTable|JSONValue|JSONDocument'
hits=$(grep -nwE "$net_types" "$src"/Kernels/*.swift | grep -vE '^[^:]+:[0-9]+:\s*//' | grep -vE '//.*\b('"$net_types"')\b' | head -5)
if [ -z "$hits" ]; then ok "layers: Kernels name no network type"; else bad "layers: Kernels name network types: $hits"; fi
hits=$(grep -nE '\b(boundary|liveNet|required|checkMaxBatch|checkArena|checkPath)\(|\bswann_[a-z_]+\(' "$src"/Network/*.swift | head -5)
if [ -z "$hits" ]; then ok "layers: Network calls nothing of the boundary"; else bad "layers: Network reaches up into Boundary: $hits"; fi
hits=$(grep -rln 'json-c' "$dir/Sources" | head -3)
if [ -z "$hits" ]; then ok "sources: no json-c"; else bad "sources name json-c: $hits"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
