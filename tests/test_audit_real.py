"""The audit on a real model (SmolLM2-135M-Instruct, GGUF Q4_1): indicators end to end."""

from __future__ import annotations

import pytest

from tests.conftest import real_file

pytestmark = [pytest.mark.real, pytest.mark.slow]


def test_smollm2_indicators_end_to_end():
    from auditor.config import CliSettings
    from auditor.registry import select_rules
    from auditor.reporters.audit import audit_dict
    from auditor.session import AuditRequest, Session

    path = real_file("smollm2")
    rules = [cls() for cls in select_rules(["M"]).rules]
    result = Session(selection=CliSettings(select=tuple(c.code for c in rules))).audit_result(
        AuditRequest(model=str(path))
    )
    report = audit_dict(result)
    m = report["model"]
    assert m["format"] == "gguf" and m["architecture"] == "llama"
    assert m["tied"] is True and m["embedding_shape"] == [49152, 576]
    assert m["indicator"] == "cosine-pc"
    # SmolLM2 has no unused bytes, reserved tokens or padding rows: the reference set falls
    # back to the 14 StarCoder-era special tokens the model gives no role.
    assert m["reference_ids"] == list(range(3, 17))
    assert m["reference_reasons"] == {"unassigned-special": 14}
    ok = sum(1 for t in report["tokens"] if t["category"] in ("OK", "OK_SPECIAL"))
    assert abs(m["candidates"] - 0.02 * ok) < 5
    cands = sorted((t for t in report["tokens"] if t["candidate"]), key=lambda t: t["indicator"])
    top = {t["token"] for t in cands[:40]}
    # Tokens from one code base's identifiers, the classic under-trained kind, rank first.
    assert {"ManagementPlaneProtection", " InstancePreprocess", "swigfaiss"} <= top
    assert {f.code for f in result.findings} == {"M104"}
    assert len(report["tokens"]) == 49152


def test_minilm_encoder_indicators_work_and_verification_says_why(tmp_path):
    import json

    from typer.testing import CliRunner

    from auditor.cli import app

    path = real_file("minilm")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app, ["audit", str(path), "--verify", "--no-cache", "--no-progress", "--format", "json", "-o", str(out)]
    )
    assert res.exit_code == 2  # verification was asked for and cannot run
    assert "verification did not run" in res.output
    m = json.loads(out.read_text())["model"]
    assert m["architecture"] == "BertModel" and m["embedding_shape"] == [30522, 384]
    assert m["reference_reasons"] == {"reserved-or-unused": 994}  # BERT's [unusedN]
    assert m["candidates"] > 0 and m["verification"]["ran"] is False
    assert any("no output embedding tensor" in n for n in m["notes"])
