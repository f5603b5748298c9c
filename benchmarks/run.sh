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
#      ../shared/bench/run_all.sh, into $OUT/peers (it also times numpy's and torch's
#      matmul at 4096^3: two of the ceiling's candidates);
#   2b. the C OpenBLAS part of the ceiling (benchmarks/sgemm_ceiling.c, 4096^3 at 1 and 2
#      threads) with the best core type the CPU's flags allow, and with OpenBLAS's own
#      choice when that differs; the ceiling at t threads is the fastest of all of these;
#      and the bound over it, the cores' FMA peak (benchmarks/fma_peak.c, registers only);
#   3. swann on the same workloads at 1 and 2 threads, with the peers' digits split
#      (benchmarks/make_split.py), the GEMM comparison (bench_gemm, 1 and 2 threads), the
#      products' floor (benchmarks/products_floor.py: each product of W1, W4, W1i, W4i at the
#      fastest library for it, the bound on a step's rate), the contention check (W1 at 1 and 2 threads beside a busy-loop process), the demo's
#      late/early epoch time (examples/c/train_digits.c, benchmarks/demo_epochs.py) and,
#      when the Python binding imports, its per-call forward (Tests/python/bench_overhead.py);
#      the floor of reading W3's first layer as float32, f16 and int8 (benchmarks/gemv_floor.c),
#      serving (benchmarks/bench_serve.c: memory of 8 sessions vs 8 nets, 2 threads vs 1, load
#      time) and, from Python, swann.Model.predict beside ONNX Runtime (benchmarks/serve_peers.py);
#      last, the one-thread C ceiling of 2b again (the clock check: did the clock move?);
#      around the peers and swann's two-thread steps, where the two CPUs sit (core_latency.c);
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
#   CEILING_CORETYPE=name  the OpenBLAS core type for the C ceiling and bench_gemm's
#                     comparison (default: chosen from /proc/cpuinfo, see best_coretype)
#   TARGET_CPU        a CPU `make lib` compiles one level for (default unset: every x86-64 level,
#                     chosen at run time; the level chosen is recorded, see sysinfo.txt)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-build/bench}
# The peers sit beside the repository (../shared/bench); a git worktree elsewhere finds them
# beside its main checkout.
PEERS=${PEERS:-$ROOT/../shared/bench}
if [ ! -d "$PEERS" ] && common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
    PEERS=$(dirname "$(dirname "$common")")/shared/bench
fi
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
# The best OpenBLAS core type this CPU's flags allow. Debian's OpenBLAS 0.3.21 falls back
# to SSE3 "Prescott" kernels on CPUs it does not know (a third of the ceiling on a recent
# Xeon), so the ceiling must not trust its detection: SkylakeX where the AVX-512 subsets its
# kernels use are there, else Zen (AMD) or Haswell with AVX2 + FMA, else OpenBLAS's own.
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)
has() { case " $FLAGS " in *" $1 "*) return 0 ;; esac; return 1; }
best_coretype() {
    if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512cd; then echo SkylakeX
    elif has avx2 && has fma; then
        if grep -qm1 AuthenticAMD /proc/cpuinfo; then echo Zen; else echo Haswell; fi
    fi
}
CORE=${CEILING_CORETYPE:-$(best_coretype)}
CPU_ISA=$(for f in sse4_2 avx fma avx2 avx512f avx512bw avx512vl avx512dq avx512_bf16 avx512_fp16 amx_tile; do
              if has "$f"; then printf '%s ' "$f"; fi; done)
{
    echo "date: $(date -Is)"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- Sources include 2>/dev/null || echo ' (Sources/include modified)')"
    echo "quick: ${QUICK:-no}"
    echo "loadavg at start: $(cat /proc/loadavg)"
    echo "OPENBLAS_CORETYPE=$OB_CORETYPE OPENBLAS_L2_SIZE=$OB_L2 in the caller's environment;" \
         "${KEEP_OPENBLAS_ENV:+kept}${KEEP_OPENBLAS_ENV:-unset for this run}"
    echo "ceiling core type: ${CORE:-<OpenBLAS's own>} (${CEILING_CORETYPE:+from CEILING_CORETYPE}${CEILING_CORETYPE:-from the CPU's flags})"
    echo "cpu flags: $CPU_ISA"
    uname -a
    lscpu | grep -E 'Model name|^CPU\(s\)|L1d|L2|L3' || true
    grep -m1 '^vendor_id' /proc/cpuinfo
    cc --version | head -1
    swiftc --version 2>&1 | head -1 || true
} > "$OUT/sysinfo.txt" 2>&1
cat "$OUT/sysinfo.txt"

