"""An exception at any line of forward/predict/fit/_evaluate (what a signal
handler's KeyboardInterrupt does) never lets backward hand C a buffer of the
wrong size.

The C net keeps the rows of its last successful forward; backward reads a
target of that many rows and writes that many rows of dx. A binding that kept
its own count, set after the C call returned, was left stale by an interrupt
in between, and then passed C a target too short and a dx too small (a heap
overflow under ASan). Here an interrupt is injected at every line in turn
(sys.settrace), then backward and backward_grad are tried with every row
count: only the C net's own count may pass, every other one must be a clear
SwannError. Tests/reliability/run.sh runs this file against the ASan library
too, where any out-of-bounds access aborts the run.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, List

import numpy as np
import pytest

import swann
from swann import Net, Status, SwannError, _core

from conftest import small_spec

MB = 4  # max_batch: fit and predict split their rows into chunks of this
IN, OUT = 4, 3
TRACED = {Net.forward.__code__, Net.predict.__code__, Net.fit.__code__, Net._evaluate.__code__}


class Interrupt:
    """Raises KeyboardInterrupt at the `at`-th line event in a traced function."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.fired = False

    def calls(self, frame: Any, event: str, arg: Any) -> Any:
        return self.lines if frame.f_code in TRACED else None

    def lines(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and not self.fired:
            if self.seen == self.at:
                self.fired = True
                raise KeyboardInterrupt("injected at line %d of %s" % (frame.f_lineno, frame.f_code.co_name))
            self.seen += 1
        return self.lines


@pytest.fixture
def c_rows(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """[rows of the C net's last successful forward], recorded around the C call itself."""
    rows = [0]
    real = _core._forward

    def forward(p: Any, x: Any, batch: int, y: Any) -> int:
        st = real(p, x, batch, y)
        if st == 0:
            rows[0] = batch
        return st

    monkeypatch.setattr(_core, "_forward", forward)
    return rows


def check_every_size(net: Net, rows: int, where: str) -> None:
    """backward and backward_grad with 0 .. MB+1 rows: only `rows` passes."""
    rng = np.random.default_rng(rows)
    for k in range(MB + 2):
        target = np.eye(OUT, dtype=np.float32)[rng.integers(0, OUT, k)]
        dy = rng.standard_normal((k, OUT)).astype(np.float32)
        for return_dx in (False, True):
            calls: List[Callable[[], Any]] = [lambda: net.backward(target, return_dx=return_dx),
                                              lambda: net.backward_grad(dy, return_dx=return_dx)]
            for name, call in zip(("backward", "backward_grad"), calls):
                what = "%s: %s with %d rows (return_dx=%s), C net has %d" % (where, name, k, return_dx, rows)
                try:
                    out = call()
                except SwannError as e:
                    if rows == 0:  # no forward yet: the library's own refusal
                        assert e.status == Status.SWANN_E_STATE, what + ": " + repr(e)
                        continue
                    assert k != rows, what + ": refused: " + str(e)
                    assert e.status == Status.SWANN_E_SHAPE, what + ": " + repr(e)
                    assert ("%d rows" % k) in str(e) and ("%d" % rows) in str(e), what + ": " + str(e)
                    continue
                assert rows > 0, what + ": accepted before any forward"
                assert k == rows, what + ": accepted a buffer of the wrong size"
                dx = out[1] if name == "backward" and return_dx else out
                if name == "backward":
                    loss = out[0] if return_dx else out
                    assert np.isfinite(loss) and 0 <= loss < 50, what + ": loss %r" % loss
                if return_dx:
                    assert dx.shape == (rows, IN), what + ": dx shape %s" % (dx.shape,)
                    assert np.isfinite(dx).all(), what
        net.zero_grad()


def operations(data: np.random.Generator) -> List[Any]:
    x7 = data.standard_normal((7, IN)).astype(np.float32)
    y7 = data.integers(0, OUT, 7)
    v6 = data.standard_normal((6, IN)).astype(np.float32)
    w6 = data.integers(0, OUT, 6)
    return [
        ("forward(2 rows)", lambda net: net.forward(x7[:2])),
        ("predict(7 rows)", lambda net: net.predict(x7)),
        ("fit(batch_size 3, validation)", lambda net: net.fit(
            x7, y7, epochs=1, batch_size=3, validation=(v6, w6), progress=False, seed=1)),
        ("fit(batch_size 6 > max_batch)", lambda net: net.fit(
            x7[:6], y7[:6], epochs=2, batch_size=6, shuffle=False, progress=False)),
    ]


def test_interrupt_at_every_line_then_backward_with_every_size(c_rows: List[int]) -> None:
    data = np.random.default_rng(5)
    warm = data.standard_normal((1, IN)).astype(np.float32)
    injected = 0
    for label, op in operations(data):
        at = 0
        while True:
            net = Net(small_spec(), max_batch=MB)
            net.forward(warm)  # 1 row: both sides agree before the interrupted call
            inj = Interrupt(at)
            previous = sys.gettrace()
            sys.settrace(inj.calls)
            try:
                op(net)
            except KeyboardInterrupt:
                pass
            finally:
                sys.settrace(previous)
            if not inj.fired:
                break
            check_every_size(net, c_rows[0], "%s interrupted at line event %d" % (label, at))
            net.close()
            injected += 1
            at += 1
        assert at > 5, label  # the tracer did reach the function's lines
    assert injected > 50, injected


def test_backward_sizes_follow_the_c_net_without_interrupts(c_rows: List[int]) -> None:
    data = np.random.default_rng(6)
    net = Net(small_spec(), max_batch=MB)
    check_every_size(net, 0, "before any forward")
    for label, op in operations(data):
        op(net)
        check_every_size(net, c_rows[0], "after " + label)
    # a refused forward leaves the rows of the last good one
    with pytest.raises(SwannError):
        net.forward(np.full((3, IN), np.nan, np.float32))
    check_every_size(net, c_rows[0], "after a refused forward")
