#!/bin/sh
# Data-parallel training over MPI (Open MPI): the equality test, the C example
# and the Python example, against an installed swann.
#
#   sh Tests/mpi/run.sh PREFIX
#
# PREFIX is an install prefix of swann (make install PREFIX=...). Installs Open
# MPI (openmpi-bin, libopenmpi-dev) with apt-get when mpicc or mpirun is
# missing, and mpi4py into the tests' venv (tools/venv.sh) when missing.
# Every run goes through `mpirun --allow-run-as-root --oversubscribe`; the MCA
# settings are the first of a short list that passes a probe here (a 4 MB
# MPI_Allreduce on 2 ranks), so containers without ptrace or with a small
# /dev/shm work too. Set SWANN_MPIRUN to use your own mpirun command line.
#
# Checks:
#   - Tests/mpi/test_mpi_equal.c on 2 ranks (and 3, uneven shards): two ranks
#     with half the batch each end, after 20 steps, with the parameters of one
#     process with the whole batch (to float32 rounding), for SGD with momentum,
#     Adam and two more optimizers; all ranks bit-identical; a control showing
#     that stepping with the local T is caught;
#   - examples/c/mpi_train.c builds with -Werror, trains 3 epochs on 2 ranks to
#     a sane accuracy with the ranks in sync, its checkpoint loads in a plain
#     (non-MPI) process, and equals the 1-rank run's to float32 rounding;
#   - examples/python/mpi_train.py does the same with mpi4py (SKIP only if
#     mpi4py cannot be installed).
# Ends with one line "N passed, N failed"; exits non-zero on a failure.
prefix=${1:?usage: sh Tests/mpi/run.sh PREFIX}
prefix=$(cd "$prefix" && pwd) || exit 2
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
show() { sed 's/^/     | /' "$1" | tail -n "${2:-30}"; }
digits=$root/examples/data/digits.csv
RUN_TIMEOUT=120

# ---- Open MPI ------------------------------------------------------------------------
if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
    echo "installing Open MPI (openmpi-bin libopenmpi-dev)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    if $SUDO apt-get update -qq >"$tmp/apt.log" 2>&1 &&
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >>"$tmp/apt.log" 2>&1; then
        ok "installed Open MPI: $(mpirun --version 2>/dev/null | head -1)"
    else
        bad "could not install Open MPI with apt-get"
        show "$tmp/apt.log" 10
        finish
    fi
fi
echo "MPI: $(mpirun --version 2>/dev/null | head -1), $(command -v mpicc)"

# ---- a working mpirun command line ----------------------------------------------------
cat > "$tmp/probe.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size, n = 1 << 20, bad = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    float *x = malloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = (float)(rank + 1);
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < n; i++) bad |= x[i] != (float)(size * (size + 1) / 2);
    if (rank == 0) printf("%s\n", bad ? "wrong" : "allreduce ok");
    free(x);
    MPI_Finalize();
    return bad;
}
EOF
if ! mpicc -O2 "$tmp/probe.c" -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
    bad "mpicc cannot build a trivial MPI program"
    show "$tmp/probe.log"
    finish
fi
base="mpirun --allow-run-as-root --oversubscribe"
probe() { # mpirun command line -> 0 when it runs the probe right; 2 when also silent
    timeout 60 $1 -np 2 "$tmp/probe" >"$tmp/probe.out" 2>"$tmp/probe.err" || return 1
    grep -q '^allreduce ok$' "$tmp/probe.out" || return 1
    [ -s "$tmp/probe.err" ] && return 0
    return 2
}
if [ -n "${SWANN_MPIRUN:-}" ]; then
    mpirun_cmd=$SWANN_MPIRUN
    probe "$mpirun_cmd"; r=$?
    [ "$r" -ne 1 ] || { bad "SWANN_MPIRUN='$SWANN_MPIRUN' cannot run a 2-rank MPI_Allreduce"; show "$tmp/probe.err"; finish; }
