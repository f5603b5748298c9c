"""Files written whole or not at all, as swann's own saves are."""

from __future__ import annotations

import os
import secrets


def write_atomic(path: str, data: bytes) -> None:
    """Writes ``data`` to a new file beside ``path`` (created as open() would,
    so the umask applies), then renames it over ``path``: a crash or an error
    leaves the old file or the new one, never half of one."""
    tmp = "%s.tmp-%d-%s" % (path, os.getpid(), secrets.token_hex(4))
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
