#!/usr/bin/env python3
"""Data-parallel training of the digits classifier over MPI, with mpi4py.

    usage: mpirun -np P python mpi_train.py [CSV] [--epochs N] [--batch N]
                                            [--optimizer JSON] [--threads N] [--save PATH] [--quiet]

The Python twin of examples/c/mpi_train.c:

  - every rank loads the digits CSV (64 pixels 0..16, then the label) and builds
    the same 64-128-64-10 net (relu, relu, softmax; cross-entropy) from the same
    spec and seed; rank 0's parameters are broadcast anyway;
  - rank 0 draws the 80/20 split and each epoch's shuffle and broadcasts them,
    so every rank walks the same order even on machines with other numpy
    versions;
  - each GLOBAL batch of --batch rows is cut into P contiguous shards (sizes
    differ by at most one; a rank may get none); each rank runs forward and
    backward on its shard, then

        comm.Allreduce(MPI.IN_PLACE, net.grads, op=MPI.SUM)   # the live numpy view

    sums the gradients in place, a second Allreduce sums the row counts
    (net.accumulated_rows, swann_accumulated_rows), and every rank calls
    net.step_rows(global_rows) (swann_step_rows):
    the update divides by the global T, so every rank takes the step one process
    with the whole batch would take, and the ranks stay identical;
  - held-out accuracy is evaluated sharded and the counts summed; rank 0 prints
    one line per epoch with its time, saves the checkpoint and loads it back.

An error on any rank (a bad file, a swann error) is printed and ends the whole
job with comm.Abort(), so no rank waits forever in a collective.

Needs numpy, mpi4py (pip install mpi4py; Open MPI from Debian: openmpi-bin) and
the swann package (pip install ./bindings/python) with SWANN_LIBRARY naming
libswann.so. Run: mpirun -np 2 python examples/python/mpi_train.py
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Tuple

import numpy as np
from mpi4py import MPI

import swann

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parent / "data" / "digits.csv"
DEFAULT_OPTIMIZER = '{"type": "sgd", "lr": 0.1, "momentum": 0.9}'
EVAL_BATCH = 128
MAX_CHUNK = 512
SEED = 2024
NET_SEED = 42

comm = MPI.COMM_WORLD
rank, nranks = comm.Get_rank(), comm.Get_size()


# ---- data ------------------------------------------------------------------------------

def load_digits(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] as float32 (n, 64) and integer labels (n,)."""
    data = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    if data.shape[1] != 65:
        raise ValueError("%s: expected 65 values per row (64 pixels and a label), found %d"
                         % (path, data.shape[1]))
    x, y = data[:, :64], data[:, 64]
    if x.min() < 0 or x.max() > 16 or y.min() < 0 or y.max() > 9:
        raise ValueError("%s: pixels must be 0..16 and labels 0..9" % path)
    if len(y) < 10:
        raise ValueError("%s: only %d rows, too few to train and test" % (path, len(y)))
    return np.ascontiguousarray(x / 16.0, dtype=np.float32), y


def same_permutation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of 0..n-1 drawn on rank 0 and broadcast: identical everywhere."""
    order = rng.permutation(n).astype(np.int64) if rank == 0 else np.empty(n, np.int64)
    comm.Bcast(order, root=0)
    return order


def shard(n: int, r: int) -> Tuple[int, int]:
    """Rank r's part [begin, end) of n items: sizes differ by at most one."""
    return n * r // nranks, n * (r + 1) // nranks