else
    mpirun_cmd=""
    first_working=""
    # defaults; no single-copy (CMA needs ptrace, often denied in containers);
    # shared memory through ob1/vader only; TCP over loopback when /dev/shm is unusable
    for mca in "" \
               "--mca btl_vader_single_copy_mechanism none" \
               "--mca pml ob1 --mca btl self,vader --mca btl_vader_single_copy_mechanism none" \
               "--mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo"; do
        cmd=${mca:+$base $mca}
        cmd=${cmd:-$base}
        probe "$cmd"; r=$?
        if [ "$r" -eq 2 ]; then mpirun_cmd=$cmd; break; fi
        if [ "$r" -eq 0 ] && [ -z "$first_working" ]; then first_working=$cmd; fi
    done
    [ -n "$mpirun_cmd" ] || mpirun_cmd=$first_working
    if [ -z "$mpirun_cmd" ]; then
        bad "no mpirun configuration runs a 2-rank MPI_Allreduce here"
        show "$tmp/probe.err"
        finish
    fi
fi
ok "mpirun runs a 2-rank MPI_Allreduce of 4 MB: $mpirun_cmd"
mpirun_() { timeout "$RUN_TIMEOUT" $mpirun_cmd "$@"; }

# ---- builds ------------------------------------------------------------------------------
cflags="-std=c11 -O2 -Wall -Wextra -Werror -I$prefix/include"
ldflags="-L$prefix/lib -lswann -lm -Wl,-rpath,$prefix/lib"
build() { # name, compiler, source
    if $2 $cflags "$3" -o "$tmp/$1" $ldflags >"$tmp/$1.build" 2>&1; then
        ok "$3 builds with $2 -Werror"
    else
        bad "$3 does not build"
        show "$tmp/$1.build"
    fi
}
build mpi_train mpicc examples/c/mpi_train.c
build test_mpi_equal mpicc Tests/mpi/test_mpi_equal.c
build check_model cc Tests/mpi/check_model.c

# ---- equality: P ranks with shards == one process with the whole batch --------------------
equality() { # ranks
    if [ ! -x "$tmp/test_mpi_equal" ]; then bad "equality test on $1 ranks: not built"; return; fi
    mpirun_ -np "$1" "$tmp/test_mpi_equal" "$digits" >"$tmp/eq$1.out" 2>"$tmp/eq$1.err"
    status=$?
    cat "$tmp/eq$1.out"
    n_ok=$(grep -c '^ok ' "$tmp/eq$1.out")
    n_bad=$(grep -c '^FAIL' "$tmp/eq$1.out")
    pass=$((pass + n_ok))
    fail=$((fail + n_bad))
    if [ "$status" -ne 0 ] || [ "$n_ok" -eq 0 ]; then
        bad "test_mpi_equal on $1 ranks exited with status $status"
        show "$tmp/eq$1.err"
    fi
}
equality 2
equality 3

# ---- the examples ----------------------------------------------------------------------------
# accuracy / sync / checkpoint lines of an example's output
field() { sed -n "s/^held-out accuracy: \([0-9.]*\).*/\1/p" "$1"; }
example() { # label, output file, exit status, model file
    acc=$(field "$2")
    if [ "$3" -eq 0 ] && [ -n "$acc" ] && awk "BEGIN { exit !($acc >= 0.90) }" &&
       grep -q '^ranks in sync: yes' "$2" && grep -q '^checkpoint: .*reloaded, identical parameters' "$2"; then
        ok "$1: held-out accuracy $acc >= 0.90, ranks in sync, checkpoint saved and reloaded by rank 0"
    else
        bad "$1 (exit status $3)"
        show "$2"
    fi
    if [ -x "$tmp/check_model" ] && [ -f "$4" ]; then
        if "$tmp/check_model" "$4" "$digits" 0.90 >"$tmp/check.out" 2>&1; then
            ok "$1: checkpoint loads in a plain process: $(cat "$tmp/check.out")"
        else
            bad "$1: checkpoint does not load or predict: $(cat "$tmp/check.out")"
        fi
    fi
}
same_run() { # label, model A, model B
    if [ -x "$tmp/check_model" ] && [ -f "$2" ] && [ -f "$3" ] &&
       "$tmp/check_model" "$2" "$digits" 0 "$3" >"$tmp/same.out" 2>&1; then
        ok "$1: $(tail -1 "$tmp/same.out" | sed 's/^.* vs [^:]*: //')"
    else
        bad "$1"
        show "$tmp/same.out"
    fi
}

