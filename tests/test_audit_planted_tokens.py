"""The audit on the tiny trained fixture model (sample_corpora/tiny_model): planted tokens.

The fixture's tokenizer holds tokens its training data never contains (planted.json);
the indicators must rank them among the candidates, and the full `tokaudit audit
--verify` run must carry the verification through every output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app

TINY = Path(__file__).resolve().parent.parent / "sample_corpora" / "tiny_model" / "model"


@pytest.fixture(scope="module")
def planted() -> set[int]:
    if not (TINY / "planted.json").is_file():
        pytest.skip("the tiny model fixture is not present")
    return set(json.loads((TINY / "planted.json").read_text())["planted_ids"])


def test_planted_tokens_are_among_the_candidates(planted):
    from auditor.config import CliSettings
    from auditor.reporters.audit import audit_dict
    from auditor.session import AuditRequest, Session

    result = Session(selection=CliSettings(select=("M104",))).audit_result(AuditRequest(model=str(TINY)))
    report = audit_dict(result)
    m = report["model"]
    assert m["tied"] is True and m["indicator"] == "cosine-pc"
    assert m["reference_ids"]  # the padding rows beyond the vocabulary
    candidates = {t["token_id"] for t in report["tokens"] if t["candidate"]}
    recall = len(candidates & planted) / len(planted)
    assert recall >= 0.9, f"planted tokens among the candidates: {sorted(candidates & planted)}"


@pytest.mark.slow
def test_verify_run_fills_every_output(planted, tmp_path):
    args = [
        "audit",
        str(TINY),
        "--verify",
        "--no-progress",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--format",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        "--markdown",
        str(tmp_path / "r.md"),
        "--plots",
        str(tmp_path / "plots"),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r.json").read_text())
    verification = report["model"]["verification"]
    assert verification["ran"] and verification["verified"] == report["model"]["candidates"]
    verified = [t for t in report["tokens"] if t["max_prob"] is not None]
    assert len(verified) >= 16  # the planted tokens at least: an empty verification fails
    assert {t["token_id"] for t in verified} == {t["token_id"] for t in report["tokens"] if t["candidate"]}
    under = {t["token_id"] for t in verified if t["verdict"] == "under-trained"}
    assert all(t["max_prob"] < 0.01 for t in verified if t["token_id"] in under)
    assert {f["token_id"] for f in report["findings"] if f["code"] == "M105"} == under
    assert under & planted  # (verification recall itself is tested in tests/test_verify*.py)
    md = (tmp_path / "r.md").read_text()
    assert "## Verified under-trained tokens" in md
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "indicator_by_token.png",
        "indicator_vs_max_prob.png",
    ]
    # a second run reads the verification cache and gives the same report, byte for byte
    res2 = CliRunner().invoke(app, args[:-6] + ["-o", str(tmp_path / "r2.json")])
    assert res2.exit_code == 0, res2.output
    assert (tmp_path / "r2.json").read_bytes() == (tmp_path / "r.json").read_bytes()
