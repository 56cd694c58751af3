"""Reporters turn a command's result into text, one class per format (see `base.py`).

Formats: text (people), json (tools; docs/report-format.md), sarif (code scanning),
github (workflow annotations), junit (CI test reports), markdown (pull-request
comments, job summaries). All are deterministic for the same result.
"""

from __future__ import annotations

from auditor.core import LintResult, UserError
from auditor.reporters import github, json_report, junit, markdown, sarif, text  # noqa: F401 - they register
from auditor.reporters.base import REPORTERS, RenderOptions, Reporter

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")
assert set(FORMATS) == set(REPORTERS), "every registered reporter is listed in FORMATS"


def formats_for(command: str) -> tuple[str, ...]:
    """The formats that render `command`'s result, in the order of FORMATS."""
    return tuple(name for name in FORMATS if command in REPORTERS[name].commands())


def reporter_for(fmt: str, command: str, options: RenderOptions | None = None) -> Reporter:
    """The reporter of `fmt` for `command`; UserError when it cannot render that command."""
    cls = REPORTERS.get(fmt)
    if cls is None or command not in cls.commands():
        choices = ", ".join(formats_for(command))
        raise UserError(f"--format {fmt}: tokaudit {command} renders {choices}")
    return cls(options)


def render(result: LintResult, fmt: str, *, fail_on: str = "error", max_per_rule: int = 10, color: bool = False) -> str:
    """A lint result in `fmt` (what tests and benchmarks call)."""
    return reporter_for(fmt, "lint", RenderOptions(fail_on=fail_on, color=color, max_per_rule=max_per_rule)).lint(
        result
    )
