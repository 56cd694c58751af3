"""Reporters turn a `LintResult` into text. Each returns a string; the CLI writes it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.engine import LintResult

FORMATS = ("text", "json")


def render(result: LintResult, fmt: str, *, fail_on: str = "error", max_per_rule: int = 10) -> str:
    if fmt == "json":
        from auditor.reporters.json_report import render_json

        return render_json(result)
    from auditor.reporters.text import render_text

    return render_text(result, fail_on=fail_on, max_per_rule=max_per_rule)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written report."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

