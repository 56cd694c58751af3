"""The JSON report; its format is documented in docs/report-format.md."""

from __future__ import annotations

import json
from typing import Any

from auditor import __version__
from auditor.core import LintResult

SCHEMA_VERSION = 1


def _sum(dicts: list[dict[str, int] | None]) -> dict[str, int] | None:
    present = [d for d in dicts if d is not None]
    if not present:
        return None
    out: dict[str, int] = {}
    for d in present:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def report_dict(result: LintResult) -> dict[str, Any]:
    artifacts = []
    for a in result.artifacts:
        entry = dict(a.description)
        entry["categories"] = a.categories
        entry["paper_counts"] = a.paper_counts
        entry["notes"] = list(a.notes)
        entry["analyses"] = list(a.analyses)
        if a.sections:
            entry["sections"] = a.sections
        artifacts.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "tokaudit", "version": __version__},
        "artifacts": artifacts,
        "rules": {"run": list(result.rules_run), "skipped": dict(sorted(result.rules_skipped.items()))},
        "summary": {
            "categories": _sum([a.categories for a in result.artifacts]),
            "paper_counts": _sum([a.paper_counts for a in result.artifacts]),
            "findings": result.severity_counts(),
        },
        "findings": [f.to_dict() for f in result.findings],
    } | _extras(result)


def _extras(result: LintResult) -> dict[str, Any]:
    """Fields present only when used: suppressed findings, the baseline outcome."""
    out: dict[str, Any] = {}
    if result.suppressed:
        out["suppressed"] = result.suppressed
    if result.baseline is not None:
        out["baseline"] = result.baseline.to_dict()
    return out


def render_json(result: LintResult) -> str:
    return json.dumps(report_dict(result), indent=2, ensure_ascii=False) + "\n"
