"""Verification by prompting (docs/method.md §3): prompts, placeholder, grades, and the batched
verifier against the reference's one-`generate`-at-a-time way, on the tiny model fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.core import InputError, UserError
from auditor.loaders import load_tokenizer
from auditor.model.prompts import TEMPLATES, build_prompts, default_prefix_ids
from auditor.model.verify import VerifyOptions, grade

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "sample_corpora" / "tiny_model" / "model"
PLANTED = json.loads((TINY / "planted.json").read_text(encoding="utf-8"))

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


# ---------------------------------------------------------------- prompts (no model)


def test_templates_are_the_papers():
    io, explain, repeats = TEMPLATES
    text = io.text("X")
    assert text.startswith("This device repeats its input exactly, as shown in these 100 identical trials.\nInput: «X»")
    assert text.count("\nInput: «X»\nOutput:") == 21 and text.endswith("\nInput: «X»\nOutput: «")
    assert explain.text("X").endswith("\nUser: what does 'X' mean?\nAssistant: '")
    assert repeats.text("X") == repeats.preamble + "X" * 101
    assert [t.slots for t in TEMPLATES] == [41, 1, 101]
    assert [t.name for t in TEMPLATES] == ["input_output", "assistant_explain", "repeats"]


@pytest.fixture(scope="module")
def view():
    return load_tokenizer(TINY / "tokenizer.json")


def test_placeholder_and_id_level_prompts(view):
    ps = build_prompts(view)
    p = ps.placeholder_id
    text = view.decode([p])
    assert text.strip().isalpha() and view.encode(view.decode([p, p])) == [p, p]
    for prompt in ps.prompts:
        assert list(prompt.ids) == list(ps.prefix_ids) + view.encode(prompt.template.text(text))
        assert len(prompt.positions) == prompt.template.slots
        eos = view.encode("<|endoftext|>")[0]  # a control id is substituted like any other
        ids = prompt.with_token(eos)
        assert len(ids) == len(prompt.ids)
        assert [k for k, i in enumerate(ids) if i != prompt.ids[k]] == list(prompt.positions)
        assert all(ids[k] == eos for k in prompt.positions)


def test_forced_placeholder_must_round_trip(view):
    eos = view.encode("<|endoftext|>")[0]
    with pytest.raises(UserError, match="placeholder token"):
        build_prompts(view, placeholder_id=eos)
    with pytest.raises(UserError, match="no such id"):
        build_prompts(view, placeholder_id=view.vocab_size + 3)
    chosen = build_prompts(view).placeholder_id
    assert build_prompts(view, placeholder_id=chosen).placeholder_id == chosen


def test_default_bos_from_post_processor(write_tokenizer):
    vocab = {"<s>": 0, "a": 1, "b": 2, "ab": 3}
    spec = {
        "version": "1.0",
        "added_tokens": [
            {
                "id": 0,
                "content": "<s>",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}},
        },
        "decoder": None,
        "model": {"type": "BPE", "vocab": vocab, "merges": ["a b"], "dropout": None, "unk_token": None},
    }
    assert default_prefix_ids(load_tokenizer(write_tokenizer(spec))) == (0,)
    spec["post_processor"] = None
    assert default_prefix_ids(load_tokenizer(write_tokenizer(spec))) == ()


def test_grades():
    assert grade(0.0005) == "strong-verified"
    assert grade(0.005) == "weak-verified"
    assert grade(0.05) == "rejected"
    assert grade(0.5) == "weak-rejected"
    assert grade(0.95) == "strong-rejected"
    assert grade(0.01) == "rejected"  # under-trained means strictly below the threshold


@pytest.mark.parametrize(
    "options, message",
    [
        (VerifyOptions(device="tpu"), "--device"),
        (VerifyOptions(dtype="int8"), "--dtype"),
        (VerifyOptions(batch_size=0), "batch size"),
        (VerifyOptions(threshold=1.5), "threshold"),
        (VerifyOptions(template_order=("repeats",)), "template order"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(UserError, match=message):
        options.validate()


# ---------------------------------------------------------------- the verifier on the fixture


@pytest.fixture(scope="module")
def verifier(view):
    from auditor.model.verify import Verifier

    return Verifier(str(TINY), view, VerifyOptions())


@pytest.fixture(scope="module")
def exact_verifier(view, verifier):
    from auditor.model.verify import Verifier

    return Verifier(str(TINY), view, VerifyOptions(exact=True), model=verifier.model)


def _sample_ids(view):
    planted = PLANTED["planted_ids"]
    normal = [i for i in range(97, view.vocab_size, 97) if i not in planted]
    return planted[:4] + normal[:6] + [view.encode("<|endoftext|>")[0]]


def test_batched_matches_generate_one_at_a_time(view, exact_verifier):
    from auditor.model.verify import reference_probs

    ids = _sample_ids(view)
    results = exact_verifier.verify_batch(ids)
    assert [r.token_id for r in results] == ids  # every id verified, in order: an empty result fails
    for r in results:
        ref = reference_probs(exact_verifier, r.token_id)
        assert r.exact
        assert r.max_prob == pytest.approx(max(max(v) for v in ref.values()), abs=1e-4)
        assert ref[r.prompt][r.step - 1] == pytest.approx(r.max_prob, abs=1e-4)


def test_early_rejection_keeps_verdicts(view, verifier, exact_verifier):
    ids = _sample_ids(view)
    fast = verifier.verify_batch(ids)
    exact = exact_verifier.verify_batch(ids)
    assert len(fast) == len(ids) and [r.verdict for r in fast] == [r.verdict for r in exact]
    for f, e in zip(fast, exact):
        if f.under_trained:  # verified: every prompt and step computed, same value
            assert f.exact and f.max_prob == pytest.approx(e.max_prob, abs=1e-6)
        else:  # rejected: a lower bound that already reached the threshold
            assert f.max_prob >= 0.01
            assert f.max_prob <= e.max_prob + 1e-6
            assert f.grade in ("rejected", "weak-rejected", "strong-rejected")


def test_batch_size_prefix_reuse_and_order_do_not_change_results(view, verifier):
    from auditor.model.verify import Verifier

    ids = _sample_ids(view)
    base = verifier.verify_batch(ids)
    one = Verifier(str(TINY), view, VerifyOptions(batch_size=1, reuse_prefix=False), model=verifier.model)
    plain = [r for batch in one.iter_batches(ids) for r in batch]
    assert len(plain) == len(ids) and [r.verdict for r in plain] == [r.verdict for r in base]
    for a, b in zip(plain, base):
        assert a.max_prob == pytest.approx(b.max_prob, abs=1e-5)


def test_planted_tokens_are_verified_and_little_else(view, verifier):
    """Ground truth of the fixture: over every OK token of the vocabulary, the verified
    under-trained ones are the planted ones (recall >= 0.9, precision >= 0.9)."""
    from auditor.analyses.vocabulary import analyze_vocabulary

    vocab = analyze_vocabulary(view)
    ok = [i for i, c in enumerate(vocab.categories) if c is not None and c.reachable]
    planted = set(PLANTED["planted_ids"])
    assert planted <= set(ok)
    run = verifier.run(ok)
    found = set(run.under_trained())
    assert len(found & planted) >= 0.9 * len(planted)
    assert len(found & planted) >= 0.9 * len(found)
    by_id = run.by_id()
    assert all(by_id[i].exact and by_id[i].grade.endswith("verified") for i in found)


def test_cache_resumes_an_interrupted_run(view, verifier, tmp_path):
    from auditor.cache import Cache
    from auditor.model.verify import Verifier

    ids = _sample_ids(view)
    cache = Cache(tmp_path / "cache")
    first = Verifier(str(TINY), view, VerifyOptions(batch_size=4), cache=cache, model=verifier.model)
    half = first.run(ids[:5])
    assert half.cached == 0 and half.computed == 5
    messages: list[str] = []
    again = Verifier(str(TINY), view, VerifyOptions(batch_size=4), cache=cache, model=verifier.model)
    full = again.run(ids, progress=messages.append)
    assert full.cached == 5 and full.computed == len(ids) - 5
    assert messages and messages[-1].startswith(f"verifying candidates: {len(ids)}/{len(ids)}")
    assert [r.max_prob for r in full.results[:5]] == [r.max_prob for r in half.results]
    # another threshold is another key: nothing reused
    other = Verifier(str(TINY), view, VerifyOptions(threshold=0.02), cache=cache, model=verifier.model)
    assert other.run(ids[:3]).cached == 0


def test_results_follow_the_given_order_without_duplicates(view, verifier):
    ids = _sample_ids(view)
    order = list(reversed(ids)) + ids[:2]
    run = verifier.run(order)
    assert [r.token_id for r in run.results] == list(reversed(ids))
    assert run.describe()["verified"] == len(ids)


def test_ids_outside_the_model_are_refused(verifier):
    with pytest.raises(UserError, match="outside the model"):
        verifier.verify_batch([verifier.rows + 5])


def test_bad_model_paths(view, tmp_path):
    from auditor.model.verify import verify_tokens

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        verify_tokens(str(tmp_path / "empty"), view, [1])
    junk = tmp_path / "model.bin"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="model folder or a GGUF file"):
        verify_tokens(str(junk), view, [1])
    with pytest.raises(UserError, match="no such file"):
        verify_tokens(str(tmp_path / "missing"), view, [1])
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}), encoding="utf-8")
    with pytest.raises(InputError, match="cannot run this model"):
        verify_tokens(str(odd), view, [1])


def test_tokenizer_that_does_not_match_the_model(view):
    """Prompt ids beyond the model's embedding rows: refused before any prompt runs."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from auditor.model.verify import Verifier

    small = LlamaForCausalLM(
        LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    )
    with pytest.raises(InputError, match="does not match the model"):
        Verifier(str(TINY), view, VerifyOptions(), model=small)


def test_cuda_refused_without_a_gpu(view):
    from auditor.model.verify import verify_tokens

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match="no CUDA device"):
        verify_tokens(str(TINY), view, [1], VerifyOptions(device="cuda"))
