"""Plain, grouped text for people: per artifact, per rule, the first tokens of each rule.

A rule that fires on many tokens is aggregated: its first `max_per_rule` tokens, then
a count. Tokens are always escaped (a report never corrupts a terminal). Colour is
ANSI styling only, off unless the CLI asks for it (NO_COLOR, FORCE_COLOR, --color).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from typing import TYPE_CHECKING, Any

from auditor.core import LintResult
from auditor.reporters.base import Reporter, register

if TYPE_CHECKING:
    from auditor.preprocessing.diff import TokenizerDiff
    from auditor.preprocessing.encoding import EncodeResult

_PAPER = (
    ("single_byte", "single-byte"),
    ("special", "special"),
    ("unreachable", "unreachable"),
    ("partial_utf8", "partial UTF-8"),
    ("padding", "padding fillers"),
)
_STYLE = {"error": "1;31", "warning": "1;33", "info": "1;36", "path": "1", "dim": "2", "ok": "32"}


def _painter(color: bool):
    def paint(text: str, style: str) -> str:
        return f"\x1b[{_STYLE[style]}m{text}\x1b[0m" if color else text

    return paint


def _section_summary(value: Any) -> str:
    """One line for a report section: its scalar fields (the JSON report has everything)."""
    from auditor.escape import escape_text

    if not isinstance(value, dict):
        return "(see --format json)"
    parts = []
    for key, v in value.items():
        if isinstance(v, bool) or v is None:
            parts.append(f"{key} {str(v).lower() if v is not None else 'none'}")
        elif isinstance(v, (int, float)):
            parts.append(f"{key} {v:g}" if isinstance(v, float) else f"{key} {v}")
        elif isinstance(v, str):
            parts.append(f"{key} {escape_text(v)[:60]}")
    more = len(value) - len(parts)
    if more:
        parts.append(f"+{more} more in --format json")
    return " · ".join(parts) or "(see --format json)"


_BREAKDOWN_KEYS = ("cause", "reason", "kind", "category")


def _breakdown(items: list[Any]) -> str | None:
    """For a rule that fires on many tokens: counts by the first detail that tells them
    apart (V101's cause, V106's reason...), largest first."""
    from collections import Counter

    for key in _BREAKDOWN_KEYS:
        values = [f.details.get(key) for f in items]
        if all(isinstance(v, str) for v in values) and len(set(values)) > 1:
            counts = Counter(values)
            shown = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            return f"{key}: " + " · ".join(f"{v} {n}" for v, n in shown)
    return None


def render_text(
    result: LintResult,
    *,
    fail_on: str = "error",
    max_per_rule: int = 10,
    color: bool = False,
    skip_sections: tuple[str, ...] = (),
) -> str:
    """`skip_sections`: report sections a caller has already summarised (the audit's model)."""
    paint = _painter(color)
    lines: list[str] = []
    by_artifact = {a: list(g) for a, g in groupby(result.findings, key=lambda f: f.artifact)}
    for art in result.artifacts:
        d = art.description
        lines.append(f"{paint(d['path'], 'path')}  ({d['format']}, {d['vocab_size']} ids, {d['implementation']})")
        if art.paper_counts is not None:
            counts = " · ".join(f"{label} {art.paper_counts[key]}" for key, label in _PAPER if key in art.paper_counts)
            lines.append(f"  paper counts: {counts}")
        if art.categories is not None:
            cats = " · ".join(f"{k} {v}" for k, v in art.categories.items() if v)
            lines.append(f"  categories:   {cats or 'none'}")
        for name, section in sorted(art.sections.items()):
            if name in skip_sections:
                continue
            lines.append(f"  {name}: {_section_summary(section)}")
        for warning in art.loader_warnings:
            lines.append(f"  {paint('warning', 'warning')}: {warning}")
        for note in art.notes:
            lines.append(f"  note: {note}")
        findings = by_artifact.get(d["path"], [])
        for code, group in groupby(findings, key=lambda f: f.code):
            items = list(group)
            first = items[0]
            what = "finding" if len(items) == 1 else "findings"
            sev = first.severity.value
            known = sum(1 for f in items if f.baselined)
            tail = f" ({known} in baseline)" if known else ""
            lines.append(f"  {code} {first.name} [{paint(sev, sev)}] {len(items)} {what}{tail}")
            # new findings first: they are the ones that fail
            shown_items = sorted(items, key=lambda f: bool(f.baselined)) if known else items
            for f in shown_items[:max_per_rule]:
                mark = paint("  (baselined)", "dim") if f.baselined else ""
                if f.token_id is None:
                    lines.append(f"    {f.message}{mark}")
                else:
                    shown = (f.token or "").replace('"', '\\"')
                    lines.append(f'    {f.token_id:>7} "{shown}"  {f.message}{mark}')
            if len(items) > max_per_rule:
                lines.append(f"    ... and {len(items) - max_per_rule} more (--format json lists all)")
                breakdown = _breakdown(items)
                if breakdown:
                    lines.append(f"    by {breakdown}")
        if not findings:
            lines.append(f"  {paint('no findings', 'ok')}")
        lines.append("")
    by_reason: dict[str, list[str]] = {}
    for code, why in sorted(result.rules_skipped.items()):
        by_reason.setdefault(why, []).append(code)
    for why, codes in sorted(by_reason.items()):  # said once per missing input, not once per rule
        lines.append(f"skipped {', '.join(codes)}: {why}")
    if result.suppressed:
        lines.append(f"{result.suppressed} finding(s) suppressed by configuration (allowlist, per-path-ignores)")
    if result.baseline is not None:
        b = result.baseline
        lines.append(
            f"baseline {b.path}: {b.new} new, {b.baselined} baselined, {len(b.stale)} stale entr"
            f"{'y' if len(b.stale) == 1 else 'ies'}"
        )
        for e in b.stale[:max_per_rule]:
            lines.append(f"  stale: {e['artifact']} {e['code']} {e.get('token_or_message', '')!s}")
        if len(b.stale) > max_per_rule:
            lines.append(f"  ... and {len(b.stale) - max_per_rule} more stale entries")
    totals = result.severity_counts()
    lines.append(
        f"{totals['error']} error(s), {totals['warning']} warning(s), {totals['info']} info "
        f"in {len(result.artifacts)} artifact(s); failing on: {fail_on}"
    )
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON strings are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def config_toml(data: Mapping[str, Any]) -> str:
    """The effective configuration as TOML (a `[tool.tokaudit]`-style document)."""
    lines = ["# effective tokaudit configuration"]
    tables = []
    for key, value in data.items():
        if value is None:
            lines.append(f"# {key}: not set")
        elif isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in tables:
        nested = {k: v for k, v in value.items() if isinstance(v, dict)}
        flat = {k: v for k, v in value.items() if not isinstance(v, dict)}
        lines.append("")
        lines.append(f"[{key}]")
        for k, v in flat.items():
            lines.append(f"{_toml_value(k)} = {_toml_value(v)}")
        for k, v in nested.items():
            lines.append("")
            lines.append(f"[{key}.{k}]")
            for kk, vv in v.items():
                lines.append(f"{_toml_value(kk)} = {_toml_value(vv)}")
    return "\n".join(lines) + "\n"


@register
class TextReporter(Reporter):
    """For people at a terminal: findings grouped by artifact and rule, colour on request."""

    format = "text"

    def lint(self, result: LintResult) -> str:
        o = self.options
        return render_text(result, fail_on=o.fail_on, max_per_rule=o.max_per_rule, color=o.color)

    def audit(self, result: LintResult) -> str:
        from auditor.reporters.audit import render_audit_text

        return render_audit_text(result, fail_on=self.options.fail_on)

    def diff(self, result: TokenizerDiff) -> str:
        from auditor.reporters.diff import diff_text

        return diff_text(result)

    def config(self, data: Mapping[str, Any]) -> str:
        return config_toml(data)

    def encode(self, result: EncodeResult) -> str:
        from auditor.reporters.encode import encode_text

        return encode_text(result)