# ---- 1. the table's own arithmetic on made-up results, then build and stage the release
# library and build the drivers against it
python3 benchmarks/test_bench_tools.py | tee -a "$LOG"
# The C drivers link OpenBLAS (the ceiling, the GEMM table); the peers' run_all.sh also
# needs FANN. A fresh machine has neither: install what is missing, as tools/setup.sh does.
need=""
for pkg in libopenblas-dev libfann-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"; done
if [ -n "$need" ]; then
    say "== installing$need"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
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
cc -std=c11 -O2 -Wall -Wextra benchmarks/sgemm_ceiling.c -o build/sgemm_ceiling -lopenblas
cc -std=c11 -O2 -Wall -Wextra benchmarks/fma_peak.c -o build/fma_peak -lpthread
cc -std=c11 -O2 -Wall -Wextra benchmarks/core_latency.c -o build/core_latency -lpthread
# Where the two CPUs sit right now (benchmarks/core_latency.c): a cache line's round trip
# between CPU 0 and CPU 1, read before and after the peers' run and each of swann's
# two-thread steps. The host moves these VMs' CPUs (on Zen 4: one CCX, 55-120 ns, or two
# CCDs, 320-410 ns) within a run; table.py says which placement each part ran in.
rm -f "$OUT/core_latency.jsonl"
placement() { ./build/core_latency --label "$1" >> "$OUT/core_latency.jsonl" 2>/dev/null || true; }
# shellcheck disable=SC2086
cc $CFLAGS_B examples/c/train_digits.c -o build/bench_demo $LDFLAGS_B -lm
# shellcheck disable=SC2086
cc $CFLAGS_B benchmarks/bench_serve.c -o build/bench_serve $LDFLAGS_B -lpthread -lm
# What ran: the level swann chose (bench_swann's JSON and log say it); the widest vector
# registers its machine code names say which instructions the library holds.
LIBSO=$STAGE/lib/libswann.so
{
    echo "swann TARGET_CPU: ${TARGET_CPU:-unset: the kernels of every x86-64 level, chosen at run time}"
    echo "swann library size: $(stat -L -c %s "$LIBSO") bytes"
    echo "swann code: $(objdump -d --no-show-raw-insn "$LIBSO" | grep -c '%zmm') instructions on zmm (AVX-512)," \
         "$(objdump -d --no-show-raw-insn "$LIBSO" | grep -c '%ymm') on ymm (AVX/AVX2)," \
         "$(objdump -d --no-show-raw-insn "$LIBSO" | grep -cw 'vfmadd[0-9a-z]*') FMA"
} | tee -a "$OUT/sysinfo.txt" | tee -a "$LOG"

