"""Indicators exactly per docs/method.md §2, the automatic reference set, candidate selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from auditor.analyses.vocabulary import analyze_vocabulary
from auditor.core import IndicatorOptions, UserError
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer
from auditor.model.fixtures import embedding_matrices, ids_of_texts
from auditor.model.indicators import (
    compute_indicators,
    cosine_distance_to_reference,
    first_principal_component,
    reference_set,
    select_candidates,
)

WORDS = [" hello", " world", " token", " audit", " model", " train", " data", " text"]


def _paper_cosine_pc(m, ref):
    """The paper's formula written independently: PCA by SVD of the centred matrix."""
    m = m.astype(np.float64)
    c = np.linalg.svd(m - m.mean(axis=0), full_matrices=False)[2][0]
    m1 = m - np.outer(m @ c, c)
    mean = m1[ref].mean(axis=0)
    return 1 - (m1 @ mean) / (np.linalg.norm(m1, axis=1) * np.linalg.norm(mean))


@pytest.fixture
def bpe(write_tokenizer):
    view = load_tokenizer(write_tokenizer(byte_level_bpe(WORDS)))
    return view, analyze_vocabulary(view)


def test_cosine_pc_is_the_papers_formula():
    rng = np.random.default_rng(1)
    m = (rng.standard_normal((300, 24)) + rng.normal(0, 5, (300, 1)) * rng.standard_normal(24)).astype(np.float32)
    ref = [3, 50, 77, 120]
    np.testing.assert_allclose(
        cosine_distance_to_reference(m, ref, remove_pc=True), _paper_cosine_pc(m, ref), atol=2e-5
    )
    m64 = m.astype(np.float64)
    mean = m64[ref].mean(axis=0)
    plain = 1 - (m64 @ mean) / (np.linalg.norm(m64, axis=1) * np.linalg.norm(mean))
    np.testing.assert_allclose(cosine_distance_to_reference(m, ref, remove_pc=False), plain, atol=2e-5)


def test_power_iteration_finds_the_same_component_for_large_matrices(monkeypatch):
    import auditor.model.indicators as indicators

    rng = np.random.default_rng(2)
    direction = rng.standard_normal(300)
    m = rng.standard_normal((2000, 300)) + rng.normal(0, 3, (2000, 1)) * direction / np.linalg.norm(direction)
    exact = np.linalg.svd(m - m.mean(axis=0), full_matrices=False)[2][0]
    monkeypatch.setattr(indicators, "EXACT_PCA_LIMIT", 1.0)  # force the power iteration
    assert indicators._power_iteration(m.astype(np.float32), m.mean(axis=0)) is not None
    c = first_principal_component(m.astype(np.float32))
    assert abs(abs(c @ exact) - 1) < 1e-6


def test_default_indicator_follows_tied_and_untied(bpe):
    view, vocab = bpe
    e_in, _ = embedding_matrices(view, {"untrained": (" audit",)})
    tied = compute_indicators(view, vocab, e_in, None, IndicatorOptions())
    assert tied.name == "cosine-pc" and tied.matrix == "shared"
    e_in2, e_out2 = embedding_matrices(view, {"untrained": (" audit",), "tied": False})
    untied = compute_indicators(view, vocab, e_in2, e_out2, IndicatorOptions())
    assert untied.name == "input-norm" and untied.matrix == "input"
    np.testing.assert_allclose(untied.values, np.linalg.norm(e_in2, axis=1), rtol=1e-6)
    variant = compute_indicators(view, vocab, e_in2, e_out2, IndicatorOptions(indicator="cosine"))
    assert variant.matrix == "output"
    (audit,) = ids_of_texts(view, [" audit"])
    for found in (tied, untied, variant):
        assert found.candidates[0] == audit  # the planted token is the most suspicious


def test_automatic_reference_set_names_its_reasons(write_tokenizer):
    spec = sentencepiece_bpe(["hello", "world"], extra_pieces=[("<unused3>", 5)])
    view = load_tokenizer(write_tokenizer(spec))
    vocab = analyze_vocabulary(view)
    e_in, _ = embedding_matrices(view, {"extra_rows": 3})
    (world,) = ids_of_texts(view, ["▁world"])
    e_in[world] = 0.0
    ref = reference_set(view, vocab, e_in, e_in)
    by_reason: dict[str, list[int]] = {}
    for i in ref.ids:
        by_reason.setdefault(ref.reasons[i], []).append(i)
    pieces = view.pieces
    assert sorted(pieces[i] for i in by_reason["never-utf8-byte"]) == sorted(
        f"<0x{b:02X}>" for b in [0xC0, 0xC1, *range(0xF5, 0x100)]
    )
    dup = {pieces[i] for i in by_reason["byte-fallback-duplicate"]}
    # the byte pieces of characters that are also normal pieces (h, e, l, o, w, r, d, ▁...)
    assert {"<0x68>", "<0x65>", "<0x6C>"} <= dup
    assert all(int(p[3:5], 16) < 128 for p in dup)
    assert [pieces[i] for i in by_reason["reserved-or-unused"]] == ["<unused3>"]
    assert by_reason["padding-row"] == [view.vocab_size, view.vocab_size + 1, view.vocab_size + 2]
    assert by_reason["zero-row"] == [world]
    assert ref.counts()["padding-row"] == 3


