"""The cache wired into the engine: hits skip the work, reports stay byte for byte the same,
bad entries are rebuilt, --no-cache / --cache-dir / clean."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor import loaders
from auditor.analyses.vocabulary import analyze_vocabulary
from auditor.cache import Cache
from auditor.cli import app
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer
from auditor.store import CACHED

runner = CliRunner()


@pytest.fixture
def tok(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tokenizer.json"
    spec = byte_level_bpe([" hello", "  "], orphans=["zz"], added=[{"content": "  ", "special": False}])
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _count_loads(monkeypatch):
    calls = []
    real = loaders.load_tokenizer

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr("auditor.engine.load_tokenizer", counting)
    return calls


def test_second_run_is_a_hit_and_reports_are_identical(tok, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    calls = _count_loads(monkeypatch)
    outs = []
    for _ in range(2):
        res = runner.invoke(app, ["lint", str(tok), "--format", "json", "--cache-dir", str(cache_dir)])
        assert res.exit_code == 1
        outs.append(res.stdout)
    assert len(calls) == 1  # the unchanged tokenizer was not loaded again
    assert outs[0] == outs[1]
    nocache = runner.invoke(app, ["lint", str(tok), "--format", "json", "--no-cache"]).stdout
    assert nocache == outs[0] and len(calls) == 2
    assert (cache_dir / "CACHEDIR.TAG").is_file() and (cache_dir / ".gitignore").read_text().endswith("*\n")
    for fmt in ("text", "sarif"):  # every format renders the same from a cached outcome
        a = runner.invoke(app, ["lint", str(tok), "--format", fmt, "--cache-dir", str(cache_dir)]).stdout
        assert a == runner.invoke(app, ["lint", str(tok), "--format", fmt, "--no-cache"]).stdout


def test_changed_content_or_options_miss(tok, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    calls = _count_loads(monkeypatch)
    runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir)])
    runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--rule-option", "V105.max-examples=2"])
    assert len(calls) == 2  # other options: another outcome
    tok.write_text(json.dumps(byte_level_bpe([" hello"])), encoding="utf-8")
    res = runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--format", "json"])
    assert len(calls) == 3 and res.exit_code == 0  # new content: linted again, the old findings are gone


def test_moved_file_hits_under_its_new_name(tok, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir)])
    moved = tmp_path / "moved.json"
    tok.rename(moved)
    calls = _count_loads(monkeypatch)
    res = runner.invoke(app, ["lint", "moved.json", "--cache-dir", str(cache_dir), "--format", "json"])
    report = json.loads(res.stdout)
    assert calls == [] and report["artifacts"][0]["path"] == "moved.json"
    assert {f["artifact"] for f in report["findings"]} == {"moved.json"}


def test_corrupt_entries_are_rebuilt(tok, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    first = runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--format", "json"]).stdout
    entries = sorted(e for e in cache_dir.glob("*/*.*") if not e.name.startswith("."))
    assert {e.parent.name for e in entries} == {"outcome", "analysis-vocabulary"}
    for e in entries:
        e.write_bytes(b"PK\x03\x04 not a zip at all")
    calls = _count_loads(monkeypatch)
    again = runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--format", "json"]).stdout
    assert again == first and len(calls) == 1
    assert all(e.stat().st_size > 100 for e in entries)  # rewritten
    assert {e.suffix for e in entries} == {".json", ".npz"}  # the outcome needs no numpy to load


def test_analysis_cache_is_used_by_another_rule_selection(tok, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--select", "V101"])
    ran = []
    monkeypatch.setattr(
        "auditor.analyses.vocabulary.analyze_vocabulary", lambda view: ran.append(1) or analyze_vocabulary(view)
    )
    res = runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir), "--select", "V101,V102"])
    assert res.exit_code == 1 and ran == []  # another outcome, but the vocabulary analysis came from disk
    runner.invoke(app, ["lint", str(tok), "--no-cache", "--select", "V101,V102"])
    assert ran == [1]


@pytest.mark.parametrize(
    "spec",
    [
        byte_level_bpe([" hello", " world"], orphans=["zz", "\u00e9\u00e9"]),
        sentencepiece_bpe(["hello", "world"]),
    ],
)
def test_vocabulary_analysis_round_trips(spec, write_tokenizer):
    view = load_tokenizer(write_tokenizer(spec))
    a = analyze_vocabulary(view)
    doc, arrays = CACHED["vocabulary"].dump(a)
    b = CACHED["vocabulary"].load(json.loads(json.dumps(doc)), arrays)
    assert a == b and a.paper_counts() == b.paper_counts()


def test_foreign_payload_is_a_miss(tmp_path):
    """A well-formed entry whose payload does not fit the analysis is recomputed."""
    from auditor.core import RunInputs
    from auditor.store import AnalysisStore

    cache = Cache(tmp_path)
    spec = byte_level_bpe([" hi"])
    path = tmp_path / "t.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    store = AnalysisStore(load_tokenizer(path), RunInputs(cache=cache), artifact_key="k")
    key = Cache.key("analysis-vocabulary", "k", [])
    cache.store("analysis-vocabulary", key, {"size": 1}, {})
    result = store.get("vocabulary")
    assert result.paper_counts()["single_byte"] == 256 and cache.misses == 1


def test_clean(tmp_path, monkeypatch, tok):
    cache_dir = tmp_path / "c"
    runner.invoke(app, ["lint", str(tok), "--cache-dir", str(cache_dir)])
    res = runner.invoke(app, ["clean", "--cache-dir", str(cache_dir)])
    assert res.exit_code == 0 and not cache_dir.exists()
    assert "no cache" in runner.invoke(app, ["clean", "--cache-dir", str(cache_dir)]).stdout
    precious = tmp_path / "project"
    precious.mkdir()
    res = runner.invoke(app, ["clean", "--cache-dir", str(precious)])
    assert res.exit_code == 2 and precious.exists() and "not a tokaudit cache" in res.stderr


def test_default_cache_dir_is_project_local(tok, tmp_path, monkeypatch):
    monkeypatch.delenv("TOKAUDIT_CACHE_DIR")
    runner.invoke(app, ["lint", str(tok)])
    assert (tmp_path / ".tokaudit_cache" / "CACHEDIR.TAG").is_file()


def test_outcome_cache_sees_the_lock_and_neighbour_files(tok, tmp_path):
    """A cached outcome must not outlive a change beside the artifact: the lock (P111)
    and tokenizer_config.json (P rules) are part of the key."""
    assert runner.invoke(app, ["lock", str(tok)]).exit_code == 0
    first = runner.invoke(app, ["lint", str(tok), "--select", "P111", "--format", "json"])
    assert first.exit_code == 0 and json.loads(first.stdout)["findings"] == []
    lock = tmp_path / "tokaudit.lock"
    other = tmp_path / "other"
    other.mkdir()
    spec = byte_level_bpe([" world", "  "], orphans=["qq"])
    (other / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    assert (
        runner.invoke(app, ["lock", str(other / "tokenizer.json"), "--lock", str(tmp_path / "o.lock")]).exit_code == 0
    )
    # The same artifact key in the lock, another tokenizer's encodings in it.
    data = json.loads(lock.read_text(encoding="utf-8"))
    other_entry = next(iter(json.loads((tmp_path / "o.lock").read_text(encoding="utf-8"))["artifacts"].values()))
    key = next(iter(data["artifacts"]))
    data["artifacts"][key] = other_entry
    lock.write_text(json.dumps(data, indent=2), encoding="utf-8")
    second = runner.invoke(app, ["lint", str(tok), "--select", "P111", "--format", "json"])
    assert [f["code"] for f in json.loads(second.stdout)["findings"]] == ["P111"]
