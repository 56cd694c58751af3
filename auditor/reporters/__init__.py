"""Reporters turn a `LintResult` into text. Each returns a string; the CLI writes it.

Formats: text (people), json (tools; docs/report-format.md), sarif (code scanning),
github (workflow annotations), junit (CI test reports), markdown (pull-request
comments, job summaries). All are deterministic for the same result.
"""

from __future__ import annotations

import os
from itertools import groupby
from typing import Iterator

from auditor.core import Finding, LintResult

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")
# A rule that fires on more tokens than this in one artifact is one aggregated result
# (SARIF, GitHub annotations) with the list in its properties, not one per token.
AGGREGATE_OVER = 10


def render(
    result: LintResult, fmt: str, *, fail_on: str = "error", max_per_rule: int = 10, color: bool = False
) -> str:
    if fmt == "json":
        from auditor.reporters.json_report import render_json

        return render_json(result)
    if fmt == "sarif":
        from auditor.reporters.sarif import render_sarif

        return render_sarif(result)
    if fmt == "github":
        from auditor.reporters.github import render_github

        return render_github(result, fail_on=fail_on)
    if fmt == "junit":
        from auditor.reporters.junit import render_junit

        return render_junit(result, fail_on=fail_on)
    if fmt == "markdown":
        from auditor.reporters.markdown import render_markdown

        return render_markdown(result, fail_on=fail_on, max_per_rule=max_per_rule)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}")
    from auditor.reporters.text import render_text

    return render_text(result, fail_on=fail_on, max_per_rule=max_per_rule, color=color)


def rule_groups(result: LintResult) -> Iterator[tuple[str, str, list[Finding]]]:
    """(artifact, rule code, findings) in report order (findings are sorted that way)."""
    for (artifact, code), group in groupby(result.findings, key=lambda f: (f.artifact, f.code)):
        yield artifact, code, list(group)


def fails(finding: Finding, fail_on: str) -> bool:
    """Whether this finding alone makes the run fail (baselined ones never do)."""
    return finding.fails(fail_on)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a report via a temporary file and a rename: never a half-written report."""
    from auditor.atomic import write_bytes_atomic

    write_bytes_atomic(path, text.encode("utf-8"))
