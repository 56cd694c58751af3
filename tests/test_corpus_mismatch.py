"""Corpus versus corpus: the profile in the corpus scan, the grouping, rule P120.

The central test reproduces Mistral 7B's `\\r` tokens (docs/defects.md #16): a BPE trained on
code with `\\r\\n` line endings, a model corpus holding the same code with `\\n`.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from auditor.analyses.profile import profile_documents
from auditor.core import Document, RunInputs
from auditor.corpus.mismatch import compare_corpora, token_features
from auditor.corpus.result import CorpusStats
from auditor.corpus.scan import scan_corpus, scan_documents
from auditor.engine import run_lint
from auditor.fixtures import byte_level_bpe
from auditor.loaders import load_tokenizer
from rules.preprocessing.corpus_mismatch import CorpusPreprocessingMismatch
from tests.conftest import real_file

NAMES = ["alpha", "beta", "gamma", "delta", "total", "count", "value", "items", "result", "index", "node", "left"]


def code_documents(n: int, seed: int = 0) -> list[str]:
    """Deterministic Python-like source files with \\n line endings."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        lines = []
        for _f in range(rng.randint(2, 4)):
            a, b, c = rng.sample(NAMES, 3)
            lines += [
                f"def {a}_{b}({c}, {b}=None):",
                f"    if {c} is None:",
                f"        return {rng.randint(0, 99)}",
                f"    for {a} in range(len({c})):",
                f"        {b} = {b} + {c}[{a}] * {rng.randint(2, 9)}",
                f"    return {b}",
                "",
            ]
        docs.append("\n".join(lines) + "\n")
    return docs


def write_jsonl(path, texts):
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": t}) + "\n" for t in texts)
    return str(path)


