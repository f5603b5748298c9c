#!/usr/bin/env bash
# fuzz.sh [--ci] [spec] [api] -- libFuzzer runs of swann's C API.
#
#   fuzz_spec   the spec parser: JSON text -> arena_size, create, canonical spec
#   fuzz_api    random sequences of API calls with random sizes, NULLs, NaN/Inf data
#               against one net, checked against a model of the net's state
# (The model-file loader has its own fuzzer: Tests/checkpoint/fuzz_load.c.)
#
# Both link the library built by `tools/build-sanitized.sh fuzz` (Embedded Swift at
# -Onone with -sanitize=fuzzer,address; C with ASan+UBSan), so libFuzzer sees the
# library's coverage and ASan/UBSan/LSan watch every input.
#
#   make fuzz          FUZZ_SECONDS (600) per target; the corpus grows in
#                      build/reliability/corpus/<target> from run to run
#   fuzz.sh --ci       (run.sh) FUZZ_SECONDS (45) per target from the committed
#                      seeds only, in a scratch folder
#
# A crash, leak, timeout or violated property is a FAIL line naming the input,
# saved in build/reliability/crashes/; replay it with
#     build/reliability/fuzz_api build/reliability/crashes/crash-...
# (FUZZ_TRACE=1 prints every call and its status). Prints per target the
# number of inputs run, exec/s and the corpus size.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS (long runs: parallel workers, default 1),
# FUZZ_SEED (libFuzzer -seed, default random), CLANG, WORK (scratch folder).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CI=0
TARGETS=""
for a in "$@"; do
    case $a in
    --ci) CI=1 ;;
    spec|api) TARGETS="$TARGETS $a" ;;
    *) echo "usage: $0 [--ci] [spec] [api]" >&2; exit 2 ;;
    esac
done
TARGETS=${TARGETS:-spec api}
if [ $CI = 1 ]; then SECONDS_EACH=${FUZZ_SECONDS:-45}; else SECONDS_EACH=${FUZZ_SECONDS:-600}; fi
JOBS=${FUZZ_JOBS:-1}
SWIFT_BIN=$(dirname "$(command -v "${SWIFTC:-swiftc}" 2>/dev/null || echo /nonexistent/swiftc)")
CLANG=${CLANG:-$SWIFT_BIN/clang}
[ -x "$CLANG" ] || CLANG=$(command -v clang || echo clang)
OUT="$ROOT/build/reliability"
FUZZ="$ROOT/build/fuzz"
mkdir -p "$OUT/crashes"
if [ $CI = 1 ]; then
    WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/swann-fuzz.XXXXXX")}
    CORPUS_ROOT="$WORK/corpus"
else
    WORK=${WORK:-$OUT/work}
    CORPUS_ROOT="$OUT/corpus"
fi
mkdir -p "$WORK" "$CORPUS_ROOT"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok fuzz.sh $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL fuzz.sh $*"; }

if [ $CI = 0 ]; then
    sh "$ROOT/tools/build-sanitized.sh" fuzz || { bad "tools/build-sanitized.sh fuzz"; echo "$PASS passed, $FAIL failed"; exit 1; }
fi
if [ ! -f "$FUZZ/swann.o" ] || [ ! -f "$FUZZ/csupport.o" ]; then
    bad "no fuzzing build in $FUZZ (sh tools/build-sanitized.sh fuzz)"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi

# allocator_may_return_null: a huge request is an error status, not an ASan abort.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:detect_stack_use_after_return=1${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

for t in $TARGETS; do
    name=fuzz_$t
    bin="$OUT/$name"
    if ! "$CLANG" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wall -Wextra \
            -I "$ROOT/include" -I "$HERE" "$HERE/$name.c" "$FUZZ/swann.o" "$FUZZ/csupport.o" \
            -lm -lpthread -fuse-ld=lld -o "$bin" >"$WORK/build-$name.log" 2>&1; then
        bad "build $name [$(head -c 800 "$WORK/build-$name.log" | tr '\n' ' ')]"
        continue
    fi
    corpus="$CORPUS_ROOT/$t"
    mkdir -p "$corpus"
    opts=(-max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
          -artifact_prefix="$OUT/crashes/$name-")
    [ -n "${FUZZ_SEED:-}" ] && opts+=(-seed="$FUZZ_SEED")
    case $t in
    spec) opts+=(-max_len=4096 -dict="$HERE/spec.dict") ;;
    api) opts+=(-max_len=2048 -len_control=0) ;;
    esac
    if [ $CI = 0 ] && [ "$JOBS" -gt 1 ]; then opts+=(-fork="$JOBS"); fi
    log="$WORK/$name.log"
    echo "# $name: ${SECONDS_EACH} s from $(ls "$HERE/seeds/$t" | wc -l) seeds$( [ $CI = 0 ] && echo " and $(ls "$corpus" | wc -l) corpus inputs")"
    t0=$(date +%s)
    (cd "$WORK" && "$bin" "${opts[@]}" "$corpus" "$HERE/seeds/$t") >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # -fork mode prints no stat:: lines: take the last progress line
    [ -z "$runs" ] && runs=$(grep -a -o -E "^#[0-9]+" "$log" | tail -1 | tr -d '#')
    [ -z "$speed" ] && speed=$(grep -a -o -E "exec/s: [0-9]+" "$log" | tail -1 | grep -o -E "[0-9]+")
    cov=$(grep -a -o -E "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1)
    size=$(ls "$corpus" | wc -l)
    if [ "$rc" -eq 0 ]; then
        ok "$name: ${runs:-?} inputs in $(( $(date +%s) - t0 )) s (${speed:-?} exec/s, $cov, corpus $size) without a crash, leak, timeout or property violation"
    else
        crash=$(grep -a -o -E "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
        bad "$name found a problem after ${runs:-?} inputs (exit status $rc); input: ${crash:-?}; replay: $bin ${crash:-CRASH-FILE}"
        grep -a -E "PROPERTY VIOLATED|ERROR: |SUMMARY: |runtime error|last_error" "$log" | head -12 | sed 's/^/#   /'
        grep -a -E "^    #[0-9]+ " "$log" | head -12 | sed 's/^/#   /'
    fi
done
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