def test_candidate_selection_percent_count_threshold(bpe):
    view, vocab = bpe
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 1, view.vocab_size)
    ok = [i for i, c in enumerate(vocab.categories) if c.reachable]
    not_ok = [i for i, c in enumerate(vocab.categories) if not c.reachable]
    values[not_ok[0]] = -5  # lowest of all, but partial UTF-8: never a candidate
    cands, cutoff = select_candidates(vocab, values, IndicatorOptions(), view.vocab_size)
    assert cutoff == pytest.approx(np.percentile(values[ok], 2))
    assert set(cands) == {i for i in ok if values[i] <= cutoff}
    assert [values[i] for i in cands] == sorted(values[i] for i in cands)  # most suspicious first
    assert not_ok[0] not in cands
    five, _ = select_candidates(vocab, values, IndicatorOptions(candidates_count=5), view.vocab_size)
    assert list(five) == sorted(ok, key=lambda i: values[i])[:5]
    low, cut = select_candidates(vocab, values, IndicatorOptions(threshold=0.1), view.vocab_size)
    assert cut == 0.1 and set(low) == {i for i in ok if values[i] <= 0.1}


def test_bad_indicator_options_are_user_errors(bpe):
    view, vocab = bpe
    with pytest.raises(UserError, match="both choose"):
        IndicatorOptions(candidates_count=3, threshold=0.2)
    with pytest.raises(UserError, match="--indicator"):
        IndicatorOptions(indicator="magic")
    e_in, _ = embedding_matrices(view, {})
    with pytest.raises(UserError, match="not an embedding row"):
        compute_indicators(view, vocab, e_in, None, IndicatorOptions(reference_ids=(10**6,)))


def test_user_reference_ids_replace_the_automatic_set(bpe):
    view, vocab = bpe
    e_in, _ = embedding_matrices(view, {"untrained": (" data", " text")})
    ids = tuple(ids_of_texts(view, [" data"]))
    found = compute_indicators(view, vocab, e_in, None, IndicatorOptions(reference_ids=ids, candidates_count=2))
    assert found.reference.source == "user" and found.reference.ids == ids
    assert set(found.candidates) == set(ids_of_texts(view, [" data", " text"]))


def test_no_reference_rows_is_a_clear_error(write_tokenizer):
    # A character BPE without bytes, reserved tokens, padding or zero rows: nothing to compare with.
    from auditor.fixtures import char_bpe

    view = load_tokenizer(write_tokenizer(char_bpe("abcdefgh", ["abc", "def"])))
    vocab = analyze_vocabulary(view)
    e_in = np.random.default_rng(0).standard_normal((view.vocab_size, 8)).astype(np.float32)
    with pytest.raises(UserError, match="--reference-ids"):
        compute_indicators(view, vocab, e_in, None, IndicatorOptions())
    assert compute_indicators(view, vocab, e_in, None, IndicatorOptions(indicator="input-norm")).name == "input-norm"


def test_zero_rows_are_the_most_suspicious_under_cosine(bpe):
    view, vocab = bpe
    e_in, _ = embedding_matrices(view, {"zero": (" hello",)})
    found = compute_indicators(view, vocab, e_in, None, IndicatorOptions(candidates_count=1))
    assert found.candidates == tuple(ids_of_texts(view, [" hello"]))
    assert found.values[found.candidates[0]] == 0.0
    assert found.reference.reasons[found.candidates[0]] == "zero-row"
    json.dumps(found.reference.counts())  # report-ready


def test_fallback_reference_sets_when_the_method_sources_are_empty(write_tokenizer):
    from auditor.fixtures import char_bpe
    from auditor.model.indicators import SpecialRoles

    spec = char_bpe("abcdefgh", ["abc", "def"])
    spec["added_tokens"] += [
        {
            "id": len(spec["model"]["vocab"]) + k,
            "content": c,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for k, c in enumerate(["<s>", "</s>", "<old_tag>"])
    ]
    view = load_tokenizer(write_tokenizer(spec))
    vocab = analyze_vocabulary(view)
    e_in = np.random.default_rng(0).standard_normal((view.vocab_size, 8)).astype(np.float32)
    ids = {view.pieces[i]: i for i in range(view.vocab_size)}
    roles = SpecialRoles(ids=(ids["<s>"],), texts=("</s>",), chat_template=None)
    ref = reference_set(view, vocab, e_in, e_in, roles)
    assert ref.ids == (ids["<old_tag>"],) and ref.reasons[ids["<old_tag>"]] == "unassigned-special"
    assert "fallback" in ref.source
    # a token in the chat template has a role too
    roles2 = SpecialRoles(ids=(ids["<s>"],), texts=("</s>",), chat_template="{{ '<old_tag>' }}")
    with pytest.raises(UserError, match="--reference-ids"):
        compute_indicators(view, vocab, e_in, None, IndicatorOptions(), roles2)
    # unreachable tokens come before special tokens
    spec_u = byte_level_bpe(WORDS, orphans=[" zzz"], drop_bytes=[0xC0, 0xC1, *range(0xF5, 0x100)])
    view_u = load_tokenizer(write_tokenizer(spec_u, name="u.json"))
    vocab_u = analyze_vocabulary(view_u)
    e_u = np.random.default_rng(0).standard_normal((view_u.vocab_size, 8)).astype(np.float32)
    ref_u = reference_set(view_u, vocab_u, e_u, e_u)
    assert [view_u.pieces[i] for i in ref_u.ids] == ["Ġzzz"] and ref_u.reasons[ref_u.ids[0]] == "unreachable"


def test_reference_rows_that_are_all_zero_give_a_clear_error(bpe):
    view, vocab = bpe
    e_in, _ = embedding_matrices(view, {"zero": (" data",)})
    ids = tuple(ids_of_texts(view, [" data"]))
    with pytest.raises(UserError, match="mean of the 1 reference rows is zero"):
        compute_indicators(view, vocab, e_in, None, IndicatorOptions(reference_ids=ids))
