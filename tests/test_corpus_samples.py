"""Corpus wiring: P112 compares a --corpus sample, `tokaudit diff --corpus`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.core import CorpusOptions, RunInputs
from auditor.corpus import chunking
from auditor.engine import run_lint
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.preprocessing import equivalence
from auditor.preprocessing.equivalence import corpus_sample, corpus_texts
from rules.preprocessing.implementation_mismatch import ImplementationMismatch

runner = CliRunner()


def write_jsonl(path: Path, texts) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": t}) + "\n" for t in texts)
    return str(path)


def folder_with_two_implementations(tmp_path: Path) -> Path:
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(byte_level_bpe([" hello", " world"])), encoding="utf-8")
    (folder / "tokenizer.model").write_bytes(sentencepiece_bpe(["hello", "world"]))
    return folder


def test_p112_compares_a_deterministic_corpus_sample(tmp_path, monkeypatch):
    folder = folder_with_two_implementations(tmp_path)
    corpus = write_jsonl(tmp_path / "c.jsonl", [f"doc {k} hello world" for k in range(12)])
    monkeypatch.setattr(equivalence, "SAMPLE_DOCUMENTS", 5)
    result = run_lint([folder], [ImplementationMismatch()], inputs=RunInputs(corpus=(corpus,)))
    by_texts = {f.details["texts"]: f for f in result.findings}
    assert set(by_texts) == {"probe strings", "sample documents"}
    sample = by_texts["sample documents"]
    assert sample.details["compared"] == 5  # SAMPLE_DOCUMENTS, the first documents in order
    assert [label.rsplit("/", 1)[-1] for label in sample.details["diverging"]] == [
        f"c.jsonl:line {k}" for k in range(1, 6)
    ]
    assert "sample documents" in sample.message
    section = result.artifacts[0].sections["implementations"]
    assert next(iter(section["sample_comparisons"].values()))["compared"] == 5
    # --max-documents lowers the sample; the same run twice gives the same finding.
    small = run_lint(
        [folder],
        [ImplementationMismatch()],
        inputs=RunInputs(corpus=(corpus,), corpus_options=CorpusOptions(max_documents=2)),
    )
    assert {f.details["texts"]: f.details["compared"] for f in small.findings}["sample documents"] == 2
    again = run_lint([folder], [ImplementationMismatch()], inputs=RunInputs(corpus=(corpus,)))
    assert [f.to_dict() for f in again.findings] == [f.to_dict() for f in result.findings]


def test_p112_reads_no_corpus_without_another_implementation(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(byte_level_bpe([" hello"])), encoding="utf-8")
    # The corpus does not exist: reading it would be an error; with nothing to compare it is never read.
    result = run_lint([path], [ImplementationMismatch()], inputs=RunInputs(corpus=(str(tmp_path / "missing.jsonl"),)))
    assert result.findings == []


def test_corpus_sample_cuts_long_documents_and_rejects_an_empty_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNK_CHARS", 10)
    corpus = write_jsonl(tmp_path / "c.jsonl", ["short", "aaaa bbbb cccc dddd eeee"])
    sample = corpus_sample([corpus])
    assert [label.rsplit("/", 1)[-1] for label, _t in sample] == ["c.jsonl:line 1", "c.jsonl:line 2"]
    assert sample[1][1] == "aaaa bbbb "  # the first piece only
    texts = list(corpus_texts([corpus]))
    assert [t for _l, t in texts] == ["short", "aaaa bbbb ", "cccc dddd ", "eeee"]
    assert texts[1][0].endswith("line 2 piece 0") and texts[3][0].endswith("line 2 piece 2")
    empty = write_jsonl(tmp_path / "e.jsonl", [""])
    try:
        corpus_sample([empty])
    except Exception as exc:
        assert type(exc).__name__ == "UserError" and "no usable document" in str(exc)
    else:
        raise AssertionError("an empty corpus must be a user error")


def test_diff_with_a_corpus(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(byte_level_bpe(["hello", " world"])), encoding="utf-8")
    b.write_text(json.dumps(byte_level_bpe(["hello"])), encoding="utf-8")
    corpus = write_jsonl(tmp_path / "c.jsonl", ["hello there", "hello world", "nothing", "world world"])
    res = runner.invoke(app, ["diff", str(a), str(b), "--corpus", corpus, "--format", "json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    assert doc["sample"]["compared"] == 4 and doc["sample"]["diverging"] == 2
    assert [label.rsplit(":", 1)[1] for label in doc["sample"]["diverging_texts"]] == ["line 2", "line 4"]
    assert doc["sample_read"].startswith("4 documents from 1 file(s)")
    text = runner.invoke(app, ["diff", str(a), str(b), "--corpus", corpus, "--max-documents", "1"])
    assert (
        text.exit_code == 1
        and "tokenization (sample; corpus: 1 documents from 1 file(s)): 0 of 1 texts differ" in text.output
    )
    # Plain text, one document per line.
    txt = tmp_path / "c.txt"
    txt.write_text("hello\nhello world\n", encoding="utf-8")
    res = runner.invoke(app, ["diff", str(a), str(b), "--corpus", str(txt), "--doc-per-line", "--format", "json"])
    assert json.loads(res.output)["sample"]["compared"] == 2
    # Without --corpus nothing about a sample; identical tokenizers with a corpus: exit 0.
    assert json.loads(runner.invoke(app, ["diff", str(a), str(b), "--format", "json"]).output)["sample"] is None
    assert runner.invoke(app, ["diff", str(a), str(a), "--corpus", corpus]).exit_code == 0


def test_diff_with_a_bad_corpus_is_exit_2(tmp_path):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(byte_level_bpe(["hello"])), encoding="utf-8")
    res = runner.invoke(app, ["diff", str(a), str(a), "--corpus", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2 and "corpus" in res.output
    empty = write_jsonl(tmp_path / "e.jsonl", [""])
    res = runner.invoke(app, ["diff", str(a), str(a), "--corpus", empty, "--text-field", ""])
    assert res.exit_code == 2 and "--text-field" in res.output
