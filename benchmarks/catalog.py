"""The catalog: lint every real tokenizer present and write docs/catalog.md.

    .venv/bin/python benchmarks/catalog.py [--material .real_material] [--shared ../shared/real_tokenizers]
                                           [--out docs/catalog.md] [--only NAME]

For each tokenizer file found (those `../shared/real_material/fetch.sh` brings and the two
of `../shared/real_tokenizers`): its format and vocabulary size, the four report-level
counts beside the published figure where one is known, the unreachable tokens by cause,
the findings per rule, its behaviour-lock fingerprint and the lint time (one lint with
the default rules, no cache, in this process).

Every difference from a published figure must be explained (EXPLANATIONS below): the
script exits 1 and names the tokenizer when one is not, so the catalog never shows an
unexplained number. A file that fails to load is listed with its error line, never
left out. It is a benchmark-style script, not a test.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COUNT_KEYS = ("single_byte", "unreachable", "partial_utf8", "special")
PAPER = "Land & Bartolo 2024 (docs/method.md)"
ISSUE = "tokaudit issue 13"


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # relative to the material folder, or "shared:" + relative to real_tokenizers
    published: dict[str, int] = field(default_factory=dict)  # any of COUNT_KEYS
    source: str = ""


ENTRIES = (
    Entry("GPT-2 (r50k_base)", "tiktoken/r50k_base.tiktoken", dict(zip(COUNT_KEYS, (256, 0, 216, 1))), PAPER),
    Entry("p50k_base", "tiktoken/p50k_base.tiktoken"),
    Entry("o200k_base (GPT-4o)", "tiktoken/o200k_base.tiktoken"),
    Entry("Whisper multilingual", "tiktoken/whisper_multilingual.tiktoken"),
    Entry("Qwen (1-3)", "tiktoken/qwen.tiktoken", {"unreachable": 1906}, ISSUE),
    Entry("Llama 4", "tiktoken/llama4_tokenizer.model"),
    Entry("Llama 2", "shared:llama2-sentencepiece/tokenizer.model", dict(zip(COUNT_KEYS, (351, 0, 0, 3))), PAPER),
    Entry("Mistral 7B v0.1", "sentencepiece/mistral_7b_v0.1.model", dict(zip(COUNT_KEYS, (380, 0, 0, 3))), PAPER),
    Entry("Mistral v2 (instruct 240216)", "sentencepiece/mistral_mistral_instruct_tokenizer_240216.model.v2"),
    Entry("Mistral v3 (7B v0.3, Mixtral 8x22B)", "sentencepiece/mistral_mistral_instruct_tokenizer_240323.model.v3"),
    Entry("Mistral v7 (instruct 241114)", "sentencepiece/mistral_mistral_instruct_tokenizer_241114.model.v7"),
    Entry("sentencepiece test: botchan BPE 1k", "sentencepiece/sptest_botchan_en_bpe_1000.model"),
    Entry("sentencepiece test: botchan unigram 1k", "sentencepiece/sptest_botchan_en_unigram_1000.model"),
    Entry("sentencepiece test: kyoto unigram 8k", "sentencepiece/sptest_kyoto_ja_unigram_8000.model"),
    Entry(
        "Tekken 240718 (Mistral NeMo)", "tekken/tekken_240718.json", dict(zip(COUNT_KEYS, (256, 0, 1307, 1000))), ISSUE
    ),
    Entry(
        "Tekken 240911 (Pixtral, Small 3)",
        "tekken/tekken_240911.json",
        dict(zip(COUNT_KEYS, (256, 0, 1307, 1000))),
        ISSUE,
    ),
    Entry(
        "GPT-NeoX-20B / Pythia", "shared:gpt-neox-20b/tokenizer.json", dict(zip(COUNT_KEYS, (243, 221, 369, 2))), PAPER
    ),
    Entry("Claude (legacy)", "tokenizer_json/claude_legacy_tokenizer.json"),
    *(
        Entry(f"GGUF {family}", f"gguf_vocab/ggml-vocab-{family}.gguf", published, source)
        for family, published, source in (
            ("aquila", {}, ""),
            ("baichuan", {}, ""),
            ("bert-bge", {}, ""),
            ("command-r", {"special": 37}, ISSUE),
            ("deepseek-coder", {"unreachable": 53}, ISSUE),
            ("deepseek-llm", {}, ""),
            ("falcon", {}, ""),
            ("gemma-4", {}, ""),
            ("gpt-2", dict(zip(COUNT_KEYS, (256, 0, 216, 1))), PAPER + ", GPT-2's vocabulary"),
            ("gpt-neox", dict(zip(COUNT_KEYS, (243, 221, 369, 2))), PAPER + ", GPT-NeoX's vocabulary"),
            ("llama-bpe", {}, ""),
            ("llama-spm", dict(zip(COUNT_KEYS, (351, 0, 0, 3))), PAPER + ", Llama 2's vocabulary"),
            ("mpt", dict(zip(COUNT_KEYS, (243, 221, 369, 2))), PAPER + ", GPT-NeoX's vocabulary"),
            ("nomic-bert-moe", {}, ""),
            ("phi-3", {}, ""),
            ("qwen2", {"unreachable": 1906}, ISSUE + ", Qwen's vocabulary"),
            ("qwen35", {}, ""),
            ("refact", {}, ""),
            ("starcoder", {}, ""),
        )
    ),
)

# Why a measured count differs from the published one: (name, count key) -> one sentence.
EXPLANATIONS: dict[tuple[str, str], str] = {}


def _lint(path: Path) -> dict[str, Any]:
    """One default lint in this process, no cache: the JSON report and the wall time."""
    from auditor.core import UserError
    from auditor.session import Output, Session

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        session = Session(output=Output(format="json", path=out), no_cache=True, quiet=True, progress=False)
        start = time.perf_counter()
        try:
            session.lint([path])
        except UserError as exc:
            return {"error": str(exc)}
        seconds = time.perf_counter() - start
        return {"report": json.loads(out.read_text(encoding="utf-8")), "seconds": seconds}


def _fingerprint(path: Path) -> str:
    """The behaviour lock's identity of the tokenizer: a short hash of its lock entry."""
    from auditor.analyses.preprocessing import run_probes
    from auditor.loaders import load_tokenizer
    from auditor.preprocessing.lock import fingerprint

    view = load_tokenizer(path)
    entry = fingerprint(view, run_probes(view))
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:12]


