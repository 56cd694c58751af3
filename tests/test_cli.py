"""The command line: lint in both formats, exit codes, rules, explain, version, real subprocess runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor import __version__
from auditor.cli import app
from auditor.fixtures import byte_level_bpe

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "sample_corpora" / "demo" / "tokenizer.json"
runner = CliRunner()


@pytest.fixture
def clean(write_tokenizer):
    return write_tokenizer(byte_level_bpe([" hello", " world"]), "clean.json")


@pytest.fixture
def broken(write_tokenizer):
    spec = byte_level_bpe([" hello", "  "], orphans=["zz"], added=[{"content": "  ", "special": False}])
    return write_tokenizer(spec, "broken.json")


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"tokaudit {__version__}"


def test_clean_tokenizer_exits_zero(clean):
    res = runner.invoke(app, ["lint", str(clean)])
    assert res.exit_code == 0, res.output
    assert "paper counts: single-byte 256 · special 0 · unreachable 0 · partial UTF-8 0" in res.stdout
    assert res.stderr == ""  # no progress when stderr is not a terminal


def test_errors_exit_one_and_exit_zero_and_fail_on(broken):
    assert runner.invoke(app, ["lint", str(broken)]).exit_code == 1
    assert runner.invoke(app, ["lint", str(broken), "--exit-zero"]).exit_code == 0
    assert runner.invoke(app, ["lint", str(broken), "--fail-on", "never"]).exit_code == 0
    # only warnings/info left once V101 is ignored: fail-on error passes, fail-on warning fails
    assert runner.invoke(app, ["lint", str(broken), "--ignore", "V101"]).exit_code == 0
    assert runner.invoke(app, ["lint", str(broken), "--ignore", "V101", "--fail-on", "warning"]).exit_code == 1


def test_json_report_schema(broken, tmp_path):
    out = tmp_path / "report.json"
    res = runner.invoke(app, ["lint", str(broken), "--format", "json", "-o", str(out)])
    assert res.exit_code == 1 and res.stdout == ""
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["schema_version"] == 1
    assert report["tool"] == {"name": "tokaudit", "version": __version__}
    art = report["artifacts"][0]
    assert {"path", "format", "vocab_size", "implementation"} <= set(art)
    assert art["format"] == "tokenizer.json" and art["implementation"].startswith("tokenizers ")
    summary = report["summary"]
    assert set(summary["paper_counts"]) == {"single_byte", "special", "unreachable", "partial_utf8"}
    assert summary["paper_counts"]["unreachable"] == 2
    assert "OK" in summary["categories"]
    assert summary["findings"]["error"] == 2
    f = next(f for f in report["findings"] if f["code"] == "V101" and f["token"] == "zz")
    assert set(f) == {"code", "name", "severity", "message", "artifact", "token_id", "token", "details"}
    assert f["name"] == "unreachable-token" and f["severity"] == "error"
    assert f["details"]["cause"] == "no-merge"
    assert f["artifact"] == report["artifacts"][0]["path"]


def test_reports_are_byte_for_byte_deterministic(broken):
    a = runner.invoke(app, ["lint", str(broken), "--format", "json"]).stdout
    b = runner.invoke(app, ["lint", str(broken), "--format", "json"]).stdout
    assert a == b
    assert runner.invoke(app, ["lint", str(broken)]).stdout == runner.invoke(app, ["lint", str(broken)]).stdout


def test_select_and_unknown_selector_warning(broken):
    res = runner.invoke(app, ["lint", str(broken), "--select", "V103,nosuchrule", "--format", "json"])
    codes = {f["code"] for f in json.loads(res.stdout)["findings"]}
    assert codes == {"V103"}
    assert "unknown rule selector(s): nosuchrule" in res.stderr


def test_rule_option(write_tokenizer):
    path = write_tokenizer(byte_level_bpe([" hi"], drop_bytes=[0xF0, 0xF1, 0xF2, 0xF5]))
    res = runner.invoke(app, ["lint", str(path), "--select", "V105", "--rule-option", "V105.max-examples=1"])
    assert "3 byte values that UTF-8 text can contain have no token: 0xF0 and 2 more" in res.stdout
    bad = runner.invoke(app, ["lint", str(path), "--rule-option", "V105.nope=1"])
    assert bad.exit_code == 2 and "valid options: max-examples" in bad.stderr


def test_several_artifacts_in_one_run(clean, broken):
    res = runner.invoke(app, ["lint", str(clean), str(broken), "--format", "json"])
    report = json.loads(res.stdout)
    assert len(report["artifacts"]) == 2
    assert report["summary"]["paper_counts"]["single_byte"] == 512


def test_rules_and_explain():
    res = runner.invoke(app, ["rules"])
    assert res.exit_code == 0 and "V101  unreachable-token" in res.stdout
    listing = json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    assert {r["code"] for r in listing} >= {"V101", "V102", "V103", "V104", "V105"}
    for key in ("V101", "unreachable-token"):
        res = runner.invoke(app, ["explain", key])
        assert res.exit_code == 0
        assert "## Why it matters" in res.stdout and "## How to fix" in res.stdout
    assert "Option defaults:" in runner.invoke(app, ["explain", "V105"]).stdout
    res = runner.invoke(app, ["explain", "V999"])
    assert res.exit_code == 2 and res.stderr.startswith("tokaudit: error: no rule 'V999'")


def test_demo_sample_is_linted_with_its_planted_defects():
    res = runner.invoke(app, ["lint", str(DEMO), "--format", "json"])
    report = json.loads(res.stdout)
    codes = {f["code"] for f in report["findings"]}
    assert {"V101", "V103", "V104", "V106"} <= codes
    causes = {f["details"]["cause"] for f in report["findings"] if f["code"] == "V101"}
    assert causes == {"added-token-shadow"}


def _console_script() -> str:
    found = Path(sys.executable).with_name("tokaudit")
    return str(found) if found.exists() else (shutil.which("tokaudit") or "tokaudit")


def test_installed_console_script_and_module(clean):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    res = subprocess.run([_console_script(), "lint", str(clean)], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert "unreachable 0" in res.stdout and res.stderr == ""
    res = subprocess.run([sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True, env=env)
    assert res.returncode == 0 and res.stdout.strip() == f"tokaudit {__version__}"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from typer.testing import CliRunner; from auditor.cli import app; "
        "CliRunner().invoke(app, ['--help']); "
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'tokenizers', 'sentencepiece') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_tokenizer_lint_runs_without_the_model_extra(clean):
    """A plain `pip install .` is a working linter: linting never imports torch/transformers."""
    code = (
        "import sys; from typer.testing import CliRunner; from auditor.cli import app; "
        f"r = CliRunner().invoke(app, ['lint', {str(clean)!r}]); assert r.exit_code == 0, r.output; "
        "print(','.join(m for m in ('torch', 'transformers', 'datasets', 'gguf') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_empty_selection_is_a_usage_error(clean):
    res = runner.invoke(app, ["lint", str(clean), "--select", "V1O1"])
    assert res.exit_code == 2
    assert "no rule selected" in res.stderr


def test_rule_options_are_validated_even_for_unselected_rules(clean):
    res = runner.invoke(app, ["lint", str(clean), "--select", "V101", "--rule-option", "V105.max-examples=0"])
    assert res.exit_code == 2 and "below the minimum" in res.stderr


def test_the_same_file_twice_is_linted_once(broken):
    res = runner.invoke(app, ["lint", str(broken), str(broken), "--format", "json"])
    report = json.loads(res.stdout)
    assert len(report["artifacts"]) == 1
    assert report["summary"]["findings"]["error"] == 2


def test_report_file_gets_ordinary_permissions(clean, tmp_path):
    out = tmp_path / "r.txt"
    old = os.umask(0o022)
    try:
        assert runner.invoke(app, ["lint", str(clean), "-o", str(out)]).exit_code == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
    out.chmod(0o640)
    runner.invoke(app, ["lint", str(clean), "-o", str(out)])
    assert out.stat().st_mode & 0o777 == 0o640  # an existing report keeps its mode


def test_tiktoken_options_on_other_formats_are_reported(clean):
    res = runner.invoke(app, ["lint", str(clean), "--preset", "r50k_base", "--format", "json"])
    notes = json.loads(res.stdout)["artifacts"][0]["notes"]
    assert any("tiktoken rank files only" in n for n in notes)


def test_a_rules_folder_in_the_working_directory_does_not_shadow_ours(tmp_path, clean):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "__init__.py").write_text("")
    res = subprocess.run(
        [sys.executable, "-m", "auditor", "lint", str(clean)], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "unreachable 0" in res.stdout
