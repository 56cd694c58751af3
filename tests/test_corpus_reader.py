"""Corpus input: formats, locators, sampling, and every kind of bad input."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.core import UserError
from auditor.corpus.reader import ReadReport, check_usable, iter_documents
from auditor.fixtures import byte_level_bpe

TEXTS = ["first document", "second one\nwith two lines", "third 東京 🙂"]


def _jsonl(texts, field="text") -> bytes:
    return "".join(json.dumps({field: t, "id": k}, ensure_ascii=False) + "\n" for k, t in enumerate(texts)).encode()


def _read(paths, **kw):
    report = ReadReport()
    docs = list(iter_documents([str(p) for p in paths], report=report, **kw))
    return docs, report


@pytest.mark.parametrize(
    ("name", "wrap"),
    [
        ("c.jsonl", lambda b: b),
        ("c.jsonl.gz", gzip.compress),
        ("c.jsonl.bz2", bz2.compress),
        ("c.jsonl.zst", lambda b: __import__("zstandard").ZstdCompressor().compress(b)),
        ("noext", lambda b: b),  # JSON lines without a telling name are plain text: one document
    ],
)
def test_jsonl_and_compressed_variants(tmp_path, name, wrap):
    path = tmp_path / name
    path.write_bytes(wrap(_jsonl(TEXTS)))
    docs, report = _read([path])
    if name == "noext":
        assert len(docs) == 1 and docs[0].unit == "file"
        return
    assert [d.text for d in docs] == TEXTS
    assert docs[1].locator.endswith(f"{name}:line 2")
    assert report.documents == 3 and report.bad_records == 0


def test_json_array_parquet_and_saved_dataset(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.json").write_text(json.dumps([{"text": t} for t in TEXTS]), encoding="utf-8")
    docs, _ = _read([tmp_path / "a.json"])
    assert [d.text for d in docs] == TEXTS and docs[2].locator.endswith("a.json:record 2")

    pq.write_table(pa.table({"content": TEXTS + [None]}), tmp_path / "b.parquet", row_group_size=2)
    docs, report = _read([tmp_path / "b.parquet"], text_field="content")
    assert [d.text for d in docs] == TEXTS and docs[1].locator.endswith("b.parquet:record 1")
    assert report.bad_reasons == {"'content' is null": 1}

    datasets.Dataset.from_dict({"text": TEXTS}).save_to_disk(str(tmp_path / "ds"))
    docs, _ = _read([tmp_path / "ds"])
    assert [d.text for d in docs] == TEXTS and docs[0].locator.endswith("ds:record 0")

    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": TEXTS[:2]}),
            "test": datasets.Dataset.from_dict({"text": TEXTS[2:]}),
        }
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    docs, _ = _read([tmp_path / "dd"])
    assert [d.locator.split("/")[-1] for d in docs] == ["dd[test]:record 0", "dd[train]:record 0", "dd[train]:record 1"]


def test_text_files_folders_and_globs(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("bee\n\nsecond line\r\n", encoding="utf-8")
    (folder / "a.md").write_text("ay", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("sea", encoding="utf-8")
    (folder / ".hidden").write_text("no", encoding="utf-8")
    docs, _ = _read([folder])
    assert [d.text for d in docs] == ["ay", "bee\n\nsecond line\r\n", "sea"]  # sorted, recursive, hidden left out
    assert docs[0].unit == "file" and docs[0].locator.endswith("corpus/a.md")
    docs, report = _read([folder / "b.txt"], doc_per_line=True)
    assert [(d.text, d.index) for d in docs] == [("bee", 1), ("second line\r", 3)]
    assert report.empty_documents == 1
    docs, _ = _read([str(folder / "**" / "*.txt")])
    assert [d.text for d in docs] == ["bee\n\nsecond line\r\n", "sea"]
    # the same file named twice is read once
    docs, _ = _read([folder / "a.md", folder / "a.md"])
    assert len(docs) == 1


def test_max_documents_is_a_deterministic_prefix(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(_jsonl(TEXTS))
    (tmp_path / "b.jsonl").write_bytes(_jsonl(["x", "y"]))
    first, report = _read([tmp_path], max_documents=4)
    again, _ = _read([tmp_path], max_documents=4)
    assert [d.locator for d in first] == [d.locator for d in again]
    assert [d.text for d in first] == TEXTS + ["x"]
    assert report.truncated


def test_bad_records_are_counted_never_fatal(tmp_path):
    lines = [
        b'{"text": "good one"}',
        b'{"body": "no text field"}',
        b'{"text": 42}',
        b'["not", "an object"]',
        b'{"text": "caf\xe9 latin-1"}',
        b"{broken json",
        b'{"text": ""}',
        b'{"text": "good two"}',
        b'{"text": "lone \\udcff surrogate"}',
    ]
    (tmp_path / "c.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    docs, report = _read([tmp_path / "c.jsonl"])
    assert [d.text for d in docs] == ["good one", "good two"]
    assert report.bad_records == 6 and report.empty_documents == 1
    assert report.bad_reasons == {
        "no 'text' field": 1,
        "'text' is not a string": 1,
        "record is not an object": 1,
        "not UTF-8 (byte 0xe9)": 1,
        "invalid JSON": 1,
        "lone surrogate escape (not Unicode text)": 1,
    }
    assert report.bad_examples["invalid JSON"] == [f"{_shown(tmp_path / 'c.jsonl')}:line 6"]
    assert "6 bad records" in report.summary()


def _shown(path) -> str:
    from auditor.corpus.reader import _display

    return _display(str(path))


def test_non_utf8_text_file_is_a_bad_record(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"ok text")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe binary")
    docs, report = _read([tmp_path])
    assert [d.text for d in docs] == ["ok text"]
    assert report.bad_reasons == {"not UTF-8 (byte 0xff)": 1}


def test_unreadable_file_among_many(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(_jsonl(TEXTS))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(_jsonl(["lost"]))[:-12])  # truncated gzip
    (tmp_path / "c.jsonl").write_bytes(_jsonl(["last"]))
    docs, report = _read([tmp_path, tmp_path / "missing.jsonl", str(tmp_path / "*.none")])
    assert [d.text for d in docs][:3] == TEXTS and docs[-1].text == "last"
    reasons = dict(report.unreadable)
    assert "EOFError" in reasons[_shown(tmp_path / "b.jsonl.gz")]
    assert reasons[str(tmp_path / "missing.jsonl")] == "no such file or directory"
    assert reasons[str(tmp_path / "*.none")] == "no file matches this pattern"


def test_nothing_usable_is_a_user_error(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b'{"text": ""}\n{"other": "x"}\n')
    for paths in ([tmp_path / "empty.jsonl"], [tmp_path / "blank.jsonl"], [tmp_path / "nope"]):
        _, report = _read(paths)
        with pytest.raises(UserError, match="no usable document|nothing could be read"):
            check_usable(report, [str(p) for p in paths])


def _lint(tmp_path, *args):
    tok = tmp_path / "tokenizer.json"
    tok.write_text(json.dumps(byte_level_bpe(["hello", " world"])), encoding="utf-8")
    return CliRunner().invoke(app, ["lint", str(tok), "--select", "C", "--no-progress", *args])


def test_cli_exit_codes_for_corpora(tmp_path):
    (tmp_path / "good.jsonl").write_bytes(_jsonl(["hello world"] * 3))
    (tmp_path / "bad.jsonl").write_bytes(b"{oops\n")
    result = _lint(tmp_path, "--corpus", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 2 and "no usable document" in result.output and "invalid JSON (1)" in result.output
    result = _lint(tmp_path, "--corpus", str(tmp_path / "nothing-here"))
    assert result.exit_code == 2 and "nothing could be read" in result.output
    result = _lint(tmp_path, "--corpus", str(tmp_path / "good.jsonl"), "--corpus", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 0, result.output
    assert "warning: corpus: 3 documents from 2 file(s); 1 bad records: invalid JSON (1)" in result.output
    result = _lint(tmp_path, "--corpus", str(tmp_path / "good.jsonl"), "--max-documents", "0")
    assert result.exit_code == 2


def test_cli_corpus_options_reach_the_report(tmp_path):
    (tmp_path / "c.jsonl").write_bytes(_jsonl(["hello world", "hello", "world hello"], field="body"))
    (tmp_path / "m.txt").write_text("hello\nworld\n", encoding="utf-8")
    result = _lint(
        tmp_path,
        "--corpus",
        str(tmp_path / "c.jsonl"),
        "--text-field",
        "body",
        "--max-documents",
        "2",
        "--model-corpus",
        str(tmp_path / "m.txt"),
        "--doc-per-line",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    sections = report["artifacts"][0]["sections"]
    assert sections["corpus_stats"]["documents"] == 2
    assert sections["corpus_stats"]["read"]["truncated_at_max_documents"] is True


@pytest.mark.slow
def test_enormous_document_through_the_cli(tmp_path):
    """A 22 MB document (one file): scanned in pieces. Encoded whole it peaks near 2.8 GB
    (measured); in pieces 110-450 MB depending on the allocator's arenas under load."""
    text = ("lorem ipsum dolor sit amet " * 8 + "\n") * 100_000
    (tmp_path / "big.txt").write_text(text, encoding="utf-8")
    tok = tmp_path / "tokenizer.json"
    tok.write_text(json.dumps(byte_level_bpe(["lorem", " ipsum", " dolor"])), encoding="utf-8")
    code = (
        "import resource, sys; from auditor.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'RC', rc)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "lint",
            str(tok),
            "--select",
            "C104",
            "--corpus",
            str(tmp_path / "big.txt"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=os.getcwd(),
        timeout=600,
        check=False,
    )
    tail = out.stdout.strip().splitlines()[-1].split()
    assert tail[-1] == "0", out.stderr
    report = json.loads(out.stdout[: out.stdout.rindex("RSS")])
    section = report["artifacts"][0]["sections"]["corpus_stats"]
    assert section["chunked_documents"] == 1 and section["documents"] == 1
    rss_mb = int(tail[1]) / 1024
    assert rss_mb < 1000, rss_mb
