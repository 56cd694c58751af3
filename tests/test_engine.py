"""Engine, registry, selection, options, determinism, lazy analyses."""

from __future__ import annotations

import pytest

from auditor.core import Finding, Severity, UserError
from auditor.engine import run_lint
from auditor.fixtures import byte_level_bpe
from auditor.registry import all_rules, find_rule, select_rules
from auditor.rulebase import Example, Option, Rule
from rules.vocabulary.byte_coverage import MissingByteCoverage


def test_codes_and_names_unique_and_wellformed():
    classes = all_rules(plugins=False)
    assert len({c.code for c in classes}) == len(classes)
    assert len({c.name for c in classes}) == len(classes)
    for c in classes:
        c.validate_class()


@pytest.mark.parametrize(
    ("select", "ignore", "expected"),
    [
        (None, [], None),  # default: all
        (["V101"], [], ["V101"]),
        (["unreachable-token"], [], ["V101"]),
        (["v10"], [], [f"V10{k}" for k in range(1, 8)]),  # prefix, case-insensitive
        (["ALL"], ["V102", "reserved-token"], "all-but"),
    ],
)
def test_selection(select, ignore, expected):
    codes = [c.code for c in all_rules(plugins=False)]
    sel = select_rules(select, [], ignore, rules=all_rules(plugins=False))
    got = [c.code for c in sel.rules]
    if expected is None:
        assert got == codes
    elif expected == "V10":
        assert got == [c for c in codes if c.startswith("V10")]
    elif expected == "all-but":
        assert got == [c for c in codes if c not in ("V102", "V106")]
    else:
        assert got == expected
    assert sel.unknown == ()


def test_unknown_selectors_are_reported():
    sel = select_rules(["V999", "nope"], [], ["X1"], rules=all_rules(plugins=False))
    assert sel.rules == ()
    assert sel.unknown == ("V999", "nope", "X1")


def test_find_rule_by_code_or_name():
    assert find_rule("v101").name == "unreachable-token"
    assert find_rule("missing-byte-coverage").code == "V105"
    assert find_rule("nothing") is None


def test_option_validation():
    assert MissingByteCoverage({"max-examples": 3}).option_values["max-examples"] == 3
    with pytest.raises(UserError, match="no option 'nope'; valid options: max-examples"):
        MissingByteCoverage({"nope": 1})
    with pytest.raises(UserError, match="expected int"):
        MissingByteCoverage({"max-examples": "many"})
    with pytest.raises(UserError, match="below the minimum"):
        MissingByteCoverage({"max-examples": 0})
    opt = Option("share", 0.9, "x", minimum=0.0, maximum=1.0)
    assert opt.validate("R", 1) == 1.0
    with pytest.raises(UserError):
        opt.validate("R", True)


def test_only_needed_analyses_are_computed(write_tokenizer):
    path = write_tokenizer(byte_level_bpe([" hello"]))
    cheap = run_lint([path], [MissingByteCoverage()])
    assert cheap.artifacts[0].analyses == []
    assert cheap.artifacts[0].paper_counts is None
    full = run_lint([path], [cls() for cls in all_rules(plugins=False)])
    runnable = [cls for cls in all_rules(plugins=False) if cls.requires <= {"tokenizer"}]
    assert full.artifacts[0].analyses == sorted({a for cls in runnable for a in cls.uses})
    assert full.artifacts[0].paper_counts["single_byte"] == 256


class _Undeclared(Rule):
    """Reads an analysis it did not declare.

    ## What it does
    Nothing good.
    """

    code = "X901"
    name = "undeclared"
    severity = Severity.INFO

    def check(self, ctx):
        ctx.analysis("vocabulary")
        return iter(())


def test_rules_must_declare_the_analyses_they_read(write_tokenizer):
    path = write_tokenizer(byte_level_bpe([" hello"]))
    with pytest.raises(RuntimeError, match="without declaring"):
        run_lint([path], [_Undeclared()])


class _NeedsModel(Rule):
    """Needs a model.

    ## What it does
    Would look at embeddings.
    """

    code = "X902"
    name = "needs-model"
    severity = Severity.ERROR
    requires = frozenset({"tokenizer", "model"})

    def check(self, ctx):  # pragma: no cover - must be skipped
        raise AssertionError("ran without a model")


def test_rules_whose_requirements_are_missing_are_skipped(write_tokenizer):
    path = write_tokenizer(byte_level_bpe([" hello"]))
    result = run_lint([path], [_NeedsModel()])
    assert result.rules_skipped == {"X902": "needs model"}
    assert result.rules_run == []


def test_findings_sorted_and_failing(write_tokenizer):
    spec = byte_level_bpe([" hello"], orphans=["zz", "qq"], added=[{"content": "<|e|>", "special": True}])
    path = write_tokenizer(spec)
    result = run_lint([path], [cls() for cls in all_rules(plugins=False)])
    keys = [f.sort_key() for f in result.findings]
    assert keys == sorted(keys)
    assert result.failing("error")
    assert not any(f.fails("error") for f in result.findings if f.severity is not Severity.ERROR)
    assert any(f.fails("warning") for f in result.findings if f.severity is Severity.WARNING)
    assert not result.failing("never")


def test_severity_override_and_frozen_findings():
    rule = MissingByteCoverage(severity=Severity.ERROR)
    assert rule.severity is Severity.ERROR and MissingByteCoverage.severity is Severity.WARNING
    f = Finding("V101", "unreachable-token", Severity.ERROR, "m", "a", 1, "t", {"x": 1})
    with pytest.raises(AttributeError):
        f.code = "V102"  # type: ignore[misc]


def test_example_dataclass_defaults():
    ex = Example("d", {"model": {}})
    assert ex.flagged == () and dict(ex.options) == {}
