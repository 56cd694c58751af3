"""Markdown for pull-request comments and job summaries ($GITHUB_STEP_SUMMARY).

Token strings are put in <code> elements with HTML escaping, so backticks, pipes and
angle brackets inside tokens can never break a table or inject markup.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from auditor.core import LintResult
from auditor.reporters.base import Reporter, register, rule_groups

if TYPE_CHECKING:
    from auditor.preprocessing.diff import TokenizerDiff


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (HTML-escaped, no pipes or line breaks)."""
    return escape(text, quote=False).replace("|", "&#124;").replace("\r", " ").replace("\n", " ")


def code_cell(text: str) -> str:
    return f"<code>{cell(text)}</code>" if text else "<code></code>"


def _section_rows(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    rows = []
    for key, v in value.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            rows.append(f"| {cell(str(key))} | {cell(str(v))} |")
    return rows


def render_markdown(result: LintResult, *, fail_on: str = "error", max_per_rule: int = 10) -> str:
    counts = result.severity_counts()
    out = ["# tokaudit report", ""]
    out.append(
        f"**{counts['error']}** error(s), **{counts['warning']}** warning(s), **{counts['info']}** info "
        f"in {len(result.artifacts)} artifact(s); failing on: `{fail_on}`."
    )
    if result.baseline is not None:
        b = result.baseline
        out.append(f"Baseline `{cell(b.path)}`: {b.new} new, {b.baselined} baselined, {len(b.stale)} stale.")
    if result.suppressed:
        out.append(f"{result.suppressed} finding(s) suppressed by configuration.")
    groups: dict[str, list[tuple[str, list[Any]]]] = {}
    for artifact, code, items in rule_groups(result):
        groups.setdefault(artifact, []).append((code, items))
    for art in result.artifacts:
        d = art.description
        out += ["", f"## {cell(d['path'])}", ""]
        out.append(f"{d['format']}, {d['vocab_size']} ids, {cell(d['implementation'])}")
        if art.paper_counts is not None:
            pc = art.paper_counts
            out += [
                "",
                "| single-byte | special | unreachable | partial UTF-8 |",
                "|---:|---:|---:|---:|",
                f"| {pc['single_byte']} | {pc['special']} | {pc['unreachable']} | {pc['partial_utf8']} |",
            ]
        for name, section in sorted(art.sections.items()):
            rows = _section_rows(section)
            out += ["", f"**{cell(name)}**", ""]
            out += ["| field | value |", "|---|---|", *rows] if rows else ["(see the JSON report)"]
        if art.paper_counts is not None and "padding" in art.paper_counts:
            out.append(f"\n{art.paper_counts['padding']} padding fillers, counted apart.")
        for warning in art.loader_warnings:
            out.append(f"\n> **warning:** {cell(warning)}")
        for note in art.notes:
            out.append(f"\n> note: {cell(note)}")
        rules = groups.get(d["path"], [])
        if not rules:
            out += ["", "No findings."]
            continue
        out += ["", "| rule | severity | findings | examples |", "|---|---|---:|---|"]
        for code, items in rules:
            first = items[0]
            known = sum(1 for f in items if f.baselined)
            count = f"{len(items)}" + (f" ({known} baselined)" if known else "")
            examples = ", ".join(
                f"{code_cell(f.token or '')} ({f.token_id})" for f in items[:3] if f.token_id is not None
            ) or cell(first.message[:120])
            out.append(f"| {code} {first.name} | {first.severity.value} | {count} | {examples} |")
        for code, items in rules:
            out += ["", "<details>", f"<summary>{code} {items[0].name}: {len(items)} finding(s)</summary>", ""]
            for f in items[:max_per_rule]:
                mark = " *(baselined)*" if f.baselined else ""
                if f.token_id is None:
                    out.append(f"- {cell(f.message)}{mark}")
                else:
                    out.append(f"- {f.token_id} {code_cell(f.token or '')}: {cell(f.message)}{mark}")
            if len(items) > max_per_rule:
                out.append(f"- … and {len(items) - max_per_rule} more (the JSON report lists all)")
            out += ["", "</details>"]
    if result.rules_skipped:
        out += ["", "Skipped: " + "; ".join(f"{c} ({cell(w)})" for c, w in sorted(result.rules_skipped.items()))]
    return "\n".join(out) + "\n"


@register
class MarkdownReporter(Reporter):
    """Markdown for pull-request comments and job summaries."""

    format = "markdown"

    def lint(self, result: LintResult) -> str:
        return render_markdown(result, fail_on=self.options.fail_on, max_per_rule=self.options.max_per_rule)

    def diff(self, result: TokenizerDiff) -> str:
        from auditor.reporters.diff import diff_markdown

        return diff_markdown(result)
