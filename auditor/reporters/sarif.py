"""SARIF 2.1.0 for code scanning (GitHub), from the same findings as every report.

What GitHub requires and uses: per rule an id, name, short and full description, help
(the rule's documentation, text and Markdown) and a default level; per result a rule
id, a level, a message, a location relative to the repository with a region (the
token's line when the artifact lists one token per line, else line 1), and
`partialFingerprints` so an alert is tracked across runs. A rule that fires on more
than AGGREGATE_OVER tokens of one artifact gives one result listing the tokens in its
properties. Fingerprints are made of rule + artifact + token bytes, never ids or run
facts, so they are stable across runs; the output holds no time or absolute path.
With a baseline, each result carries `baselineState` (new / unchanged) and baselined
ones an external `suppressions` entry, so code scanning does not raise them as new.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from auditor import __version__
from auditor.core import Finding, LintResult, RuleInfo
from auditor.reporters.base import AGGREGATE_OVER, Reporter, register, rule_groups

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "tokaudit/v1"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _section(doc: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, flags=re.M | re.S)
    return " ".join(m.group(1).split()) if m else ""


def _rule_descriptor(cls: RuleInfo) -> dict[str, Any]:
    doc = cls.doc
    return {
        "id": cls.code,
        "name": cls.name,
        "shortDescription": {"text": cls.summary},
        "fullDescription": {"text": _section(doc, "What it does") or cls.summary},
        "help": {"text": doc, "markdown": f"**{cls.code} {cls.name}**\n\n{doc}"},
        "defaultConfiguration": {"level": _LEVEL[cls.severity.value]},
        "properties": {"tags": ["tokenizer", cls.code[0]], "requires": list(cls.requires)},
    }


def _location(artifact: str, line: int = 1) -> dict[str, Any]:
    if artifact.startswith("/"):
        loc = {"uri": "file://" + quote(artifact)}
    else:
        loc = {"uri": quote(artifact), "uriBaseId": "%SRCROOT%"}
    return {"physicalLocation": {"artifactLocation": loc, "region": {"startLine": line}}}


class _Lines:
    """Token lines per artifact, read once (only when a SARIF report is made)."""

    def __init__(self) -> None:
        self._memo: dict[str, dict[int, int]] = {}

    def __call__(self, artifact: str, token_id: int | None) -> int:
        from auditor.reporters.locate import token_lines

        if token_id is None:
            return 1
        if artifact not in self._memo:
            self._memo[artifact] = token_lines(artifact)
        return self._memo[artifact].get(token_id, 1)


def _aggregate_fingerprint(code: str, artifact: str) -> str:
    return hashlib.sha256(f"{code}\0{artifact}\0aggregate".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _baseline_state(findings: list[Finding]) -> str | None:
    if findings[0].baselined is None:
        return None
    return "unchanged" if all(f.baselined for f in findings) else "new"


def _suppression(result: LintResult) -> list[dict[str, Any]]:
    """A baselined result is suppressed externally (by the baseline file), so code
    scanning does not raise it as a new alert."""
    path = result.baseline.path if result.baseline is not None else "the baseline"
    return [{"kind": "external", "status": "accepted", "justification": f"recorded in {path}"}]


def _results(result: LintResult, index: dict[str, int]) -> list[dict[str, Any]]:
    from auditor.core import fingerprint

    out = []
    line_of = _Lines()
    for artifact, code, items in rule_groups(result):
        first = items[0]
        base: dict[str, Any] = {"ruleId": code}
        if code in index:
            base["ruleIndex"] = index[code]
        base["level"] = _LEVEL[first.severity.value]
        if len(items) > AGGREGATE_OVER:
            with_tokens = [f for f in items if f.token_id is not None]
            shown = ", ".join(f'"{f.token}" (id {f.token_id})' for f in with_tokens[:5])
            text = f"{first.name}: {len(items)} findings in this tokenizer"
            text += f", e.g. {shown}" if shown else ""
            res = {
                **base,
                "message": {"text": text + ". The full list is in this result's properties."},
                "locations": [_location(artifact, line_of(artifact, with_tokens[0].token_id if with_tokens else None))],
                "partialFingerprints": {FINGERPRINT_KEY: _aggregate_fingerprint(code, artifact)},
                "properties": {
                    "aggregated": True,
                    "count": len(items),
                    "token_ids": [f.token_id for f in with_tokens],
                    "tokens": [f.token for f in with_tokens],
                    "messages": [f.message for f in items if f.token_id is None],
                },
            }
            state = _baseline_state(items)
        else:
            for f in items:
                text = f'"{f.token}" (id {f.token_id}): {f.message}' if f.token_id is not None else f.message
                res = {
                    **base,
                    "message": {"text": text},
                    "locations": [_location(artifact, line_of(artifact, f.token_id))],
                    "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, artifact)},
                    "properties": {"token_id": f.token_id, "token": f.token, "details": dict(f.details)},
                }
                if f.baselined is not None:
                    res["baselineState"] = "unchanged" if f.baselined else "new"
                if f.baselined:
                    res["suppressions"] = _suppression(result)
                out.append(res)
            continue
        if state is not None:
            res["baselineState"] = state
            res["properties"]["baselined"] = sum(1 for f in items if f.baselined)
            if state == "unchanged":
                res["suppressions"] = _suppression(result)
        out.append(res)
    return out


def _invocation(result: LintResult) -> dict[str, Any]:
    """Loader warnings are notifications about the run: its counts rest on a guess."""
    notes = [
        {"level": "warning", "message": {"text": w}, "locations": [_location(a.description["path"])]}
        for a in result.artifacts
        for w in a.loader_warnings
    ]
    return {"executionSuccessful": True} | ({"toolExecutionNotifications": notes} if notes else {})


def sarif_dict(result: LintResult) -> dict[str, Any]:
    codes = sorted(set(result.rules_run) | {f.code for f in result.findings})
    classes = [result.rules[c] for c in codes if c in result.rules]
    index = {c.code: i for i, c in enumerate(classes)}
    properties: dict[str, Any] = {
        "rules_skipped": dict(sorted(result.rules_skipped.items())),
        "artifacts": [a.description for a in result.artifacts],
    }
    if result.suppressed:
        properties["suppressed"] = result.suppressed
    if result.baseline is not None:
        properties["baseline"] = result.baseline.to_dict()
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "tokaudit",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule_descriptor(c) for c in classes],
            }
        },
        "invocations": [_invocation(result)],
        "columnKind": "unicodeCodePoints",
        "results": _results(result, index),
        "properties": properties,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(result: LintResult) -> str:
    return json.dumps(sarif_dict(result), indent=2, ensure_ascii=False) + "\n"


@register
class SarifReporter(Reporter):
    """SARIF 2.1.0 for code scanning."""

    format = "sarif"

    def lint(self, result: LintResult) -> str:
        return render_sarif(result)