def evaluate(net: swann.Net, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on (x, y), sharded over the ranks; collective."""
    begin, end = shard(len(y), rank)
    correct = np.zeros(1, np.int64)
    for s in range(begin, end, EVAL_BATCH):
        e = min(s + EVAL_BATCH, end)
        correct[0] += int(np.count_nonzero(net.forward(x[s:e]).argmax(axis=1) == y[s:e]))
    comm.Allreduce(MPI.IN_PLACE, correct, op=MPI.SUM)
    return float(correct[0]) / len(y)


# ---- main ------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="digits file (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=30, help="passes over the training set (default 30)")
    ap.add_argument("--batch", type=int, default=32,
                    help="GLOBAL mini-batch: rows per update summed over all ranks (default 32)")
    ap.add_argument("--optimizer", default=DEFAULT_OPTIMIZER, help="the spec's optimizer (default %(default)s)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads per rank for the large matrix products (the spec's threads; default 1)")
    ap.add_argument("--save", type=Path, default=Path("/tmp/swann_mpi_digits_py.safetensors"),
                    help="checkpoint rank 0 writes (default %(default)s)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args()
    if args.epochs < 1 or args.batch < 1 or args.threads < 1:
        ap.error("--epochs, --batch and --threads must be at least 1")

    x, y = load_digits(args.csv)
    n = len(y)
    rng = np.random.default_rng(SEED)  # used on rank 0 only
    order = same_permutation(n, rng)
    n_test = int(round(0.2 * n))
    n_train = n - n_test
    xt, yt = x[order[:n_train]], y[order[:n_train]]
    xv, yv = x[order[n_train:]], y[order[n_train:]]
    batch = min(args.batch, n_train)
    shard_max = -(-batch // nranks)
    chunk = min(shard_max, MAX_CHUNK)

    spec = {
        "input": 64,
        "layers": [{"units": 128, "activation": "relu"},
                   {"units": 64, "activation": "relu"},
                   {"units": 10, "activation": "softmax"}],
        "loss": "cross_entropy",
        "optimizer": json.loads(args.optimizer),
        "init": "he",
        "seed": NET_SEED,
        "threads": args.threads,
    }
    net = swann.Net(spec, max_batch=max(chunk, EVAL_BATCH))
    params, grads = net.params, net.grads  # live float32 views into the net's arena
    comm.Bcast(params, root=0)  # already identical (same spec and seed); rank 0 is the reference

    if rank == 0 and not args.quiet:
        print("swann %s (Python, mpi4py %s), %d MPI rank%s"
              % (swann.library_version, __import__("mpi4py").__version__, nranks, "" if nranks == 1 else "s"))
        print("data: %s: %d images, %d train / %d held out" % (args.csv, n, n_train, n_test))
        print("net: 64-128-64-10, %d parameters, optimizer %s, %d thread%s per rank"
              % (net.param_count, json.dumps(spec["optimizer"]), args.threads, "" if args.threads == 1 else "s"))
        print("global batch %d (up to %d rows per rank), %d epochs" % (batch, shard_max, args.epochs))
        print("%5s  %10s  %9s  %9s  %8s  %8s" % ("epoch", "train_loss", "train_acc", "test_acc", "time_s", "comm_s"))
        sys.stdout.flush()

    stats = np.zeros(3)  # rows, sum of Div, correct: summed over the ranks each step
    train_seconds = comm_seconds = 0.0
    test_acc = 0.0
    steps = 0
    for epoch in range(1, args.epochs + 1):
        perm = same_permutation(n_train, rng)
        ex, ey = xt[perm], yt[perm]
        loss_sum = correct = comm_time = 0.0
        comm.Barrier()
        t0 = MPI.Wtime()
        for start in range(0, n_train, batch):
            b = min(batch, n_train - start)
            begin, end = shard(b, rank)
            stats[:] = 0.0
            for s in range(start + begin, start + end, chunk):  # this rank's shard, in chunks
                e = min(s + chunk, start + end)
                out = net.forward(ex[s:e])
                stats[1] += net.backward(ey[s:e]) * (e - s)  # grad Err += grad Div
                stats[2] += np.count_nonzero(out.argmax(axis=1) == ey[s:e])
            stats[0] = net.accumulated_rows  # this rank's T (0 for an empty shard)
            c0 = MPI.Wtime()
            comm.Allreduce(MPI.IN_PLACE, grads, op=MPI.SUM)  # sum the gradients in place
            comm.Allreduce(MPI.IN_PLACE, stats, op=MPI.SUM)
            comm_time += MPI.Wtime() - c0
            rows = int(stats[0])
            if rows != b:
                raise RuntimeError("the ranks accumulated %d rows for a batch of %d" % (rows, b))
            net.step_rows(rows)  # every rank: grad Err / global T
            loss_sum += stats[1]
            correct += stats[2]
            steps += 1
        seconds = MPI.Wtime() - t0
        train_seconds += seconds
        comm_seconds += comm_time
        test_acc = evaluate(net, xv, yv)
        if rank == 0 and not args.quiet:
            print("%5d  %10.4f  %9.4f  %9.4f  %8.3f  %8.3f" % (epoch, loss_sum / n_train, correct / n_train,
                                                            test_acc, seconds, comm_time))
            sys.stdout.flush()

    # The ranks must hold identical parameters.
    reference = params.copy() if rank == 0 else np.empty_like(params)
    comm.Bcast(reference, root=0)
    differ = comm.allreduce(int(not np.array_equal(reference, params)), op=MPI.SUM)
    status = 0
    if rank == 0:
        print("held-out accuracy: %.4f (%d images)" % (test_acc, n_test))
        print("training: %d rank%s, %.3f s for %d epochs (%.4f s per epoch, %.4f s of it in Allreduce), %d steps"
              % (nranks, "" if nranks == 1 else "s", train_seconds, args.epochs, train_seconds / args.epochs,
                 comm_seconds / args.epochs, steps))
        print("ranks in sync: %s" % ("yes (identical parameters)" if not differ else "NO: %d differ" % differ))
        net.save(args.save)
        with swann.Net.load(args.save, max_batch=EVAL_BATCH) as again:
            same = np.array_equal(again.params, params)
        print("checkpoint: %s (%s)" % (args.save, "reloaded, identical parameters" if same else "MISMATCH after reload"))
        status = 0 if same and not differ else 1
    net.close()
    return comm.bcast(status, root=0)


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit:
        raise  # argparse: every rank parsed the same arguments and exits the same way
    except (OSError, ValueError, RuntimeError, swann.SwannError) as e:
        sys.stderr.write("rank %d: error: %s: %s\n" % (rank, type(e).__name__, e))
        sys.stderr.flush()
        comm.Abort(1)
    except BaseException:
        sys.stderr.write("rank %d: error:\n%s" % (rank, traceback.format_exc()))
        sys.stderr.flush()
        comm.Abort(1)
    sys.exit(code)
