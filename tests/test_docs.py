"""docs/rules.md is generated from the rules: fail when the committed file is stale."""

from __future__ import annotations

from typer.testing import CliRunner

from auditor.cli import app
from auditor.docs import DOCS_FILE, main, rules_markdown
from auditor.registry import all_rules


def test_committed_rules_md_is_up_to_date():
    assert DOCS_FILE.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/rules.md is stale: run `python -m auditor.docs`"
    )


def test_every_rule_and_section_is_documented():
    text = rules_markdown()
    for cls in all_rules(plugins=False):
        assert f"## {cls.code} {cls.name}" in text
        section = text.split(f"## {cls.code} {cls.name}", 1)[1].split("\n## ", 1)[0]
        for heading in ("### What it does", "### Why it matters", "### How to fix"):
            assert heading in section, (cls.code, heading)


def test_check_mode(tmp_path, monkeypatch):
    monkeypatch.setattr("auditor.docs.DOCS_FILE", tmp_path / "rules.md")
    assert main(["--check"]) == 1
    assert main([]) == 0 and main(["--check"]) == 0


def test_explain_matches_the_docstring():
    for cls in all_rules(plugins=False):
        out = CliRunner().invoke(app, ["explain", cls.name]).stdout
        assert cls.doc() in out and out.startswith(f"{cls.code} {cls.name} (default severity: ")
