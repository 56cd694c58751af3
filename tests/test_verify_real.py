"""Issue item 7: on SmolLM2-135M-Instruct (GGUF), the batched verifier gives the same
max probabilities (within 1e-4) as an unbatched `model.generate(..., output_logits=True)`
on each of 20 indicator candidates, and the early-rejection verdicts are the same."""

from __future__ import annotations

import pytest

from tests.conftest import real_file

pytestmark = [pytest.mark.real]


@pytest.mark.slow
def test_smollm2_batched_matches_generate():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = str(real_file("smollm2"))
    from auditor.core import RunInputs
    from auditor.loaders import load_tokenizer
    from auditor.model.verify import Verifier, VerifyOptions, reference_probs
    from auditor.store import AnalysisStore

    view = load_tokenizer(path)
    candidates = list(AnalysisStore(view, RunInputs(model=path)).get("indicators").candidates)
    assert len(candidates) > 100
    # 10 from the head of the list (mostly under-trained) and 10 spread over the rest
    step = (len(candidates) - 10) // 10
    ids = candidates[:10] + candidates[10::step][:10]
    exact = Verifier(path, view, VerifyOptions(exact=True, batch_size=10))
    fast = Verifier(path, view, VerifyOptions(batch_size=10), model=exact.model)
    batched = exact.verify_batch(ids)
    early = fast.verify_batch(ids)
    verdicts = set()
    for r, e in zip(batched, early):
        ref = reference_probs(exact, r.token_id)
        ref_max = max(max(v) for v in ref.values())
        assert r.max_prob == pytest.approx(ref_max, abs=1e-4), r.token_id
        assert e.verdict == r.verdict == ("under-trained" if ref_max < 0.01 else "ok")
        verdicts.add(r.verdict)
    assert verdicts == {"under-trained", "ok"}  # both kinds were compared


@pytest.mark.parametrize("name, bos", [("mistral", (1,)), ("llama2", (1,)), ("gpt2", ()), ("neox", ())])
def test_prompts_on_real_tokenizers(name, bos):
    """Every slot of every prompt holds the placeholder id, with and without a dummy prefix."""
    from auditor.loaders import load_tokenizer
    from auditor.model.prompts import build_prompts

    view = load_tokenizer(real_file(name))
    ps = build_prompts(view)
    assert ps.prefix_ids == bos
    text = ps.placeholder_text.strip()
    assert text.isalpha() and len(text) >= 10
    for prompt in ps.prompts:
        assert len(prompt.positions) == prompt.template.slots
        assert prompt.ids[: len(bos)] == bos


@pytest.mark.slow
def test_smollm2_adaptive_budget_finds_the_head_verifying_a_fraction():
    """Issue 7 on the real model: `--budget full` verifies all 977 candidates and finds 28
    under-trained tokens, 27 of them among the first 30 (docs/benchmarks.md). The
    default budget must find >= 95% of them (27) while verifying <= 15% of the list."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = str(real_file("smollm2"))
    from auditor.config import CliSettings
    from auditor.reporters.audit import audit_dict
    from auditor.session import AuditRequest, Session

    result = Session(selection=CliSettings(select=("M105",))).audit_result(AuditRequest(model=path, verify=True))
    report = audit_dict(result)
    budget = report["model"]["verification"]["budget"]
    assert budget["name"] == "adaptive" and budget["listed"] == report["model"]["candidates"] > 900
    assert budget["verified"] <= 0.15 * budget["listed"]
    assert budget["under_trained"] >= 27  # 0.95 x the 28 that the full list holds
    assert "stopping rule met" in budget["stop_reason"]
    found = {f["token_id"] for f in report["findings"] if f["code"] == "M105"}
    assert len(found) == budget["under_trained"]
