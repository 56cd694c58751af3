"""The audit's own reports: the JSON report with the `model` section and the `tokens`
list at the top level, and a text summary of the model above the findings."""

from __future__ import annotations

import json
from typing import Any

from auditor.core import LintResult


def audit_dict(result: LintResult) -> dict[str, Any]:
    """The lint report with the audit's `model` section and `tokens` list at the top level."""
    from auditor.reporters.json_report import report_dict

    report = report_dict(result)
    model: dict[str, Any] | None = None
    tokens: list[dict[str, Any]] = []
    for art in report["artifacts"]:
        secs = dict(art.get("sections") or {})  # the result's own dicts stay untouched
        art["sections"] = secs
        indicators = secs.get("indicators")
        if indicators is not None:
            model, tokens = dict(indicators["model"]), indicators["tokens"]
            secs["indicators"] = {k: v for k, v in indicators.items() if k not in ("model", "tokens")}
            if not secs["indicators"]:
                del secs["indicators"]
        elif "embeddings" in secs and model is None:
            model = dict(secs["embeddings"])
        if "verification" in secs and model is not None:
            model["verification"] = secs.pop("verification")
        if "embeddings" in secs:
            secs.pop("embeddings")
        if not secs:
            art.pop("sections", None)
    report["model"] = model
    report["tokens"] = tokens
    return report


def render_audit_json(result: LintResult) -> str:
    return json.dumps(audit_dict(result), indent=2, ensure_ascii=False) + "\n"


def render_audit_text(result: LintResult, *, fail_on: str = "error", top: int = 20) -> str:
    """A readable summary of the model side, then the findings as lint shows them."""
    from auditor.reporters.text import render_text

    lines: list[str] = []
    report = audit_dict(result)
    m = report["model"]
    if m is not None:
        rows, dim = m["embedding_shape"]
        lines.append(
            f"model: {m['path']}  ({m['format']}, {m['architecture'] or 'unknown architecture'}, "
            f"{'tied' if m['tied'] else 'untied'} embeddings, {rows} x {dim})"
        )
        if "indicator" in m:
            reasons = ", ".join(f"{k} {v}" for k, v in m["reference_reasons"].items()) or "none"
            lines.append(
                f"  indicator: {m['indicator']} on the {m['indicator_matrix']} matrix; "
                f"reference rows: {len(m['reference_ids'])} ({m['reference_source']}: {reasons})"
            )
            cutoff = "n/a" if m["threshold"] is None else f"{m['threshold']:.4g}"
            lines.append(f"  candidates: {m['candidates']} ({m['selection']}; indicator cutoff {cutoff})")
            verification = m.get("verification")
            if verification is not None:
                if verification["ran"]:
                    lines.extend(verification_lines(verification, report["tokens"]))
                elif (problem := result.verification_problem()) is not None:
                    lines.append(f"  verification did not run: {problem}")
            for note in m.get("notes", []):
                lines.append(f"  note: {note}")
            cands = [t for t in report["tokens"] if t["candidate"]]
            cands.sort(key=lambda t: (t["indicator"], t["token_id"]))
            if cands:
                lines.append(f"  most suspicious {min(top, len(cands))}:")
                for t in cands[:top]:
                    shown = (t["token"] or "").replace('"', '\\"')
                    extra = ""
                    if t["max_prob"] is not None:
                        extra = f"  max_prob {t['max_prob']:.2e}  {t['verdict']}"
                    lines.append(f'    {t["token_id"]:>7} "{shown}"  {t["indicator"]:.4g}{extra}')
        lines.append("")
    summarised = ("embeddings", "indicators", "verification") if m is not None else ()
    return "\n".join(lines) + render_text(result, fail_on=fail_on, skip_sections=summarised)


def verification_lines(verification: dict[str, Any], tokens: list[dict[str, Any]]) -> list[str]:
    """The verification summary: the budget and why it stopped, the verdicts, the recall estimate."""
    lines: list[str] = []
    grades: dict[str, int] = {}
    for t in tokens:
        if t["verdict"] == "under-trained":
            grades[t["grade"]] = grades.get(t["grade"], 0) + 1
    shown = ", ".join(f"{k} {v}" for k, v in sorted(grades.items()))
    b = verification.get("budget") or {}
    if b and b["name"] != "requested":
        what = listed_noun(b)
        lines.append(
            f"  verification ({b['name']} budget, {b['ordering']} order): {b['under_trained']} under-trained among "
            f"{b['verified']} of {b['listed']} {what} verified (max probability < {verification['threshold']:g})"
            f"{': ' + shown if shown and not verification.get('recall') else ''}"
        )
        lines.append(f"    stopped: {b['stop_reason']}")
        if b["unverified"]:
            lines.append(f"    {b['unverified']} {what} left unverified (--budget full verifies them all)")
    else:
        lines.append(
            f"  verification: {verification['under_trained']} of {verification['verified']} tokens under-trained "
            f"(max probability < {verification['threshold']:g}){': ' + shown if shown else ''}"
        )
    r = verification.get("recall")
    if r:
        missed, recall = recall_figures(r)
        lines.append(
            f"  recall sample: {r['sample_under_trained']} under-trained among {r['sampled']} of the "
            f"{r['population']} unverified OK tokens (seed {r['seed']})"
        )
        found = f"; {r['sample_under_trained']} of them now found by the sample" if r["sample_under_trained"] else ""
        lines.append(f"    estimated under-trained tokens the budget missed: {missed}{found}")
        lines.append(f"    estimated recall of the budget: {recall}")
    return lines


def listed_noun(budget: dict[str, Any]) -> str:
    """What a budget's list holds: candidates, or (for `--budget all`) OK tokens."""
    return "OK tokens" if budget["name"] == "all" else "candidates"


def recall_figures(r: dict[str, Any]) -> tuple[str, str]:
    """The recall section's two estimates with their 95% intervals, as text and Markdown show them."""
    lo, hi = r["missed_interval"]
    rlo, rhi = r["recall_interval"]
    missed = f"{r['estimated_missed']:.1f} (95% CI {lo}–{hi})"
    recall = "n/a" if r["estimated_recall"] is None else f"{r['estimated_recall']:.3f} (95% CI {rlo:.3f}–{rhi:.3f})"
    return missed, recall
