#!/bin/sh
# Time per epoch of examples/c/mpi_train.c with 1 and 2 ranks, and with 1 rank
# on 2 threads, for the digits net at a few global batch sizes and for a wider
# net. Not part of `make test`.
#
#   sh Tests/mpi/bench.sh PREFIX [REPEATS]
#
# PREFIX is an install prefix of swann (make install PREFIX=...). Each setting
# runs REPEATS times (default 5); printed are the median and the best time per
# epoch, MPI_Allreduce's share of the median run (time in the call, including
# waiting for the other rank) and the held-out accuracy. First a control: how
# long two independent 1-rank runs take side by side compared with one alone
# (1.0 means two idle cores; about 2 means the machine has one core's worth of
# time to spare, and no parallel run can gain). SWANN_MPIRUN overrides the
# mpirun command line.
set -eu
prefix=$(cd "$1" && pwd)
repeats=${2:-5}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpicc -std=c11 -O2 -I"$prefix/include" examples/c/mpi_train.c -L"$prefix/lib" -lswann -lm \
    -Wl,-rpath,"$prefix/lib" -o "$tmp/mpi_train"
mpirun=${SWANN_MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
per_epoch() { sed -n 's/.*(\([0-9.]*\) s per epoch.*/\1/p' "$1"; }

# -- control: is there a second core to use? --
big="--quiet --epochs 2 --batch 256 --hidden 1024,1024"
$mpirun -np 1 "$tmp/mpi_train" $big --save "$tmp/a.st" > "$tmp/alone"
$mpirun -np 1 "$tmp/mpi_train" $big --save "$tmp/b.st" > "$tmp/side1" &
$mpirun -np 1 "$tmp/mpi_train" $big --save "$tmp/c.st" > "$tmp/side2"
wait
alone=$(per_epoch "$tmp/alone")
side=$(per_epoch "$tmp/side1")
echo "mpi_train, digits (1438 training rows), $repeats runs each; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "control: two 1-rank runs side by side take $(awk "BEGIN { printf \"%.2f\", $side / $alone }")x the time of one alone ($side vs $alone s per epoch, 64-1024-1024-10)"
printf '%-13s %6s %6s  %-14s  %11s  %9s  %14s  %8s\n' net epochs batch setting "median s/ep" "best s/ep" "allreduce s/ep" accuracy

run() { # net label, epochs, batch, extra arguments
    label=$1; epochs=$2; batch=$3; shift 3
    for setting in "1 1" "2 1" "1 2"; do
        np=${setting% *}; threads=${setting#* }
        : > "$tmp/runs"
        i=0
        while [ "$i" -lt "$repeats" ]; do
            $mpirun -np "$np" "$tmp/mpi_train" examples/data/digits.csv --quiet --epochs "$epochs" \
                --batch "$batch" --threads "$threads" --save "$tmp/model.st" "$@" > "$tmp/out"
            # seconds per epoch, allreduce seconds per epoch, accuracy
            sed -n 's/.*(\([0-9.]*\) s per epoch, \([0-9.]*\) s of it.*/\1 \2/p' "$tmp/out" | tr '\n' ' ' >> "$tmp/runs"
            sed -n 's/^held-out accuracy: \([0-9.]*\).*/\1/p' "$tmp/out" >> "$tmp/runs"
            i=$((i + 1))
        done
        sort -n "$tmp/runs" | awk -v n="$label" -v e="$epochs" -v b="$batch" -v s="$np rank, $threads thr" '
            { t[NR] = $1; c[NR] = $2; a[NR] = $3 }
            END { m = int((NR + 1) / 2)
                  printf "%-13s %6s %6s  %-14s  %11.4f  %9.4f  %14.4f  %8.4f\n", n, e, b, s, t[m], t[1], c[m], a[m] }'
    done
}
for batch in 32 256 1438; do
    run 64-128-64-10 30 "$batch"
done
for batch in 32 256; do
    run 64-1024x2-10 3 "$batch" --hidden 1024,1024
done
