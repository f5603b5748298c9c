"""A net with worker threads ("threads": 4) across os.fork().

The child has the net's memory but not its workers: it trains on the calling
thread alone, with the parent's bits, and when Python collects the net there
(which a Python program cannot avoid) destroy frees it without joining threads
that do not exist. That used to crash or hang the child. Each child runs under
alarm(), so a regression fails as SIGALRM instead of hanging the suite.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import swann

CHILD_SECONDS = 60  # a hang guard only: a child needs well under a second

# 225k parameters and products of 64 x 520 x 300: the products and the step go
# to the pool when the net has workers.
SPEC = {
    "input": 300,
    "layers": [{"units": 520, "activation": "relu"}, {"units": 130, "activation": "tanh"},
               {"units": 10, "activation": "softmax"}],
    "loss": "cross_entropy",
    "optimizer": {"type": "adam", "lr": 0.001, "clip_norm": 1.0},
    "seed": 9,
    "threads": 4,
}

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def data():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (64, 300)).astype(np.float32)
    d = np.zeros((64, 10), np.float32)
    d[np.arange(64), np.arange(64) * 7 % 10] = 1
    return x, d


def train(net: swann.Net, x: np.ndarray, d: np.ndarray, steps: int = 3) -> bytes:
    """The bytes of every output, loss and dx of `steps` steps, then the parameters."""
    out = []
    for _ in range(steps):
        out.append(net.forward(x).tobytes())
        loss, dx = net.backward(d, return_dx=True)
        out.append(np.float32(loss).tobytes() + dx.tobytes())
        net.step()
    out.append(np.array(net.params).tobytes())
    return b"".join(out)


def fork_child(body) -> tuple:
    """Runs body() in a forked child under an alarm; returns (what it wrote, wait status)."""
    r, w = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock the
        # child: that is what this tests.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CHILD_SECONDS)
            out = body()
            with os.fdopen(w, "wb") as f:
                f.write(out)
            gc.collect()  # what is left of the net goes now, at the latest
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    _, status = os.waitpid(pid, 0)
    return got, status


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "killed by %s%s" % (signal.Signals(sig).name, " (hung)" if sig == signal.SIGALRM else "")
    return "exit status %d" % os.WEXITSTATUS(status)


def test_child_trains_and_collects_a_threaded_net():
    x, d = data()
    net = swann.Net(SPEC, max_batch=64)
    train(net, x, d)  # the workers have run and sit idle
    holder = [net]
    del net

    def child() -> bytes:
        out = train(holder[0], x, d)
        holder.clear()  # the last reference: the net is destroyed here
        gc.collect()
        return out

    theirs, status = fork_child(child)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, describe(status)
    mine = train(holder[0], x, d)
    assert theirs == mine, "the child's outputs, losses, dx and parameters differ from the parent's"

    # the parent's net keeps its workers: same bits as a one-thread net
    one = swann.Net(dict(SPEC, threads=1), max_batch=64)
    for _ in range(2):  # as far as the parent's net has come
        train(one, x, d)
    assert train(holder[0], x, d) == train(one, x, d)
    holder[0].close()
    one.close()


def test_child_only_collects_a_threaded_net():
    net = swann.Net(SPEC, max_batch=64)
    net.forward(data()[0])
    holder = [net]
    del net

    def child() -> bytes:
        holder.clear()
        gc.collect()
        return b"done"

    got, status = fork_child(child)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and got == b"done", describe(status)
    holder[0].close()


SCRIPT = """
import os, sys
import numpy as np
import swann
spec = %r
net = swann.Net(spec, max_batch=64)
x = np.random.default_rng(1).uniform(-1, 1, (64, 300)).astype(np.float32)
net.forward(x)
pid = os.fork()
if pid == 0:
    import signal
    signal.alarm(%d)
    net.forward(x)
    sys.exit(0)  # a normal exit: the interpreter collects the net on its way out
_, status = os.waitpid(pid, 0)
print(status)
"""


def test_child_exits_normally_with_a_threaded_net():
    """A plain script: the child returns from the program and the interpreter,
    shutting down, destroys the net it inherited."""
    pkg = Path(swann.__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(pkg))
    done = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", SCRIPT % (SPEC, CHILD_SECONDS)],
                          env=env, capture_output=True, text=True, timeout=2 * CHILD_SECONDS)
    assert done.returncode == 0, done.stderr
    status = int(done.stdout.strip())
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, describe(status)
