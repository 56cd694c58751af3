"""The JSON report; its format is documented in docs/report-format.md."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.core import LintResult
from auditor.reporters.base import Reporter, register

if TYPE_CHECKING:
    from auditor.preprocessing.diff import TokenizerDiff
    from auditor.preprocessing.encoding import EncodeResult

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
        entry["warnings"] = list(a.loader_warnings)
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


@register
class JsonReporter(Reporter):
    """For tools: the documented JSON report (docs/report-format.md)."""

    format = "json"

    def lint(self, result: LintResult) -> str:
        return render_json(result)

    def audit(self, result: LintResult) -> str:
        from auditor.reporters.audit import render_audit_json

        return render_audit_json(result)

    def diff(self, result: TokenizerDiff) -> str:
        from auditor.reporters.diff import diff_json

        return diff_json(result)

    def config(self, data: Mapping[str, Any]) -> str:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def encode(self, result: EncodeResult) -> str:
        from auditor.reporters.encode import encode_json

        return encode_json(result)
