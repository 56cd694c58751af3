"""The paper's published report-level counts, reproduced on the real tokenizers.

docs/method.md: single-byte / unreachable / partial UTF-8 / special
GPT-2 (r50k_base) 256/0/216/1, Llama 2 351/0/0/3, Mistral 7B v0.1 380/0/0/3,
GPT-NeoX-20B 243/221/369/2. Skipped when the real files are absent.
"""

from __future__ import annotations

import pytest

from auditor.analyses.vocabulary import analyze_vocabulary
from auditor.loaders import load_tokenizer
from tests.conftest import real_file

PUBLISHED = {
    # name: (single_byte, unreachable, partial_utf8, special)
    "gpt2": (256, 0, 216, 1),
    "llama2": (351, 0, 0, 3),
    "mistral": (380, 0, 0, 3),
    "neox": (243, 221, 369, 2),
}


@pytest.mark.real
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_counts(name):
    view = load_tokenizer(real_file(name))
    counts = analyze_vocabulary(view).paper_counts()
    single, unreachable, partial, special = PUBLISHED[name]
    assert counts == {
        "single_byte": single,
        "special": special,
        "unreachable": unreachable,
        "partial_utf8": partial,
    }, f"{name} with {view.implementation}"


@pytest.mark.real
def test_neox_unreachable_are_all_shadowed_by_added_space_tokens():
    view = load_tokenizer(real_file("neox"))
    vocab = analyze_vocabulary(view)
    ids = vocab.paper_unreachable()
    assert len(ids) == 221
    added_spaces = {a.id for a in view.added_tokens if a.content.strip() == "" and len(a.content) >= 2}
    assert len(added_spaces) == 23  # 2..24 spaces
    for tid in ids:
        cause = vocab.causes[tid]
        assert cause.code == "added-token-shadow", (tid, cause)
        assert set(vocab.reencoded[tid]) & added_spaces


@pytest.mark.real
@pytest.mark.parametrize("name", ["llama2", "mistral"])
def test_sentencepiece_leading_space_is_handled_with_the_sentinel(name):
    view = load_tokenizer(real_file(name))
    vocab = analyze_vocabulary(view)
    assert vocab.sentinel == "«"
    hello = view.encode("Hello")  # "▁Hello"
    assert len(hello) == 1
    assert vocab.decoded[hello[0]] == " Hello"
    assert vocab.categories[hello[0]].value == "OK"
    # the 256 byte-fallback pieces are single-byte; the ones that duplicate a piece are unreachable by design
    byte_ids = [i for i, p in enumerate(view.pieces) if p and p.startswith("<0x")]
    assert len(byte_ids) == 256 and set(byte_ids) <= vocab.single_byte
    assert all(
        vocab.causes[i].code == "byte-fallback-duplicate"
        for i in byte_ids
        if i in vocab.causes and vocab.categories[i].value == "UNREACHABLE_SINGLE_TOKEN"
    )


@pytest.mark.real
def test_lint_reports_paper_counts_and_implementation_in_json(tmp_path):
    import json

    from typer.testing import CliRunner

    from auditor.cli import app

    path = real_file("neox")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["lint", str(path), "--format", "json", "-o", str(out)])
    assert res.exit_code == 1, res.output  # 221 unreachable tokens are errors
    report = json.loads(out.read_text())
    assert report["summary"]["paper_counts"] == {
        "single_byte": 243,
        "special": 2,
        "unreachable": 221,
        "partial_utf8": 369,
    }
    assert report["artifacts"][0]["implementation"].startswith("tokenizers ")
    assert sum(1 for f in report["findings"] if f["code"] == "V101") == 221


@pytest.mark.real
def test_bert_wordpiece_continuations_are_reachable():
    view = load_tokenizer(real_file("minilm") / "tokenizer.json")
    vocab = analyze_vocabulary(view)
    pid = {p: i for i, p in enumerate(view.pieces)}
    for piece in ("##ing", "##s", "##ed", "##u", "##ly"):
        assert vocab.categories[pid[piece]].reachable, piece
    assert vocab.categories[pid["##!"]].unreachable  # punctuation is always its own word
    # what stays unreachable is explained by BERT's pre-tokenizer or its CJK padding
    assert {vocab.causes[i].code for i in vocab.paper_unreachable()} <= {"pre-tokenizer", "normalizer"}


@pytest.mark.real
def test_smollm2_gguf_lacks_byte_tokens_and_neox_does_not():
    """SmolLM2's vocabulary has no token for 8 bytes that UTF-8 text can hold (0x04 ...):
    its tokenizer drops them. GPT-NeoX-20B only lacks bytes UTF-8 never uses."""
    from auditor.engine import run_lint
    from rules.vocabulary.byte_coverage import MissingByteCoverage

    result = run_lint([real_file("smollm2"), real_file("neox")], [MissingByteCoverage()])
    by_artifact = {f.artifact: f for f in result.findings if "missing_bytes" in f.details}
    assert len(by_artifact) == 1
    (finding,) = by_artifact.values()
    assert finding.artifact.endswith(".gguf")
    assert finding.details["missing_bytes"] == [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xF1, 0xF2]


@pytest.mark.real
def test_neox_duplicates_flag_the_dead_vocabulary_entries():
    from auditor.engine import run_lint
    from rules.vocabulary.duplicate_bytes import DuplicateTokenBytes

    result = run_lint([real_file("neox")], [DuplicateTokenBytes()])
    assert len(result.findings) == 23
    for f in result.findings:
        assert f.token_id < 50254 <= f.details["duplicate_of"]  # the added space tokens win
