"""Markdown report of a model audit: the model, the reference set, the verified tokens.

Written by `tokaudit audit --markdown FILE`, for a pull request or a model card:
one table per group, token strings escaped and put in code spans so no token can
break the table or the page.
"""

from __future__ import annotations

from typing import Any

from auditor.core import LintResult


def _code(text: str | None) -> str:
    if text is None:
        return "—"
    shown = text.replace("|", "\\|").replace("`", "ˋ")
    return f"`{shown}`" if shown.strip() else f"`{shown}` (whitespace)"


def _fmt(x: Any, spec: str = ".4g") -> str:
    return "—" if x is None else format(x, spec)


def render_audit_markdown(result: LintResult, *, max_rows: int = 200) -> str:
    from auditor.reporters.audit import audit_dict

    report = audit_dict(result)
    m = report["model"]
    out: list[str] = ["# Under-trained token audit", ""]
    if m is None:
        out += ["No model was analysed.", ""]
        return "\n".join(out)
    rows, dim = m["embedding_shape"]
    out += [
        "| | |",
        "|---|---|",
        f"| Model | {_code(m['path'])} |",
        f"| Format | {m['format']} |",
        f"| Architecture | {m['architecture'] or 'unknown'} |",
        f"| Embeddings | {'tied' if m['tied'] else 'untied'}, {rows} × {dim} |",
        f"| Tokenizer ids | {m['tokenizer_vocab_size']} |",
    ]
    if "indicator" not in m:
        out.append("")
        return "\n".join(out) + "\n"
    out += [
        f"| Indicator | {m['indicator']} ({m['indicator_matrix']} matrix) |",
        f"| Candidates | {m['candidates']} ({m['selection']}, cutoff {_fmt(m['threshold'])}) |",
        "",
        "## Reference set",
        "",
        f"{len(m['reference_ids'])} rows ({m['reference_source']}): "
        + (", ".join(f"{k}: {v}" for k, v in m["reference_reasons"].items()) or "none")
        + ".",
        "",
    ]
    tokens = report["tokens"]
    verification = m.get("verification")
    if verification is not None and verification["ran"]:
        under = sorted(
            (t for t in tokens if t["verdict"] == "under-trained"), key=lambda t: (t["max_prob"], t["token_id"])
        )
        out += [
            "## Verified under-trained tokens",
            "",
            f"{len(under)} of {verification['verified']} tokens verified: the model's highest probability of repeating the "
            f"token stays below {verification['threshold']:g} over three prompts and three greedy steps.",
            "",
        ]
        out += _budget_lines(verification)
        if under:
            out += ["| id | token | category | indicator | max prob | grade |", "|---:|---|---|---:|---:|---|"]
            for t in under[:max_rows]:
                out.append(
                    f"| {t['token_id']} | {_code(t['token'])} | {t['category']} | {_fmt(t['indicator'])} | "
                    f"{_fmt(t['max_prob'], '.2e')} | {t['grade']} |"
                )
            if len(under) > max_rows:
                out.append(f"\n… and {len(under) - max_rows} more (the JSON report lists all).")
            out.append("")
    else:
        why = (verification or {}).get("skipped") or "verification was not asked for (--verify)"
        cands = sorted((t for t in tokens if t["candidate"]), key=lambda t: (t["indicator"], t["token_id"]))
        out += [
            "## Candidates (not verified)",
            "",
            f"Verification did not run: {why}.",
            "",
            "| id | token | category | indicator |",
            "|---:|---|---|---:|",
        ]
        for t in cands[:max_rows]:
            out.append(f"| {t['token_id']} | {_code(t['token'])} | {t['category']} | {_fmt(t['indicator'])} |")
        if len(cands) > max_rows:
            out.append(f"\n… and {len(cands) - max_rows} more (the JSON report lists all).")
        out.append("")
    counts = result.severity_counts()
    out += [
        "## Findings",
        "",
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info.",
        "",
    ]
    by_code: dict[str, list[Any]] = {}
    for f in result.findings:
        by_code.setdefault(f.code, []).append(f)
    for code, items in sorted(by_code.items()):
        out.append(f"- **{code} {items[0].name}** ({items[0].severity.value}): {len(items)}")
    for note in m.get("notes", []):
        out.append(f"\nNote: {note}")
    return "\n".join(out).rstrip("\n") + "\n"


def _budget_lines(verification: dict[str, Any]) -> list[str]:
    """How much was verified, why it stopped, and the recall estimate when sampled."""
    from auditor.reporters.audit import listed_noun, recall_figures

    out: list[str] = []
    b = verification.get("budget") or {}
    if b and b["name"] != "requested":
        out += [
            f"Budget: **{b['name']}**, {b['ordering']} order. Verified {b['verified']} of {b['listed']} "
            f"{listed_noun(b)} ({b['unverified']} left unverified); {b['under_trained']} under-trained. "
            f"Stopped: {b['stop_reason']}.",
            "",
        ]
    r = verification.get("recall")
    if r:
        missed, recall = recall_figures(r)
        out += [
            f"Recall sample: {r['sample_under_trained']} under-trained among {r['sampled']} of the {r['population']} "
            f"unverified OK tokens (uniform, seed {r['seed']}). Estimated under-trained tokens the budget missed "
            f"(the sample's finds included): {missed} ({r['interval_method']}); estimated recall of the budget "
            f"{recall}.",
            "",
        ]
    return out