if [ -x "$tmp/mpi_train" ]; then
    for np in 2 1; do
        mpirun_ -np $np "$tmp/mpi_train" "$digits" --epochs 3 --save "$tmp/c$np.safetensors" >"$tmp/c$np.out" 2>&1
        echo $? >"$tmp/c$np.status"
    done
    example "mpi_train.c, 2 ranks, 3 epochs" "$tmp/c2.out" "$(cat "$tmp/c2.status")" "$tmp/c2.safetensors"
    sed -n '/^epoch/,/^training/p' "$tmp/c2.out" | sed 's/^/     | /'
    same_run "mpi_train.c: 2 ranks end where 1 rank does after 3 epochs" "$tmp/c2.safetensors" "$tmp/c1.safetensors"
    mpirun_ -np 2 "$tmp/mpi_train" /nonexistent.csv >"$tmp/missing.out" 2>&1
    status=$?
    if [ "$status" -ne 0 ] && grep -q 'error: cannot open /nonexistent.csv' "$tmp/missing.out"; then
        ok "mpi_train.c: a missing data file ends every rank with an error (status $status)"
    else
        bad "mpi_train.c with a missing data file (status $status)"
        show "$tmp/missing.out"
    fi
fi

# ---- Python: mpi4py --------------------------------------------------------------------------
py=$(sh tools/venv.sh 2>"$tmp/venv.log" | tail -1)
if [ -z "$py" ] || [ ! -x "$py" ]; then
    bad "tools/venv.sh did not give a Python"
    show "$tmp/venv.log"
    finish
fi
if ! "$py" -c 'import mpi4py.MPI' >/dev/null 2>&1; then
    t0=$(date +%s)
    "$py" -m pip install -q --disable-pip-version-check mpi4py >"$tmp/pip.log" 2>&1
    echo "installed mpi4py into $(dirname "$(dirname "$py")") in $(( $(date +%s) - t0 )) s"
fi
if ! "$py" -c 'import mpi4py.MPI' >"$tmp/mpi4py.log" 2>&1; then
    echo "SKIP Python example: mpi4py cannot be installed or imported"
    show "$tmp/pip.log" 5 2>/dev/null
    show "$tmp/mpi4py.log" 5
    finish
fi
# The binding from this tree, installed from a copy (the tree stays untouched).
mkdir -p "$tmp/pybind"
(cd bindings/python && tar --exclude=./build --exclude='*.egg-info' --exclude='./src/swann/_lib/libswann.so*' -cf - .) |
    (cd "$tmp/pybind" && tar -xf -)
# The installed library inside the copy: the package ships it instead of building one
# (bindings/python/setup.py builds only inside a clone).
mkdir -p "$tmp/pybind/src/swann/_lib" && cp "$prefix/lib/libswann.so" "$tmp/pybind/src/swann/_lib/libswann.so"
if ! "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$tmp/pybind" >"$tmp/pybind.log" 2>&1; then
    bad "pip install ./bindings/python"
    show "$tmp/pybind.log"
    finish
fi
export SWANN_LIBRARY="$prefix/lib/libswann.so"
echo "Python: $py, mpi4py $("$py" -c 'import mpi4py; print(mpi4py.__version__)'), $("$py" -c 'import mpi4py.MPI as M; print(M.Get_library_version().rstrip(chr(0)).splitlines()[0])')"
for np in 2 1; do
    mpirun_ -np $np "$py" examples/python/mpi_train.py "$digits" --epochs 3 --save "$tmp/p$np.safetensors" >"$tmp/p$np.out" 2>&1
    echo $? >"$tmp/p$np.status"
done
example "mpi_train.py, 2 ranks, 3 epochs" "$tmp/p2.out" "$(cat "$tmp/p2.status")" "$tmp/p2.safetensors"
same_run "mpi_train.py: 2 ranks end where 1 rank does after 3 epochs" "$tmp/p2.safetensors" "$tmp/p1.safetensors"
finish
