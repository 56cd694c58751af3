"""GitHub Actions workflow commands: one annotation per finding, aggregated per rule.

Workflow commands are parsed line by line: in the message, `%`, CR and LF must be
escaped (%25, %0D, %0A); in properties (file, title) also `:` and `,` (%3A, %2C).
Token strings hold all of them. Baselined findings are not annotated: they are known.
"""

from __future__ import annotations

from auditor.core import LintResult
from auditor.reporters.base import AGGREGATE_OVER, Reporter, register, rule_groups

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _line(level: str, artifact: str, title: str, message: str) -> str:
    return (
        f"::{_COMMAND[level]} file={escape_property(artifact)},line=1,"
        f"title={escape_property(title)}::{escape_data(message)}"
    )


def render_github(result: LintResult, *, fail_on: str = "error") -> str:
    lines = [
        _line("warning", a.description["path"], "tokaudit loader", w)
        for a in result.artifacts
        for w in a.loader_warnings
    ]
    for artifact, code, items in rule_groups(result):
        fresh = [f for f in items if not f.baselined]
        if not fresh:
            continue
        first = fresh[0]
        title = f"{code} {first.name}"
        if len(fresh) > AGGREGATE_OVER:
            shown = ", ".join(f'"{f.token}" (id {f.token_id})' for f in fresh[:5] if f.token_id is not None)
            msg = (
                f"{len(fresh)} findings" + (f", e.g. {shown}" if shown else "") + "; the JSON or SARIF report lists all"
            )
            lines.append(_line(first.severity.value, artifact, title, msg))
            continue
        for f in fresh:
            msg = f'"{f.token}" (id {f.token_id}): {f.message}' if f.token_id is not None else f.message
            lines.append(_line(f.severity.value, artifact, title, msg))
    counts = result.severity_counts()
    summary = (
        f"tokaudit: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"in {len(result.artifacts)} artifact(s); failing on: {fail_on}"
    )
    if result.baseline is not None:
        b = result.baseline
        summary += f"; baseline: {b.new} new, {b.baselined} baselined, {len(b.stale)} stale"
    lines.append(summary)
    return "\n".join(lines) + "\n"


@register
class GithubReporter(Reporter):
    """GitHub Actions workflow annotations."""

    format = "github"

    def lint(self, result: LintResult) -> str:
        return render_github(result, fail_on=self.options.fail_on)
