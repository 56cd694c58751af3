"""`tokaudit diff` in text, JSON and Markdown."""

from __future__ import annotations

import json

from auditor.preprocessing.diff import TokenizerDiff
from auditor.probes import PROBE_STRINGS_VERSION
from auditor.reporters.markdown import cell, code_cell


def diff_text(d: TokenizerDiff, limit: int = 10) -> str:
    v = d.vocabulary
    lines = [
        f"A: {d.a['path']}  ({d.a['format']}, {d.a['vocab_size']} ids, {d.a['implementation']})",
        f"B: {d.b['path']}  ({d.b['format']}, {d.b['vocab_size']} ids, {d.b['implementation']})",
        f"vocabulary: {len(v.added)} added, {len(v.removed)} removed, {len(v.changed)} changed ids"
        + (f"; {v.moved} entries of B sit at another id in A" if v.moved else ""),
    ]
    shown, hidden = v.entries(limit)
    for change, tid, x, y, kinds in shown:
        if change == "added":
            lines.append(f'  + {tid:>7} "{y}"')
        elif change == "removed":
            lines.append(f'  - {tid:>7} "{x}"')
        else:
            lines.append(f'  ~ {tid:>7} "{x}" -> "{y}"' + (f" ({kinds})" if kinds else ""))
    if hidden:
        lines.append(f"  ... and {hidden} more (--format json lists up to 100 of each)")
    for title, eq in (("probe strings", d.probes), ("sample", d.sample)):
        if eq is None:
            continue
        if title == "probe strings":
            lines.append(
                f"tokenization ({title}, v{PROBE_STRINGS_VERSION}): {eq.diverging} of {eq.compared} texts differ"
            )
        else:
            read = f"; corpus: {d.sample_read}" if d.sample_read else ""
            lines.append(f"tokenization ({title}{read}): {eq.diverging} of {eq.compared} texts differ")
        for div in eq.examples:
            lines.append(f"  {div.describe()}")
    lines.append("identical" if d.identical else "different")
    return "\n".join(lines) + "\n"


def diff_json(d: TokenizerDiff) -> str:
    return json.dumps(d.to_dict(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def diff_markdown(d: TokenizerDiff, limit: int = 20) -> str:
    """A pull-request comment: what changed between A and B, as tables."""
    v = d.vocabulary
    verdict = "identical" if d.identical else "different"
    lines = [
        f"## tokaudit diff: {verdict}",
        "",
        "| | path | format | ids | implementation |",
        "|---|---|---|---:|---|",
    ]
    for label, side in (("A", d.a), ("B", d.b)):
        lines.append(
            f"| {label} | {code_cell(side['path'])} | {side['format']} | {side['vocab_size']} | "
            f"{cell(side['implementation'])} |"
        )
    moved = f"; {v.moved} entries of B sit at another id in A" if v.moved else ""
    lines += [
        "",
        f"**Vocabulary:** {len(v.added)} added, {len(v.removed)} removed, {len(v.changed)} changed ids{moved}",
    ]
    if v.added or v.removed or v.changed:
        lines += ["", "| change | id | A | B |", "|---|---:|---|---|"]
        shown, hidden = v.entries(limit)
        for change, tid, x, y, kinds in shown:
            a = code_cell(x) if change != "added" else ""
            b = code_cell(y) if change != "removed" else ""
            lines.append(f"| {change}{f' ({kinds})' if kinds else ''} | {tid} | {a} | {b} |")
        if hidden:
            lines += ["", f"... and {hidden} more (`--format json` lists up to 100 of each)"]
    for title, eq in (("probe strings", d.probes), ("sample", d.sample)):
        if eq is None:
            continue
        what = f"probe strings, v{PROBE_STRINGS_VERSION}" if title == "probe strings" else "sample"
        read = f"; corpus: {d.sample_read}" if title == "sample" and d.sample_read else ""
        lines += ["", f"**Tokenization ({what}{read}):** {eq.diverging} of {eq.compared} texts differ"]
        for div in eq.examples:
            lines.append(f"- {cell(div.describe())}")
    return "\n".join(lines) + "\n"