@pytest.fixture(scope="module")
def mistral_case(tmp_path_factory):
    """A BPE trained (tokenizers' trainer) on \\r\\n code; the model corpus is the same code with \\n."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tmp = tmp_path_factory.mktemp("mistral_cr")
    model_docs = code_documents(150)
    tok_docs = [d.replace("\n", "\r\n") for d in model_docs]
    tok = Tokenizer(models.BPE())
    # Lines are split after "\n" and nothing else is (no regex: merges cross spaces and
    # punctuation, as in SentencePiece), so code tokens ending in "\r\n" are learned.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("\n", behavior="merged_with_previous"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(tok_docs, trainer)
    path = tmp / "tokenizer.json"
    tok.save(str(path))
    corpus = write_jsonl(tmp / "tokenizer_corpus.jsonl", tok_docs)
    model_corpus = write_jsonl(tmp / "model_corpus.jsonl", model_docs)
    return path, corpus, model_corpus


def test_mistral_cr_tokens_are_named_with_the_line_ending_signal(mistral_case):
    path, corpus, model_corpus = mistral_case
    inputs = RunInputs(corpus=(corpus,), model_corpus=(model_corpus,))
    result = run_lint([path], [CorpusPreprocessingMismatch()], inputs=inputs)
    assert len(result.findings) == 1, [f.message for f in result.findings]
    finding = result.findings[0]
    assert finding.code == "P120" and finding.details["feature"] == "cr"
    assert "holding \\r" in finding.message and "which has no \\r" in finding.message
    assert "line endings were normalised" in finding.message

    # The tokens named are exactly the vocabulary entries holding \r that the tokenizer
    # corpus uses: all of them, and nothing else.
    view = load_tokenizer(path)
    stats = scan_corpus(view, [corpus])
    expected = {t for t in np.flatnonzero(stats.occurrences).tolist() if b"\r" in (view.token_bytes[t] or b"")}
    named = {e["id"] for e in finding.details["tokens"]}
    assert named == expected and finding.details["tokens_total"] == len(expected)
    assert len(expected) >= 20  # the trainer learned many \r tokens
    assert sum(e["token"].endswith(":\\r\\n") for e in finding.details["tokens"]) >= 5  # code lines ending in \r\n
    counts = {e["id"]: e["occurrences"] for e in finding.details["tokens"]}
    assert all(counts[t] == int(stats.occurrences[t]) for t in named)
    assert finding.details["model_corpus_occurrences"] == 0 and finding.details["corpus_occurrences"] > 1000

    # Nothing else of significance: no unexplained finding; the report section shows the
    # two profiles side by side, \r\n on one side only.
    section = result.artifacts[0].sections["corpus_mismatch"]
    assert section["explaining_features"] == ["cr"]
    assert section["unexplained"] == 0
    assert (
        section["signals"]["crlf"]["corpus"]["occurrences"] == section["signals"]["lf"]["model_corpus"]["occurrences"]
    )
    assert section["signals"]["crlf"]["model_corpus"]["occurrences"] == 0
    assert section["unexplained_rare"] == 0 and section["groups"] == {"cr": len(expected)}
    for signal in ("space_run", "lowercase", "uppercase"):  # what the normalisation kept is the same on both sides
        both = section["signals"][signal]
        assert both["corpus"]["occurrences"] == both["model_corpus"]["occurrences"] > 0


def test_same_preprocessing_gives_no_finding(mistral_case):
    path, corpus, _model = mistral_case
    result = run_lint(
        [path], [CorpusPreprocessingMismatch()], inputs=RunInputs(corpus=(corpus,), model_corpus=(corpus,))
    )
    assert result.findings == []


def test_profile_in_the_scan_equals_a_separate_pass_and_merges_and_caches():
    view = load_tokenizer_spec(byte_level_bpe(["hello", "\r\n"]))
    docs = [Document("a", i, t) for i, t in enumerate(["hello\r\nworld", "\ufeffHi\u00a0there", "x  y\t\n", "plain"])]
    whole = scan_documents(view, docs, profile=True)
    assert whole.profile == profile_documents(docs)
    assert scan_documents(view, docs).profile is None  # off by default in scan_documents
    parts = scan_documents(view, docs[:2], profile=True).merge(scan_documents(view, docs[2:], profile=True))
    assert parts.profile.occurrences == whole.profile.occurrences
    assert parts.profile.in_documents == whole.profile.in_documents
    doc, arrays = whole.to_cache()
    json.dumps(doc)
    assert CorpusStats.from_cache(json.loads(json.dumps(doc)), arrays).profile == whole.profile


def load_tokenizer_spec(spec, tmp_dir=None):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="p120_"))
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return load_tokenizer(path)


def test_token_features_treat_a_token_end_as_no_line_end():
    assert token_features("\r") == {"cr"}
    assert token_features(";\r\n") == {"cr"}
    assert "trailing_space" not in token_features("hello ")  # a space at a token's end is no line end
    assert "trailing_space" in token_features("  \n")
    assert {"bom", "zero_width"} <= token_features("\ufeff")
    assert token_features("Hello") == {"uppercase", "lowercase"}


def test_grouping_policy_rate_ratio_and_unexplained(tmp_path):
    # Tokenizer corpus: \r\n lines and a word the model corpus never has ("delta"), often.
    spec = byte_level_bpe(["alpha", " beta", " delta", "\r\n", "\n"])
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    view = load_tokenizer(path)
    tok_docs = [Document("t", i, "alpha beta delta\r\n" * 5) for i in range(20)]
    # The model corpus keeps one \r\n: 1/60 of the tokenizer corpus's rate, above 0.01.
    model_docs = [Document("m", i, "alpha beta\n" * 5) for i in range(19)] + [Document("m", 19, "alpha\r\n")]
    a = scan_documents(view, tok_docs, profile=True)
    b = scan_documents(view, model_docs, profile=True)
    mismatch = compare_corpora(view, a, b)
    # " delta" never occurs in the model corpus; nor does "\r" (the GPT-2 regex cuts "\r\nalpha"
    # as "\r" + "\nalpha"), while "\r\n" does at the end of the one document keeping it.
    assert {e.text for e in mismatch.absent} == {" delta", "\\r"}
    g = mismatch.group()
    assert g.explaining == ()  # \r only 60x rarer: not explaining at the default ratio
    assert [e.text for e in g.unexplained] == [" delta", "\\r"] and g.unexplained[0].occurrences == 100
    rare = mismatch.group(min_expected=1000.0)
    assert rare.unexplained == () and rare.unexplained_rare == 2
    loose = mismatch.group(max_rate_ratio=0.1)
    assert loose.explaining == ("cr",) and [e.text for e in loose.groups[0].tokens] == ["\\r"]
    assert not loose.groups[0].absent and [e.text for e in loose.unexplained] == [" delta"]

    # Through the rule: one unexplained finding, with its options.
    tok_corpus = write_jsonl(tmp_path / "t.jsonl", [d.text for d in tok_docs])
    model_corpus = write_jsonl(tmp_path / "m.jsonl", [d.text for d in model_docs])
    inputs = RunInputs(corpus=(tok_corpus,), model_corpus=(model_corpus,))
    result = run_lint([path], [CorpusPreprocessingMismatch()], inputs=inputs)
    assert [f.details["feature"] for f in result.findings] == [None]
    assert "own text carries no signal the model corpus lacks" in result.findings[0].message
    assert result.findings[0].details["tokens"][0]["token"] == " delta"
    loose = run_lint([path], [CorpusPreprocessingMismatch({"max-rate-ratio": 0.1})], inputs=inputs)
    assert [f.details["feature"] for f in loose.findings] == ["cr", None]
    assert "x fewer \\r" in loose.findings[0].message
    quiet = run_lint([path], [CorpusPreprocessingMismatch({"min-expected": 1000.0})], inputs=inputs)
    assert quiet.findings == []


def test_rule_is_skipped_without_the_model_corpus(mistral_case):
    path, corpus, _model = mistral_case
    result = run_lint([path], [CorpusPreprocessingMismatch()], inputs=RunInputs(corpus=(corpus,)))
    assert result.findings == []
    assert "corpus_mismatch" not in result.artifacts[0].sections


def test_second_lint_from_the_cache_gives_the_same_report(mistral_case, tmp_path):
    from auditor.cache import Cache

    path, corpus, model_corpus = mistral_case
    cache = Cache(tmp_path / "cache")
    inputs = RunInputs(corpus=(corpus,), model_corpus=(model_corpus,), cache=cache)
    first = run_lint([path], [CorpusPreprocessingMismatch()], inputs=inputs)
    second = run_lint([path], [CorpusPreprocessingMismatch()], inputs=inputs)
    assert cache.hits > 0
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    assert second.artifacts[0].sections["corpus_mismatch"] == first.artifacts[0].sections["corpus_mismatch"]


def test_fast_ascii_counting_agrees_with_the_per_character_classification():
    from collections import Counter

    from auditor.analyses.profile import _ASCII_SIGNALS, char_signals, text_signals

    for c in range(128):
        assert set(char_signals(chr(c))) == {s for s, table in _ASCII_SIGNALS if c in table}, c
    rng = random.Random(1)
    alphabet = "aZ \t\r\n\x00\x07\x7f\u00a0\u200b\ufeff\u0301\ufb01\u3000\u202e\ufffd\u00c9\u00e9\u6771"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert text_signals(text) == text_signals(text, Counter(text)), repr(text)
    from auditor.analyses.profile import _TRAILING

    for _ in range(2000):
        text = "".join(rng.choice(" \t\r\nab") for _ in range(rng.randint(0, 20)))
        assert text_signals(text).get("trailing_space", 0) == len(_TRAILING.findall(text)), repr(text)


@pytest.mark.real
def test_real_mistral_tokenizer_names_its_tokens_ending_in_cr(tmp_path):
    path = real_file("mistral")
    model_docs = code_documents(200)
    corpus = write_jsonl(tmp_path / "t.jsonl", [d.replace("\n", "\r\n") for d in model_docs])
    model_corpus = write_jsonl(tmp_path / "m.jsonl", model_docs)
    inputs = RunInputs(corpus=(corpus,), model_corpus=(model_corpus,))
    result = run_lint([path], [CorpusPreprocessingMismatch()], inputs=inputs)
    [cr] = [f for f in result.findings if f.details["feature"] == "cr"]
    tokens = {e["token"] for e in cr.details["tokens"]}
    assert {"\\r", ":\\r", "):\\r"} <= tokens  # Mistral's code tokens ending in \r (docs/defects.md #16)
    assert all("\\r" in t for t in tokens)
    section = result.artifacts[0].sections["corpus_mismatch"]
    assert section["explaining_features"] == ["cr"]
    # What else is absent is a neighbour of the \r tokens ("))" before ":\r"), a handful at most.
    assert section["unexplained"] + section["unexplained_rare"] <= 3