# ---- 2. the peers, with their own script
if [ -n "${PEERS_RESULTS:-}" ]; then
    say "== peers: reusing $PEERS_RESULTS (not run now)"
    rm -rf "$OUT/peers" && mkdir -p "$OUT/peers"
    cp "$PEERS_RESULTS"/*.json "$OUT/peers/"
    [ -f "$PEERS_RESULTS/sysinfo.txt" ] && cp "$PEERS_RESULTS/sysinfo.txt" "$OUT/peers/"
    echo "$PEERS_RESULTS" > "$OUT/peers/REUSED_FROM"
else
    say "== peers: $PEERS/run_all.sh -> $OUT/peers (log: $OUT/peers/run.log)"
    placement "peers, before"
    rm -rf "$OUT/peers"
    { rc=0; env OUT="$OUT/peers" QUICK="$QUICK" ${PY:+"PY=$PY"} bash "$PEERS/run_all.sh" 2>&1 || rc=$?
      echo "$rc" > "$OUT/peers.rc"; } | tee "$OUT/peers.stdout"
    if [ "$(cat "$OUT/peers.rc")" != 0 ]; then
        say "   WARNING: run_all.sh failed (status $(cat "$OUT/peers.rc"), see $OUT/peers.stdout);" \
            "the table shows what it wrote"
    fi
    placement "peers, after"
fi
PY=${PY:-$WORK/venv/bin/python}
say "   python: $PY"

# ---- 2b. the C OpenBLAS ceiling, with the core type set (or unset) in each command alone
REPS=5; [ -n "$QUICK" ] && REPS=2
rm -f "$OUT"/ceiling_c_*.json
OWN=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/sgemm_ceiling --corename | sed 's/.*"corename": "\([^"]*\)".*/\1/')
say "   OpenBLAS's own core type here: $OWN; named from the flags: ${CORE:-none}"
for t in 1 2; do
    if [ -n "$CORE" ]; then
        snap "sgemm ceiling t=$t, OPENBLAS_CORETYPE=$CORE"
        env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$CORE" ./build/sgemm_ceiling --threads $t --repeats $REPS \
            > "$OUT/ceiling_c_t${t}_named.json"
        tee -a "$LOG" < "$OUT/ceiling_c_t${t}_named.json"
    fi
    if [ "$OWN" != "$CORE" ]; then
        snap "sgemm ceiling t=$t, OpenBLAS's own core type ($OWN)"
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/sgemm_ceiling --threads $t --repeats $REPS \
            > "$OUT/ceiling_c_t${t}_own.json"
        tee -a "$LOG" < "$OUT/ceiling_c_t${t}_own.json"
    fi
done

# The bound over the ceiling: register-only FMAs at each vector width the CPU has, 1 and 2
# threads (benchmarks/fma_peak.c). table.py sets the ceiling and the closest workloads
# (swann's and ORT's inference) against it: how much a product could still gain here.
rm -f "$OUT/fma_peak.json"
snap "FMA peak"
FP_REPS=5; [ -n "$QUICK" ] && FP_REPS=2
./build/fma_peak --threads 2 --repeats $FP_REPS > "$OUT/fma_peak.json" || say "   WARNING: fma_peak failed"
tee -a "$LOG" < "$OUT/fma_peak.json"

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
    if [ $t = 2 ]; then placement "swann t=2, before"; fi
    # shellcheck disable=SC2086
    ./build/bench_swann --threads $t $Q $SPLIT_ARG --digits examples/data/digits.csv \
        --json "$OUT/swann_t$t.json" 2>&1 | tee -a "$LOG"
    if [ $t = 2 ]; then placement "swann t=2, after"; fi
done

for t in 1 2; do
    snap "gemm t=$t"
    if [ $t = 2 ]; then placement "gemm t=2, before"; fi
    # shellcheck disable=SC2086
    env ${CORE:+OPENBLAS_CORETYPE=$CORE} ./build/bench_gemm --threads $t $Q --json "$OUT/gemm_t$t.json" 2>&1 | tee -a "$LOG"
    if [ $t = 2 ]; then placement "gemm t=2, after"; fi
done

# The products' floor (issue #15): every product of W1, W4, W1i and W4i at the fastest library
# for it (numpy, torch, and bench_gemm's swann and C OpenBLAS rows just measured), the bound on
# a step's rate that the goals are read against.
snap "products floor"
"$PY" benchmarks/products_floor.py $Q --gemm "$OUT" --json "$OUT/products_floor.json" 2>&1 | tee -a "$LOG" \
    || say "   WARNING: products_floor.py failed"

# The CPU levels side by side (issue #15): W4 training and W1i inference on one thread on
# each narrower level this CPU has, against the level swann chose above.
rm -f "$OUT"/level_*.json
for lvl in avx2 baseline; do
    CHOSEN=$(sed -n 's/.*"isa": "\([a-z0-9]*\)".*/\1/p' "$OUT/swann_t1.json" | head -1)
    [ "$lvl" = "$CHOSEN" ] && continue
    [ "$lvl" = avx2 ] && [ "$CHOSEN" != avx512 ] && continue
    snap "level $lvl"
    LQ=$Q; [ "$lvl" = baseline ] && LQ=--quick  # the baseline level runs W4 at SSE2 speed
    # shellcheck disable=SC2086
    SWANN_ISA=$lvl ./build/bench_swann --threads 1 $LQ --only W4,W1i --json "$OUT/level_$lvl.json" 2>&1 | tee -a "$LOG"
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

