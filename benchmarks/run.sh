#!/bin/sh
# benchmarks/run.sh -- swann side by side with its peers, in one run (`make bench`).
#
#   sh benchmarks/run.sh                    full run (about 9 min on an idle 2-core machine)
#   QUICK=1 sh benchmarks/run.sh            smoke run (a few minutes)
#   PY=/path/to/venv/bin/python sh benchmarks/run.sh
#
# Steps (method and results: docs/performance.md):
#   1. build the release library (make lib), install it into build/bench-stage, and build
#      benchmarks/bench_swann.c and benchmarks/bench_gemm.c against that installed copy;
#   2. the peers (torch, numpy, ONNX Runtime, FANN, OpenBLAS sgemm) with their own
#      ../shared/bench/run_all.sh, into $OUT/peers;
#   3. swann on the same workloads at 1 and 2 threads, with the peers' digits split
#      (benchmarks/make_split.py), the GEMM comparison (bench_gemm, 1 and 2 threads), the
#      contention check (W1 at 1 and 2 threads beside a busy-loop process) and, when the
#      Python binding imports, its per-call forward time (Tests/python/bench_overhead.py);
#   4. the roofline plot (benchmarks/plot_gemm.py) and the table with the targets
#      (benchmarks/table.py) -> $OUT/table.md.
#
# Environment:
#   QUICK=1           smoke run (fewer repeats, square GEMMs up to 1024; plot goes to $OUT)
#   PY=python         a Python with torch numpy scikit-learn onnxruntime onnx threadpoolctl
#                     (default: the venv run_all.sh makes under $WORK, installing them)
#   OUT=dir           results (default build/bench)
#   WORK=dir          run_all.sh's work folder (default ${TMPDIR:-/tmp}/swann-peers)
#   PEERS=dir         the peer scripts (default ../shared/bench)
#   PEERS_RESULTS=dir reuse the JSON of an earlier run_all.sh instead of running the peers
#                     (the ratios are then not from one run; the table says so)
#   IDLE_WAIT_S=60    seconds to wait, before each step, for the machine to be >= IDLE_MIN %
#   IDLE_MIN=90       idle (as run_all.sh does); after that the step runs and the log says busy
#   PLOT=file         where the roofline PNG goes (default docs/gemm_roofline.png; $OUT with QUICK)
#   KEEP_OPENBLAS_ENV=1  keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (unset by default: they
#                     can pin OpenBLAS to a slower kernel, which would flatter swann)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-build/bench}
PEERS=${PEERS:-$ROOT/../shared/bench}
WORK=${WORK:-${TMPDIR:-/tmp}/swann-peers}
IDLE_WAIT_S=${IDLE_WAIT_S:-60}
IDLE_MIN=${IDLE_MIN:-90}
QUICK=${QUICK:-}
Q=${QUICK:+--quick}
STAGE=build/bench-stage
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/run.log
: > "$LOG"
export IDLE_WAIT_S IDLE_MIN WORK

say() { echo "$*" | tee -a "$LOG"; }

# Percentage of CPU time idle over one second (all cores), as run_all.sh measures it.
idle_pct() {
    a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
    echo "$a
$b" | awk 'NR == 1 { for (i = 2; i <= 9; i++) x[i] = $i }
               NR == 2 { t = 0; for (i = 2; i <= 9; i++) t += $i - x[i];
                         idle = $5 - x[5] + $6 - x[6]; print int(100 * idle / (t > 0 ? t : 1)) }'
}
wait_idle() {
    k=0
    while [ "$k" -lt "$IDLE_WAIT_S" ]; do
        p=$(idle_pct)
        if [ "$p" -ge "$IDLE_MIN" ]; then say "   idle ${p}%"; return 0; fi
        k=$((k + 1))
    done
    say "   WARNING: machine still busy (idle ${p:-?}%) -- numbers below are contended"
}
snap() {
    wait_idle
    say "== $1  $(date -Is)  loadavg: $(cat /proc/loadavg)"
    ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n 2,4p | tee -a "$LOG"
}

# ---- environment: OpenBLAS overrides
OB_CORETYPE=${OPENBLAS_CORETYPE-<unset>}
OB_L2=${OPENBLAS_L2_SIZE-<unset>}
if [ -z "${KEEP_OPENBLAS_ENV:-}" ]; then
    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi
{
    echo "date: $(date -Is)"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- Sources include 2>/dev/null || echo ' (Sources/include modified)')"
    echo "quick: ${QUICK:-no}"
    echo "loadavg at start: $(cat /proc/loadavg)"
    echo "OPENBLAS_CORETYPE=$OB_CORETYPE OPENBLAS_L2_SIZE=$OB_L2 in the caller's environment;" \
         "${KEEP_OPENBLAS_ENV:+kept}${KEEP_OPENBLAS_ENV:-unset for this run}"
    uname -a
    lscpu | grep -E 'Model name|^CPU\(s\)|L1d|L2|L3' || true
    cc --version | head -1
    swiftc --version 2>&1 | head -1 || true
} > "$OUT/sysinfo.txt" 2>&1
cat "$OUT/sysinfo.txt"

