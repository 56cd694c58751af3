"""Atomic file writes: a temporary file in the target's folder, then a rename.

Reports, plots, locks and cache entries all go through here, so an interrupted run
never leaves a half-written file where a complete one was expected.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _mode_for(target: Path) -> int:
    """The existing file's mode, or what open() would give a new file under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` completely or not at all (the file keeps its mode)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600; these are ordinary files
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """`write_bytes_atomic` of the text's UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))
