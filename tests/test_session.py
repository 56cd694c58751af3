"""The session every command goes through: configuration for the audit too, formats refused
before any work, one output path, exit codes decided from typed results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import CliSettings
from auditor.core import UserError
from auditor.fixtures import byte_level_bpe
from auditor.reporters import FORMATS, REPORTERS, formats_for, reporter_for
from auditor.session import AuditRequest, Output, Session

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "sample_corpora" / "tiny_model" / "model"

runner = CliRunner()


@pytest.fixture
def tiny_model(tmp_path):
    """The tiny model in a folder of its own, where a test can put a configuration file."""
    folder = tmp_path / "project" / "model"
    shutil.copytree(TINY, folder)
    return folder


def _audit_json(args: list[str]) -> tuple[int, dict]:
    res = runner.invoke(app, ["audit", *args, "--format", "json", "--no-progress", "--no-cache"])
    return res.exit_code, json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}


def test_audit_applies_the_configuration_found_from_the_model(tiny_model):
    code, plain = _audit_json([str(tiny_model)])
    assert code == 0 and {f["code"] for f in plain["findings"]} >= {"M104"}
    (tiny_model.parent / "tokaudit.toml").write_text('ignore = ["M104"]\n', encoding="utf-8")
    code, ignored = _audit_json([str(tiny_model)])
    assert code == 0 and "M104" not in {f["code"] for f in ignored["findings"]}
    assert "M104" not in ignored["rules"]["run"]


def test_audit_severity_and_fail_on_from_the_configuration(tiny_model, monkeypatch):
    (tiny_model.parent / "tokaudit.toml").write_text(
        'fail-on = "warning"\n[severity]\nM104 = "warning"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tiny_model.parent)  # run settings (fail-on) come from the working directory
    code, report = _audit_json([str(tiny_model)])
    assert code == 1
    assert {f["severity"] for f in report["findings"] if f["code"] == "M104"} == {"warning"}


def test_audit_allowlist_and_baseline_from_the_configuration(tiny_model, monkeypatch):
    monkeypatch.chdir(tiny_model.parent)
    baseline = tiny_model.parent / "baseline.json"
    res = runner.invoke(app, ["audit", str(tiny_model), "--no-progress", "--no-cache", "--fail-on", "info"])
    assert res.exit_code == 1  # M104 is info: it fails at --fail-on info
    (tiny_model.parent / "tokaudit.toml").write_text(f'baseline = "{baseline.name}"\n', encoding="utf-8")
    session = Session(selection=CliSettings())
    result = session.audit_result(AuditRequest(model=str(tiny_model)))
    from auditor.baseline import write_baseline

    write_baseline(baseline, result.findings)
    res = runner.invoke(app, ["audit", str(tiny_model), "--no-progress", "--no-cache", "--fail-on", "info"])
    assert res.exit_code == 0, res.output  # every finding is in the configured baseline


def test_audit_without_any_rule_left_is_refused(tiny_model):
    (tiny_model.parent / "tokaudit.toml").write_text('ignore = ["M"]\n', encoding="utf-8")
    res = runner.invoke(app, ["audit", str(tiny_model), "--no-progress", "--no-cache"])
    assert res.exit_code == 2 and "no rule selected" in res.output


@pytest.mark.parametrize("fmt", ["sarif", "github", "junit", "yaml"])
def test_diff_refuses_a_format_it_cannot_render_before_any_work(fmt, tmp_path):
    missing = tmp_path / "nothing-here.json"  # would fail to load: the format is refused first
    res = runner.invoke(app, ["diff", str(missing), str(missing), "--format", fmt])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines == [f"tokaudit: error: --format {fmt}: tokaudit diff renders text, json, markdown"]


def test_lint_refuses_an_unknown_format_in_one_line(write_tokenizer):
    path = write_tokenizer(byte_level_bpe(["hello"]))
    res = runner.invoke(app, ["lint", str(path), "--format", "yaml"])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0 and "--format yaml" in res.output


def test_diff_renders_json_and_markdown(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(byte_level_bpe(["hello", " world"])), encoding="utf-8")
    b.write_text(json.dumps(byte_level_bpe(["hello"])), encoding="utf-8")
    res = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["identical"] is False and doc["vocabulary"]["removed"]
    res = runner.invoke(app, ["diff", str(a), str(b), "--format", "markdown", "-o", str(tmp_path / "d.md")])
    assert res.exit_code == 1 and res.stdout == ""
    text = (tmp_path / "d.md").read_text(encoding="utf-8")
    assert text.startswith("## tokaudit diff: different\n") and "| removed |" in text
    assert runner.invoke(app, ["diff", str(a), str(a), "--format", "markdown"]).stdout.startswith(
        "## tokaudit diff: identical\n"
    )


def test_every_reporter_renders_lint_and_audit_and_the_registry_is_complete():
    assert set(FORMATS) == set(REPORTERS)
    assert formats_for("lint") == formats_for("audit") == FORMATS
    assert formats_for("diff") == ("text", "json", "markdown")
    assert formats_for("config") == ("text", "json")
    with pytest.raises(UserError, match="tokaudit config renders text, json"):
        reporter_for("sarif", "config")


def test_a_report_is_written_completely_or_not_at_all(tmp_path, write_tokenizer):
    path = write_tokenizer(byte_level_bpe(["hello"]))
    target = tmp_path / "missing-folder" / "report.txt"
    session = Session(output=Output(path=target))
    with pytest.raises(UserError, match="no folder"):
        session.lint([path])
    assert not target.parent.exists()
    existing = tmp_path / "report.json"
    existing.write_text("previous", encoding="utf-8")
    Session(output=Output(format="json", path=existing)).lint([path])
    assert json.loads(existing.read_text(encoding="utf-8"))["schema_version"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []  # no temporary left


def test_audit_exit_code_when_verification_cannot_run_comes_from_the_typed_status(tmp_path):
    """A checkpoint without its weights: the indicators are reported, verification is not, exit 2."""
    folder = tmp_path / "model"
    shutil.copytree(TINY, folder)
    (folder / "model.safetensors").unlink()
    res = runner.invoke(app, ["audit", str(folder), "--verify", "--no-progress", "--no-cache"])
    assert res.exit_code == 2
