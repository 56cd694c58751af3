"""Reporters turn a `LintResult` into text. Each returns a string; the CLI writes it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.engine import LintResult

def render(result: LintResult, fmt: str, *, fail_on: str = "error", max_per_rule: int = 10) -> str:
    if fmt == "json":
        from auditor.reporters.json_report import render_json

        return render_json(result)
    from auditor.reporters.text import render_text

    return render_text(result, fail_on=fail_on, max_per_rule=max_per_rule)


def _mode_for(target: Path) -> int:
    """The existing file's mode, or what open() would give a new file under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written report."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