def _resolve(entry: Entry, material: Path, shared: Path) -> Path:
    if entry.path.startswith("shared:"):
        return shared / entry.path.removeprefix("shared:")
    return material / entry.path


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def measure(entry: Entry, path: Path) -> dict[str, Any]:
    linted = _lint(path)
    if "error" in linted:
        return {"entry": entry, "error": linted["error"]}
    report = linted["report"]
    art = report["artifacts"][0]
    findings = report["findings"]
    by_rule = Counter(f["code"] for f in findings)
    causes = Counter(f["details"].get("cause", "?") for f in findings if f["code"] == "V101")
    return {
        "entry": entry,
        "format": art["format"],
        "vocab_size": art["vocab_size"],
        "implementation": art["implementation"],
        "counts": art["paper_counts"],
        "causes": dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "rules": dict(sorted(by_rule.items())),
        "warnings": art.get("warnings", []),
        "seconds": linted["seconds"],
        "fingerprint": _fingerprint(path),
    }


def differences(row: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(count, measured, published) where they differ."""
    entry: Entry = row["entry"]
    counts = row.get("counts") or {}
    return [(k, counts.get(k, -1), v) for k, v in entry.published.items() if counts.get(k) != v]


def render(rows: list[dict[str, Any]], machine: str) -> str:
    loaded = [r for r in rows if "error" not in r]
    with_published = [r for r in loaded if r["entry"].published]
    exact = [r for r in with_published if not differences(r)]
    slowest = max(loaded, key=lambda r: r["seconds"] / max(r["vocab_size"], 1), default=None)
    out = [
        "# Catalog of real tokenizers",
        "",
        f"Written by `benchmarks/catalog.py` on {_dt.date.today().isoformat()}, {machine}. One default",
        "`tokaudit lint` per file, no cache. Counts are the paper's report-level counts",
        "(single-byte / unreachable / partial UTF-8 / special; docs/method.md §1), padding fillers apart.",
        "",
        f"- tokenizers found: {len(rows)}; loaded: {len(loaded)}",
        f"- with a published figure: {len(with_published)}; reproduced exactly: {len(exact)}",
    ]
    if slowest is not None:
        per = slowest["seconds"] / slowest["vocab_size"] * 100_000
        out.append(f"- slowest lint: {slowest['entry'].name}, {slowest['seconds']:.2f} s ({per:.2f} s per 100k ids)")
    out += [
        "",
        "| tokenizer | format | ids | single-byte | unreachable | partial UTF-8 | special | padding | published | lint s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        e: Entry = r["entry"]
        if "error" in r:
            out.append(f"| {_md(e.name)} | not loaded: {_md(r['error'])} | | | | | | | | |")
            continue
        c = r["counts"] or {}
        pub = " / ".join(str(e.published.get(k, "–")) for k in COUNT_KEYS) if e.published else ""
        mark = "" if not e.published else (" ✓" if not differences(r) else " ≠")
        cells = [str(c.get(k, "")) for k in COUNT_KEYS]
        out.append(
            f"| {_md(e.name)} | {r['format']} | {r['vocab_size']} | {' | '.join(cells)} | {c.get('padding', 0)} "
            f"| {pub}{mark} | {r['seconds']:.2f} |"
        )
    out += ["", "## Differences from published figures", ""]
    any_diff = False
    for r in rows:
        if "error" in r:
            continue
        for key, got, want in differences(r):
            any_diff = True
            why = EXPLANATIONS.get((r["entry"].name, key), "UNEXPLAINED")
            out.append(f"- **{r['entry'].name}**, {key}: {got} measured, {want} published ({r['entry'].source}). {why}")
    if not any_diff:
        out.append("None: every published figure is reproduced.")
    out += ["", "## Per tokenizer", ""]
    for r in rows:
        e = r["entry"]
        out.append(f"### {e.name}")
        out.append("")
        out.append(f"`{e.path.removeprefix('shared:')}`" + (f"; published: {e.source}" if e.source else ""))
        out.append("")
        if "error" in r:
            out += [f"Not loaded: {r['error']}", ""]
            continue
        out.append(f"- {r['format']}, {r['vocab_size']} ids, {r['implementation']}")
        causes = ", ".join(f"{k} {v}" for k, v in r["causes"].items()) or "none"
        out.append(f"- unreachable (V101) by cause: {causes}")
        rules = ", ".join(f"{k} {v}" for k, v in r["rules"].items()) or "none"
        out.append(f"- findings per rule: {rules}")
        for w in r["warnings"]:
            out.append(f"- warning: {w}")
        out.append(f"- behaviour-lock fingerprint: `{r['fingerprint']}`")
        per = r["seconds"] / max(r["vocab_size"], 1) * 100_000
        out.append(f"- lint: {r['seconds']:.2f} s ({per:.2f} s per 100k ids)")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--material", type=Path, default=REPO / ".real_material")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "real_tokenizers")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "catalog.md")
    parser.add_argument("--only", help="Measure only the entries whose name contains this.")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = []
    for entry in ENTRIES:
        if args.only and args.only.lower() not in entry.name.lower():
            continue
        path = _resolve(entry, args.material, args.shared)
        if not path.exists():
            print(f"absent: {entry.name} ({path})", file=sys.stderr)
            continue
        row = measure(entry, path)
        rows.append(row)
        shown = row.get("error") or f"{row['counts']} in {row['seconds']:.2f} s"
        print(f"{entry.name}: {shown}", file=sys.stderr, flush=True)
    text = render(rows, machine)
    if args.only:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    unexplained = [
        r["entry"].name
        for r in rows
        if "error" not in r
        for k, *_ in differences(r)
        if (r["entry"].name, k) not in EXPLANATIONS
    ]
    if unexplained:
        print(f"unexplained differences: {', '.join(sorted(set(unexplained)))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
