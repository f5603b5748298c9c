"""Progress display for :meth:`swann.Net.fit`, on stderr.

Uses ``tqdm`` when it can be imported; otherwise a plain one-line bar that is
redrawn in place on a terminal, and reduced to one summary line per epoch when
stderr is not a terminal (a log file gets no carriage-return noise).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO

try:  # optional dependency
    from tqdm.auto import tqdm as _tqdm  # type: ignore
except Exception:  # pragma: no cover - depends on the environment
    _tqdm = None

__all__ = ["EpochProgress"]


class EpochProgress:
    """A progress bar for one epoch of ``total`` batches."""

    def __init__(self, total: int, desc: str, enabled: bool, stream: Optional[TextIO] = None) -> None:
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._bar: Any = None
        if enabled and _tqdm is not None:
            self._bar = _tqdm(total=total, desc=desc, unit="batch", leave=True, file=self.stream,
                              dynamic_ncols=True)
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, batches: int, loss: float) -> None:
        """Marks ``batches`` more batches done; ``loss`` is the running mean loss."""
        self.done += batches
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(batches)
            now = time.perf_counter()
            if now - self._last_draw > 0.1:
                self._bar.set_postfix(loss="%.4f" % loss, refresh=False)
                self._last_draw = now
            return
        if not self._tty:
            return
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and self.done < self.total:
            return
        self._last_draw = now
        width = 30
        filled = width * self.done // max(self.total, 1)
        self.stream.write("\r%s [%s%s] %d/%d loss %.4f" % (
            self.desc, "=" * filled, "." * (width - filled), self.done, self.total, loss))
        self.stream.flush()

    def close(self, summary: str) -> None:
        """Ends the bar and writes the epoch's summary line."""
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if self._bar is not None:
            self._bar.set_postfix_str(summary, refresh=True)
            self._bar.close()
            return
        line = "%s: %s (%.2fs)" % (self.desc, summary, elapsed)
        if self._tty:
            self.stream.write("\r\033[K" + line + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
