"""Plain, grouped text for people: per artifact, per rule, the first tokens of each rule."""

from __future__ import annotations

from itertools import groupby

from auditor.engine import LintResult

_PAPER = (("single_byte", "single-byte"), ("special", "special"), ("unreachable", "unreachable"),
          ("partial_utf8", "partial UTF-8"))


def render_text(result: LintResult, *, fail_on: str = "error", max_per_rule: int = 10) -> str:
    lines: list[str] = []
    by_artifact = {a: list(g) for a, g in groupby(result.findings, key=lambda f: f.artifact)}
    for art in result.artifacts:
        d = art.description
        lines.append(f"{d['path']}  ({d['format']}, {d['vocab_size']} ids, {d['implementation']})")
        if art.paper_counts is not None:
            counts = " · ".join(f"{label} {art.paper_counts[key]}" for key, label in _PAPER)
            lines.append(f"  paper counts: {counts}")
        if art.categories is not None:
            cats = " · ".join(f"{k} {v}" for k, v in art.categories.items() if v)
            lines.append(f"  categories:   {cats or 'none'}")
        for note in art.notes:
            lines.append(f"  note: {note}")
        findings = by_artifact.get(d["path"], [])
        for code, group in groupby(findings, key=lambda f: f.code):
            items = list(group)
            first = items[0]
            what = "finding" if len(items) == 1 else "findings"
            lines.append(f"  {code} {first.name} [{first.severity.value}] {len(items)} {what}")
            for f in items[:max_per_rule]:
                if f.token_id is None:
                    lines.append(f"    {f.message}")
                else:
                    shown = (f.token or "").replace('"', '\\"')
                    lines.append(f'    {f.token_id:>7} "{shown}"  {f.message}')
            if len(items) > max_per_rule:
                lines.append(f"    ... and {len(items) - max_per_rule} more (--format json lists all)")
        if not findings:
            lines.append("  no findings")
        lines.append("")
    for code, why in sorted(result.rules_skipped.items()):
        lines.append(f"skipped {code}: {why}")
    counts = result.severity_counts()
    lines.append(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"in {len(result.artifacts)} artifact(s); failing on: {fail_on}"
    )
    return "\n".join(lines) + "\n"
