"""Baselines: write, then fail only on new findings; fingerprints ignore ids and the working directory."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fixtures import byte_level_bpe

runner = CliRunner()


def _spec(words, orphans=()):
    return byte_level_bpe(words, orphans=list(orphans))


@pytest.fixture
def tok(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(_spec([" hello"], ["zz"])), encoding="utf-8")
    return path


def test_write_then_use_baseline(tok, tmp_path):
    base = tmp_path / "baseline.json"
    assert runner.invoke(app, ["lint", str(tok)]).exit_code == 1
    res = runner.invoke(app, ["lint", str(tok), "--write-baseline", str(base), "--format", "json"])
    assert res.exit_code == 0, res.output  # everything is now baselined
    doc = json.loads(base.read_text(encoding="utf-8"))
    entry = next(e for e in doc["findings"] if e["code"] == "V101")
    assert entry["artifact"] == "tokenizer.json" and entry["token_or_message"] == "zz"
    assert "token_id" not in entry  # ids are not part of it
    res = runner.invoke(app, ["lint", str(tok), "--baseline", str(base), "--format", "json"])
    assert res.exit_code == 0
    report = json.loads(res.stdout)
    assert report["baseline"]["new"] == 0 and report["baseline"]["stale"] == []
    assert {f["baseline"] for f in report["findings"]} == {"baselined"}


def test_new_finding_fails_and_fixed_one_is_stale(tok, tmp_path):
    base = tmp_path / "baseline.json"
    runner.invoke(app, ["lint", str(tok), "--write-baseline", str(base)])
    # another orphan added, the old one removed: ids shift, the fingerprints do not care
    tok.write_text(json.dumps(_spec([" hello", " world"], ["qq"])), encoding="utf-8")
    res = runner.invoke(app, ["lint", str(tok), "--baseline", str(base), "--format", "json"])
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    new = [f for f in report["findings"] if f["baseline"] == "new"]
    assert [(f["code"], f["token"]) for f in new] == [("V101", "qq")]
    assert [(e["code"], e["token_or_message"]) for e in report["baseline"]["stale"]] == [("V101", "zz")]
    text = runner.invoke(app, ["lint", str(tok), "--baseline", str(base)]).stdout
    assert "1 stale entry" in text and "stale: tokenizer.json V101 zz" in text


def test_ids_moving_keeps_findings_baselined(tok, tmp_path):
    base = tmp_path / "baseline.json"
    runner.invoke(app, ["lint", str(tok), "--write-baseline", str(base)])
    spec = _spec([" hello", " help", " hero"], ["zz"])  # more merges: "zz" gets another id
    tok.write_text(json.dumps(spec), encoding="utf-8")
    res = runner.invoke(app, ["lint", str(tok), "--baseline", str(base), "--format", "json"])
    report = json.loads(res.stdout)
    zz = next(f for f in report["findings"] if f["token"] == "zz")
    assert zz["baseline"] == "baselined" and res.exit_code == 0


def test_baseline_works_from_another_working_directory(tok, tmp_path, monkeypatch):
    base = tmp_path / "baseline.json"
    runner.invoke(app, ["lint", str(tok), "--write-baseline", str(base)])
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    res = runner.invoke(app, ["lint", "../tokenizer.json", "--baseline", "../baseline.json"])
    assert res.exit_code == 0, res.output


def test_baseline_from_config(tok, tmp_path):
    runner.invoke(app, ["lint", str(tok), "--write-baseline", str(tmp_path / "b.json")])
    (tmp_path / "tokaudit.toml").write_text("baseline = 'b.json'\n", encoding="utf-8")
    from auditor.config import clear_memo

    clear_memo()
    assert runner.invoke(app, ["lint", str(tok)]).exit_code == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such baseline file"),
        ("{not json", "invalid JSON"),
        ('{"findings": []}', "not a tokaudit baseline"),
        ('{"tokaudit_baseline": 1, "findings": [{"code": 1}]}', "malformed baseline entry"),
    ],
)
def test_bad_baseline_is_exit_two(tok, tmp_path, content, message):
    base = tmp_path / "b.json"
    if content is not None:
        base.write_text(content, encoding="utf-8")
    res = runner.invoke(app, ["lint", str(tok), "--baseline", str(base)])
    assert res.exit_code == 2 and message in res.stderr and len(res.stderr.splitlines()) == 1


def test_duplicate_fingerprints_are_counted(tmp_path, monkeypatch):
    """Two dead copies of the same bytes have one fingerprint: the baseline keeps a count."""
    from auditor.baseline import apply_baseline, write_baseline
    from auditor.core import ArtifactResult, Finding, LintResult, Severity

    monkeypatch.chdir(tmp_path)
    f = Finding("V103", "duplicate-token-bytes", Severity.WARNING, "dup", "t.json", 5, "ab", token_bytes=b"ab")
    g = Finding("V103", "duplicate-token-bytes", Severity.WARNING, "dup", "t.json", 6, "ab", token_bytes=b"ab")
    art = ArtifactResult(description={"path": "t.json"})
    write_baseline(tmp_path / "b.json", [f])
    result = LintResult([art], [f, g], ["V103"], {})
    apply_baseline(result, tmp_path / "b.json")
    assert [x.baselined for x in result.findings] == [True, False]
    assert result.baseline.new == 1


def test_entries_of_rules_not_run_are_not_stale(tok, tmp_path):
    base = tmp_path / "baseline.json"
    runner.invoke(app, ["lint", str(tok), "--write-baseline", str(base)])
    res = runner.invoke(app, ["lint", str(tok), "--baseline", str(base), "--select", "V105", "--format", "json"])
    assert json.loads(res.stdout)["baseline"]["stale"] == []
