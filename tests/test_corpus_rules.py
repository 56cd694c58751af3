"""The corpus rules end to end on the shipped demo (what the README shows), and progress."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from auditor.cli import app
from auditor.core import Document
from auditor.corpus.scan import scan_documents
from auditor.fixtures import byte_level_bpe
from auditor.loaders import load_tokenizer

DEMO = "sample_corpora/demo"


def _lint_json(*args: str) -> dict:
    result = CliRunner().invoke(app, ["lint", *args, "--format", "json", "--no-progress", "--select", "C"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_demo_corpus_shows_the_planted_log_spam():
    report = _lint_json(f"{DEMO}/tokenizer.json", "--corpus", f"{DEMO}/corpus.jsonl")
    by_code: dict[str, list] = {}
    for f in report["findings"]:
        by_code.setdefault(f["code"], []).append(f)
    spam = [f for f in by_code["C101"] if f["details"]["use_documents"] == 1]
    assert spam and all(f["details"]["top_document"] == f"{DEMO}/corpus.jsonl:line 138" for f in spam)
    assert any("PsyNet" in (f["token"] or "") for f in spam)
    assert all("PsyNetMessageV7" in f["details"]["snippet"] for f in spam if "Net" in (f["token"] or ""))
    # the added space tokens swallow the indentation, so " return" never forms (the NeoX defect)
    assert " return" in {f["token"] for f in by_code["C103"]}
    assert "C104" not in by_code and "C105" not in by_code  # byte-level BPE: lossless, no <unk>
    section = report["artifacts"][0]["sections"]["corpus_stats"]
    assert section["documents"] == 600 and section["read"]["bad_records"] == 0


def test_demo_sentencepiece_model_is_lossy_and_has_unknown_characters():
    report = _lint_json(f"{DEMO}/spm.model", "--corpus", f"{DEMO}/corpus.jsonl")
    (lossy,) = [f for f in report["findings"] if f["code"] == "C104"]
    assert lossy["details"]["lossy_documents"] == 600  # newlines become spaces
    (unk,) = [f for f in report["findings"] if f["code"] == "C105"]
    causes = {c["char"]: c for c in unk["details"]["causes"]}
    assert causes["首"]["count"] > 100 and causes["首"]["effect"] == "unknown"  # coverage 0.995 left it out
    assert all(c["first_document"].startswith(f"{DEMO}/corpus.jsonl:line ") for c in causes.values())


def test_progress_reports_documents_and_tokens_per_second(write_tokenizer, monkeypatch):
    monkeypatch.setattr("auditor.corpus.scan.PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr("auditor.corpus.scan.BATCH_DOCS", 2)
    view = load_tokenizer(write_tokenizer(byte_level_bpe(["hello"])))
    messages: list[str] = []
    docs = [Document("c.txt", k, "hello world", "line") for k in range(5)]
    scan_documents(view, docs, progress=messages.append, label="corpus")
    assert len(messages) == 3
    assert (
        messages[-1].startswith("corpus: 5 documents, ")
        and "documents/s" in messages[-1]
        and "tokens/s" in messages[-1]
    )


def test_demo_generator_writes_the_committed_files(tmp_path, monkeypatch):
    """The committed sample corpus and demo tokenizers are what the generator writes."""
    import importlib.util

    monkeypatch.setenv("RAYON_NUM_THREADS", "1")  # build() sets it; restored after the test
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("make_demo", Path(DEMO).parent / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for name in ("corpus.jsonl", "tokenizer.json", "spm.model"):
        assert (tmp_path / name).read_bytes() == (Path(DEMO) / name).read_bytes(), name


def test_json_report_with_a_corpus_is_identical_across_runs():
    args = (f"{DEMO}/tokenizer.json", f"{DEMO}/spm.model", "--corpus", f"{DEMO}/corpus.jsonl")
    first = CliRunner().invoke(app, ["lint", *args, "--format", "json", "--no-progress"]).stdout
    second = CliRunner().invoke(app, ["lint", *args, "--format", "json", "--no-progress"]).stdout
    assert first == second and '"corpus_stats"' in first