# ---- 1. build and stage the release library, build the drivers against it
say "== build"
make --no-print-directory lib
rm -rf "$STAGE"
make --no-print-directory install PREFIX="$STAGE" >/dev/null
CFLAGS_B="-std=c11 -O2 -Wall -Wextra -I $STAGE/include"
LDFLAGS_B="-L $STAGE/lib -lswann -Wl,-rpath,$ROOT/$STAGE/lib"
# shellcheck disable=SC2086
cc $CFLAGS_B benchmarks/bench_swann.c -o build/bench_swann $LDFLAGS_B -lm
# shellcheck disable=SC2086
cc $CFLAGS_B benchmarks/bench_gemm.c -o build/bench_gemm $LDFLAGS_B -lopenblas -lm

# ---- 2. the peers, with their own script
if [ -n "${PEERS_RESULTS:-}" ]; then
    say "== peers: reusing $PEERS_RESULTS (not run now)"
    rm -rf "$OUT/peers" && mkdir -p "$OUT/peers"
    cp "$PEERS_RESULTS"/*.json "$OUT/peers/"
    [ -f "$PEERS_RESULTS/sysinfo.txt" ] && cp "$PEERS_RESULTS/sysinfo.txt" "$OUT/peers/"
    echo "$PEERS_RESULTS" > "$OUT/peers/REUSED_FROM"
else
    say "== peers: $PEERS/run_all.sh -> $OUT/peers (log: $OUT/peers/run.log)"
    rm -rf "$OUT/peers"
    { rc=0; env OUT="$OUT/peers" QUICK="$QUICK" ${PY:+"PY=$PY"} bash "$PEERS/run_all.sh" 2>&1 || rc=$?
      echo "$rc" > "$OUT/peers.rc"; } | tee "$OUT/peers.stdout"
    if [ "$(cat "$OUT/peers.rc")" != 0 ]; then
        say "   WARNING: run_all.sh failed (status $(cat "$OUT/peers.rc"), see $OUT/peers.stdout);" \
            "the table shows what it wrote"
    fi
fi
PY=${PY:-$WORK/venv/bin/python}
say "   python: $PY"

# ---- 3. swann
SPLIT=$OUT/digits_test_split.txt
SPLIT_ARG=
rm -f "$SPLIT"
if "$PY" benchmarks/make_split.py --csv examples/data/digits.csv --out "$SPLIT" 2>&1 | tee -a "$LOG"; then
    [ -s "$SPLIT" ] && SPLIT_ARG="--split $SPLIT"
fi
[ -n "$SPLIT_ARG" ] || say "   WARNING: no sklearn split; W2 uses every 5th row as the test set"

for t in 1 2; do
    snap "swann t=$t"
    # shellcheck disable=SC2086
    ./build/bench_swann --threads $t $Q $SPLIT_ARG --digits examples/data/digits.csv \
        --json "$OUT/swann_t$t.json" 2>&1 | tee -a "$LOG"
done

for t in 1 2; do
    snap "gemm t=$t"
    # shellcheck disable=SC2086
    ./build/bench_gemm --threads $t $Q --json "$OUT/gemm_t$t.json" 2>&1 | tee -a "$LOG"
done

# Contention: W1 at 1 and 2 threads while another process keeps one core busy.
snap "contention"
sh -c 'while :; do :; done' &
BUSY=$!
trap 'kill $BUSY 2>/dev/null || true' EXIT INT TERM
sleep 1
say "   busy loop pid $BUSY (sh 'while :; do :; done', not pinned); loadavg $(cat /proc/loadavg)"
for t in 1 2; do
    # shellcheck disable=SC2086
    ./build/bench_swann --threads $t $Q --only W1 --json "$OUT/contention_t$t.json" 2>&1 | tee -a "$LOG"
done
kill "$BUSY" 2>/dev/null || true
wait "$BUSY" 2>/dev/null || true
trap - EXIT INT TERM

# The Python binding's per-call forward (W3's model), if the binding imports.
LIBPATH=$ROOT/$STAGE/lib/libswann.so
if SWANN_LIBRARY=$LIBPATH PYTHONPATH=bindings/python/src "$PY" -c 'import swann, numpy' 2>/dev/null; then
    snap "python binding"
    CALLS=5000; REPS=15; [ -n "$QUICK" ] && { CALLS=2000; REPS=5; }
    SWANN_LIBRARY=$LIBPATH PYTHONPATH=bindings/python/src "$PY" Tests/python/bench_overhead.py \
        --calls $CALLS --repeats $REPS > "$OUT/python_overhead.txt" 2>&1 || say "   WARNING: bench_overhead.py failed"
    tee -a "$LOG" < "$OUT/python_overhead.txt"
else
    say "== python binding: skipped (swann or numpy does not import with $PY)"
fi
snap "done"

# ---- 4. plot and table
PLOT=${PLOT:-}
if [ -z "$PLOT" ]; then
    if [ -n "$QUICK" ]; then PLOT=$OUT/gemm_roofline.png; else PLOT=docs/gemm_roofline.png; fi
fi
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
    say "   installing matplotlib into $PY's environment"
    "$PY" -m pip install -q matplotlib >/dev/null 2>&1 || say "   WARNING: could not install matplotlib"
fi
"$PY" benchmarks/plot_gemm.py "$OUT" --out "$PLOT" 2>&1 | tee -a "$LOG" || say "   WARNING: plot failed"
"$PY" benchmarks/table.py "$OUT" | tee "$OUT/table.md"
say "results: $OUT (table.md, *.json, run.log); plot: $PLOT"