# The demo's last 15 epochs against its first 15 (subnormal numbers slow the late ones).
snap "demo epochs"
DEMO_RUNS=3; [ -n "$QUICK" ] && DEMO_RUNS=1
if ! "$PY" benchmarks/demo_epochs.py --runs $DEMO_RUNS --json "$OUT/demo.json" -- \
        ./build/bench_demo examples/data/digits.csv --save "$OUT/demo.safetensors" > "$OUT/demo.txt" 2>&1; then
    say "   WARNING: demo_epochs.py failed (see $OUT/demo.txt)"
fi
tee -a "$LOG" < "$OUT/demo.txt"

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

# The floor under W3's compact rows (issue #17), printed just before them: one core reading the
# 128 x 784 layer (and 8 ... 256 rows) as float32, f16 and int8, each product beside a loop that
# only reads its bytes (benchmarks/gemv_floor.c; x86-64 with AVX2 and F16C).
if [ "$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
    snap "gemv floor"
    if cc -O3 -march=haswell benchmarks/gemv_floor.c -o build/gemv_floor; then
        ./build/gemv_floor > "$OUT/gemv_floor.txt" 2>&1 || say "   WARNING: gemv_floor failed"
        tee -a "$LOG" < "$OUT/gemv_floor.txt"
    else
        say "   WARNING: gemv_floor.c did not build"
    fi
else
    say "== gemv floor: skipped (needs x86-64 with AVX2 and F16C)"
fi

# Serving (issue #16): memory of 8 sessions vs 8 nets (W4), 2 threads vs 1 (W3, W1i), W4 load
# time; then the same two-thread serving from Python, swann.Model.predict beside ONNX Runtime.
snap "serve"
# shellcheck disable=SC2086
./build/bench_serve $Q --json "$OUT/serve.json" 2>&1 | tee -a "$LOG" || say "   WARNING: bench_serve failed"
if SWANN_LIBRARY=$LIBPATH PYTHONPATH=bindings/python/src "$PY" -c 'import swann, onnx, onnxruntime; swann.Model' 2>/dev/null; then
    snap "serve peers"
    # shellcheck disable=SC2086
    SWANN_LIBRARY=$LIBPATH PYTHONPATH=bindings/python/src "$PY" benchmarks/serve_peers.py $Q \
        --json "$OUT/serve_peers.json" 2>&1 | tee -a "$LOG" || say "   WARNING: serve_peers.py failed"
else
    say "== serve peers: skipped (swann.Model, onnx or onnxruntime does not import with $PY)"
fi

# The clock check: the one-thread C ceiling once more, as at 2b. These VMs' clocks move within a
# run (2026-12-05, Xeon: one-thread ceilings of 171-184 GFLOP/s in three runs an hour apart, a
# ratio whose two sides ran at different clocks off by up to 10 %); table.py sets this reading
# beside the first and flags a run whose two differ by more than 5 %.
rm -f "$OUT/clock_end_t1.json"
CLOCK_REPS=5; [ -n "$QUICK" ] && CLOCK_REPS=2
snap "clock check: sgemm ceiling t=1 again"
if [ -n "$CORE" ]; then
    env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$CORE" ./build/sgemm_ceiling --threads 1 --repeats $CLOCK_REPS \
        > "$OUT/clock_end_t1.json"
else
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/sgemm_ceiling --threads 1 --repeats $CLOCK_REPS \
        > "$OUT/clock_end_t1.json"
fi
tee -a "$LOG" < "$OUT/clock_end_t1.json"
placement "end"
if [ -f "$OUT/core_latency.jsonl" ]; then tee -a "$LOG" < "$OUT/core_latency.jsonl"; fi
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
