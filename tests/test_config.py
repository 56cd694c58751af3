"""Configuration: discovery upward, validation with the valid keys, CLI wins, per-path ignores, allowlists."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import (
    CliSettings,
    find_config,
    load_config,
    resolve_selection,
    rule_settings,
)
from auditor.core import UserError
from auditor.fixtures import byte_level_bpe
from auditor.registry import all_rules

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project: pyproject.toml at the top, a broken tokenizer two folders down."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "models" / "tok"
    folder.mkdir(parents=True)
    spec = byte_level_bpe([" hello", "  "], orphans=["zz"], added=[{"content": "  ", "special": False}])
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return tmp_path, path


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    from auditor.config import clear_memo

    clear_memo()


def _codes(res):
    return sorted({f["code"] for f in json.loads(res.stdout)["findings"]})


def test_found_upward_and_tokaudit_toml_wins(project):
    root, tok = project
    _write(root / "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.tokaudit]: passed over
    assert find_config(tok) is None
    _write(root / "pyproject.toml", "[tool.tokaudit]\nignore = ['V103']\n")
    assert find_config(tok) == (root / "pyproject.toml").resolve()
    _write(root / "models" / "tokaudit.toml", "select = ['V101']\n")
    assert find_config(tok) == (root / "models" / "tokaudit.toml").resolve()
    res = runner.invoke(app, ["lint", str(tok), "--format", "json"])
    assert _codes(res) == ["V101"]


def test_select_ignore_severity_and_cli_wins(project):
    root, tok = project
    _write(root / "tokaudit.toml", "ignore = ['V101']\n[severity]\nduplicate-token-bytes = 'error'\n")
    res = runner.invoke(app, ["lint", str(tok), "--format", "json"])
    report = json.loads(res.stdout)
    assert _codes(res) == ["V103"] and report["findings"][0]["severity"] == "error"
    assert res.exit_code == 1  # the severity override makes it fail
    # CLI select starts afresh: V101 comes back although the file ignores it
    assert _codes(runner.invoke(app, ["lint", str(tok), "--format", "json", "--select", "V101"])) == ["V101"]
    # CLI ignore adds to the file's
    res = runner.invoke(app, ["lint", str(tok), "--format", "json", "--ignore", "V103"])
    assert res.exit_code == 0 and _codes(res) == []
    assert runner.invoke(app, ["lint", str(tok), "--ignore", "ALL"]).exit_code == 2  # nothing selected


def test_layered_selection():
    rules = all_rules()
    picked, unknown = resolve_selection([(None, [], ["V10"]), (None, ["V101"], [])], rules)
    codes = [c.code for c in picked]
    assert [c for c in codes if c.startswith("V10")] == ["V101"] and unknown == []
    assert codes == [c.code for c in rules if not c.code.startswith("V10") or c.code == "V101"]
    picked, unknown = resolve_selection([(["V1"], [], []), (["nope"], [], [])], rules)
    assert picked == [] and unknown == ["nope"]


def test_rule_options_validated_with_valid_keys(project):
    root, tok = project
    _write(root / "tokaudit.toml", "[rules.V105]\nmax-exampels = 3\n")
    res = runner.invoke(app, ["lint", str(tok)])
    assert res.exit_code == 2
    assert "has no option 'max-exampels'; valid options: max-examples" in res.stderr
    assert str(root / "tokaudit.toml") in res.stderr and len(res.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("selct = ['V1']\n", "unknown key(s) selct; valid keys: select, extend-select, ignore"),
        ("[severity]\nV101 = 'fatal'\n", "expected error, warning or info"),
        ("[severity]\nV999 = 'error'\n", "no rule 'V999'"),
        ("fail-on = 'sometimes'\n", "fail-on = 'sometimes'"),
        ("[allowlist]\nV101 = [1.5]\n", "expected a list of token ids"),
        ("select = 'V1\n", "invalid TOML"),
        ("[rules.V105]\nmax-examples = 0\n", "below the minimum"),
    ],
)
def test_bad_config_is_one_line_exit_two(project, text, message):
    root, tok = project
    _write(root / "tokaudit.toml", text)
    res = runner.invoke(app, ["lint", str(tok)])
    assert res.exit_code == 2 and message in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr


def test_per_path_ignores_and_allowlists(project):
    root, tok = project
    _write(
        root / "tokaudit.toml", "[per-path-ignores]\n'models/*/tokenizer.json' = ['V103']\n[allowlist]\nV101 = ['zz']\n"
    )
    res = runner.invoke(app, ["lint", str(tok), "--format", "json"])
    report = json.loads(res.stdout)
    assert [(f["code"], f["token"]) for f in report["findings"]] == [("V101", "  ")]
    assert report["suppressed"] == 2
    # by id, and a basename pattern
    ids = [f["token_id"] for f in report["findings"]]
    _write(root / "tokaudit.toml", f"[per-path-ignores]\n'tokenizer.json' = ['V103']\n[allowlist]\nV101 = [{ids[0]}]\n")
    res = runner.invoke(app, ["lint", str(tok), "--format", "json"])
    assert [f["token"] for f in json.loads(res.stdout)["findings"]] == ["zz"]


def test_raw_token_text_in_allowlist(project):
    root, tok = project
    _write(root / "tokaudit.toml", "[allowlist]\nunreachable-token = ['  ', 'zz']\n")
    res = runner.invoke(app, ["lint", str(tok), "--format", "json", "--select", "V101"])
    assert json.loads(res.stdout)["findings"] == [] and res.exit_code == 0


def test_each_artifact_gets_its_own_configuration(project, tmp_path):
    root, tok = project
    other = root / "other" / "tokenizer.json"
    other.parent.mkdir()
    other.write_bytes(tok.read_bytes())
    _write(root / "models" / "tokaudit.toml", "select = ['V103']\n")
    res = runner.invoke(app, ["lint", str(other), str(tok), "--format", "json"])
    report = json.loads(res.stdout)
    assert [a["path"] for a in report["artifacts"]] == ["other/tokenizer.json", "models/tok/tokenizer.json"]
    by_art = {}
    for f in report["findings"]:
        by_art.setdefault(f["artifact"], set()).add(f["code"])
    assert by_art["models/tok/tokenizer.json"] == {"V103"}
    assert by_art["other/tokenizer.json"] == {"V101", "V103"}


def test_run_settings_fail_on_from_working_directory(project):
    root, tok = project
    _write(root / "tokaudit.toml", "fail-on = 'never'\n")
    assert runner.invoke(app, ["lint", str(tok)]).exit_code == 0
    assert runner.invoke(app, ["lint", str(tok), "--fail-on", "error"]).exit_code == 1  # CLI wins


def test_config_command_prints_effective_configuration(project):
    root, tok = project
    _write(
        root / "tokaudit.toml",
        "ignore = ['V106']\nfail-on = 'warning'\n[rules.V105]\nmax-examples = 3\n[severity]\nV102 = 'warning'\n",
    )
    res = runner.invoke(app, ["config", str(tok)])
    assert res.exit_code == 0, res.output
    import tomllib

    data = tomllib.loads(res.stdout)
    assert data["config-file"] == str((root / "tokaudit.toml").resolve())
    assert "V106" not in data["select"] and "V101" in data["select"]
    assert data["fail-on"] == "warning" and data["severity"]["V102"] == "warning"
    assert data["rules"]["V105"] == {"max-examples": 3}
    res = runner.invoke(
        app, ["config", str(tok), "--format", "json", "--rule-option", "V105.max-examples=7", "--fail-on", "info"]
    )
    data = json.loads(res.stdout)
    assert data["rules"]["V105"] == {"max-examples": 7} and data["fail-on"] == "info"


def test_load_config_direct(tmp_path):
    p = tmp_path / "tokaudit.toml"
    p.write_text("baseline = 'b.json'\ncache-dir = 'c'\n", encoding="utf-8")
    cfg = load_config(p)
    assert cfg.baseline == tmp_path.resolve() / "b.json" and cfg.cache_dir == tmp_path.resolve() / "c"
    settings = rule_settings(cfg, CliSettings(select=("V105",), rule_options={"V105": {"max-examples": 2}}))
    assert [r.code for r in settings.rules] == ["V105"] and settings.rules[0].option_values["max-examples"] == 2
    with pytest.raises(UserError):
        p.write_text("baseline = 3\n", encoding="utf-8")
        load_config(p)


def test_junit_lists_the_rules_each_artifact_ran(project):
    import xml.etree.ElementTree as ET

    root, tok = project
    other = root / "other" / "tokenizer.json"
    other.parent.mkdir()
    other.write_bytes(tok.read_bytes())
    _write(root / "models" / "tokaudit.toml", "select = ['V103']\n")
    res = runner.invoke(app, ["lint", str(other), str(tok), "--format", "junit"])
    suites = {s.get("name"): s for s in ET.fromstring(res.stdout).findall("testsuite")}
    assert [c.get("name") for c in suites["models/tok/tokenizer.json"].findall("testcase")] == [
        "V103 duplicate-token-bytes"
    ]
    from auditor.registry import all_rules

    cases = suites["other/tokenizer.json"].findall("testcase")
    assert len(cases) == len(all_rules())  # the default selection: every rule, run or skipped
    skipped = [c.get("name").split()[0] for c in cases if c.find("skipped") is not None]
    assert skipped == sorted(c.code for c in all_rules() if not c.requires <= {"tokenizer"})
