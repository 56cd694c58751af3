"""Corpus statistics: exact against a per-document reference, shards merge exactly, cache round trip."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from auditor.cache import Cache
from auditor.core import Document
from auditor.corpus.reader import ReadReport
from auditor.corpus.stats import (
    CorpusStats,
    MergeTree,
    merge_parents,
    scan_documents,
    split_long,
)
from auditor.fixtures import byte_level_bpe, char_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer

DOCS = [
    "hello world, hello there",
    "the world says hello",
    "hello hello world",
    "zqxv zqxv zqxv zqxv zqxv",
    "a world of hello",
    "hell is hello without o",
    "once zqxv",
    "",  # not yielded by the reader, but scan_documents must cope with odd input
    "hello\r\nworld\r\n",
]


@pytest.fixture
def view(write_tokenizer):
    return load_tokenizer(write_tokenizer(byte_level_bpe(["hello", " world", " zqxv", "hell"])))


def _docs(texts):
    return [Document("c.jsonl", k + 1, t, "line") for k, t in enumerate(texts)]


def _reference(view, texts):
    """Per-document Python loops over the same definitions."""
    size = view.vocab_size
    parents = merge_parents(view) or {}

    def inside(t):
        out = []
        for child in parents.get(t, ()):
            out.append(child)
            out.extend(inside(child))
        return out

    occ = np.zeros(size, np.int64)
    uses = np.zeros(size, np.int64)
    docs = np.zeros(size, np.int64)
    use_docs = np.zeros(size, np.int64)
    top_doc = np.full(size, -1, np.int64)
    top_count = np.zeros(size, np.int64)
    for d, text in enumerate(texts):
        ids = view.encode(text)
        per_doc = Counter()
        for t in ids:
            occ[t] += 1
            per_doc[t] += 1
            for s in inside(t):
                per_doc[s] += 1
        for t in set(ids):
            docs[t] += 1
        for t, c in per_doc.items():
            uses[t] += c
            use_docs[t] += 1
            if c > top_count[t]:
                top_count[t], top_doc[t] = c, d
    return {"occurrences": occ, "uses": uses, "documents": docs, "use_documents": use_docs,
            "top_document": top_doc, "top_count": top_count}


def _assert_same(a: CorpusStats, b: CorpusStats) -> None:
    for name in ("occurrences", "uses", "documents", "use_documents", "top_document", "top_count"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.to_cache()[0] == b.to_cache()[0]


def test_counts_match_a_per_document_reference(view, monkeypatch):
    monkeypatch.setattr("auditor.corpus.stats.BATCH_DOCS", 3)  # several batches
    stats = scan_documents(view, _docs(DOCS))
    ref = _reference(view, DOCS)
    for name, expected in ref.items():
        assert np.array_equal(getattr(stats, name), expected), name
    assert stats.merge_tree
    assert stats.n_documents == len(DOCS)
    assert stats.n_tokens == sum(len(view.encode(t)) for t in DOCS)
    zqxv = view.encode(" zqxv")[0]
    # " zqxv" is used in two documents, four of its five occurrences in the fourth one
    assert (stats.documents[zqxv], stats.occurrences[zqxv], stats.top_count[zqxv]) == (2, 5, 4)
    assert stats.doc(int(stats.top_document[zqxv])).locator == "c.jsonl:line 4"
    he = view.encode("hel")[0]
    assert stats.occurrences[he] == 0 and stats.uses[he] > 0  # only inside "hell"/"hello"


def test_two_shards_merge_to_the_whole(view):
    whole = scan_documents(view, _docs(DOCS))
    for cut in (0, 1, 4, len(DOCS)):
        docs = _docs(DOCS)
        first = scan_documents(view, docs[:cut])
        second = scan_documents(view, docs[cut:])
        _assert_same(first.merge(second), whole)


def test_merge_keeps_the_earlier_document_on_ties(view):
    docs = _docs(["zqxv zqxv", "zqxv zqxv"])
    whole = scan_documents(view, docs)
    merged = scan_documents(view, docs[:1]).merge(scan_documents(view, docs[1:]))
    tid = view.encode("zqxv")[0]
    assert whole.top_document[tid] == merged.top_document[tid] == 0


def test_cache_round_trip(view, tmp_path):
    stats = scan_documents(view, _docs(DOCS), read=ReadReport(files=1, documents=len(DOCS)))
    cache = Cache(tmp_path / "cache")
    key = Cache.key("corpus_stats", "x")
    doc, arrays = stats.to_cache()
    cache.store("corpus_stats", key, doc, arrays)
    loaded = cache.load("corpus_stats", key)
    assert loaded is not None
    back = CorpusStats.from_cache(*loaded)
    _assert_same(back, stats)
    assert back.report_section() == stats.report_section()


def test_report_section_is_json_and_deterministic(view):
    a = scan_documents(view, _docs(DOCS)).report_section()
    b = scan_documents(view, _docs(DOCS)).report_section()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["documents"] == len(DOCS) and a["tokens"] > 0


def test_lossy_round_trip_and_unknown_characters(write_tokenizer):
    lower = load_tokenizer(write_tokenizer(byte_level_bpe(["hello"], normalizer={"type": "Lowercase"})))
    stats = scan_documents(lower, _docs(["hello", "say Hello"]))
    assert stats.lossy_documents == 1
    (ex,) = stats.lossy_examples
    assert (ex.locator, ex.offset) == ("c.jsonl:line 2", 4)
    assert ex.original.startswith("say H") and ex.decoded.startswith("say h")
    assert stats.changed_chars == {"H": 1}

    unk = load_tokenizer(write_tokenizer(char_bpe("abc", ["abc"]), name="unk.json"))
    stats = scan_documents(unk, _docs(["abc", "abc xyx", "zz"]))
    assert stats.unk_chars == {"x": 2, "y": 1, "z": 2}
    assert stats.char_first_doc["z"] == "c.jsonl:line 2" or stats.char_first_doc["z"] == "c.jsonl:line 3"
    assert stats.unk_tokens == 5
    assert stats.dropped_chars == {}  # the separating space is not "dropped"


def test_enormous_document_is_encoded_in_pieces(view, monkeypatch):
    monkeypatch.setattr("auditor.corpus.stats.CHUNK_CHARS", 1000)
    monkeypatch.setattr("auditor.corpus.stats.LONG_GROUP_CHARS", 2500)
    text = ("hello world zqxv\n" * 400) + "x" * 3000
    seen, calls = [], []
    encode = view.backend.encode_batch
    monkeypatch.setattr(
        view.backend, "encode_batch",
        lambda texts: (seen.extend(len(t) for t in texts), calls.append(sum(map(len, texts))), encode(texts))[2],
    )
    stats = scan_documents(view, _docs([text]))
    assert stats.chunked_documents == 1
    assert max(seen) <= 1000 and max(calls) < 3500 and len(calls) >= 4  # a few pieces per call
    pieces = split_long(text, 1000)
    assert "".join(pieces) == text
    assert all(p.endswith("\n") for p in pieces[:5])  # cut after a newline where there is one
    assert len(pieces[-2]) == 1000  # no newline or space: a hard cut
    assert stats.n_tokens == sum(len(view.encode(p)) for p in pieces)
    assert stats.lossy_documents == 0


def test_sentencepiece_bpe_merge_tree_is_derived(write_tokenizer):
    view = load_tokenizer(write_tokenizer(sentencepiece_bpe(["hello"]), name="sp.model"))
    parents = merge_parents(view)
    pid = view.pieces.index
    assert parents[pid("▁hello")] == (pid("▁hell"), pid("o"))
    tree = MergeTree.build(parents, view.vocab_size)
    inside = tree.indices[tree.indptr[pid("▁hel")] : tree.indptr[pid("▁hel") + 1]].tolist()
    assert sorted(inside) == sorted([pid(p) for p in ("▁he", "l", "▁h", "e", "▁", "h")])


def test_merge_tree_survives_cyclic_merges():
    tree = MergeTree.build({2: (3, 0), 3: (2, 1)}, 4)  # corrupt: 2 and 3 build each other
    assert tree.indptr[-1] < 10


def test_byte_comparison_round_trip_equals_the_library_decode(monkeypatch):
    """The demo tokenizer (byte-level, added space tokens, specials) on the demo corpus and odd texts:
    the byte-comparison shortcut and the library's decode give identical statistics."""
    from auditor.corpus import stats as st
    from auditor.corpus.reader import iter_documents

    view = load_tokenizer("sample_corpora/demo/tokenizer.json")
    docs = list(iter_documents(["sample_corpora/demo/corpus.jsonl"], max_documents=200))
    docs += _docs(["<|endoftext|> and <|pad|>  \u00a0x", "caf\u00e9 \ufffd \x00?", "    indented\r\n\tcode", "🙂" * 3])
    assert st._PlainBytes.of(view) is not None
    fast = scan_documents(view, docs)
    monkeypatch.setattr(st._PlainBytes, "of", classmethod(lambda cls, v: None))
    slow = scan_documents(view, docs)
    _assert_same(fast, slow)
    assert fast.lossy_documents == slow.lossy_documents


@pytest.mark.real
def test_merge_tree_of_a_real_vocabulary_matches_the_recursive_definition():
    from tests.conftest import real_file

    view = load_tokenizer(real_file("neox"))
    parents = merge_parents(view)
    tree = MergeTree.build(parents, view.vocab_size)

    def inside(t):
        out = []
        for child in parents.get(t, ()):
            out.append(child)
            out.extend(inside(child))
        return out

    for t in range(0, view.vocab_size, 7):
        assert tree.indices[tree.indptr[t] : tree.indptr[t + 1]].tolist() == inside(t), t


def test_errors_in_the_reading_thread_reach_the_caller(view):
    def docs():
        yield from _docs(["hello world"] * 3)
        raise ValueError("broken reader")

    with pytest.raises(ValueError, match="broken reader"):
        scan_documents(view, docs())


def test_prefetch_and_sequential_scans_agree(view, monkeypatch):
    monkeypatch.setattr("auditor.corpus.stats.BATCH_DOCS", 2)
    threaded = scan_documents(view, _docs(DOCS))
    monkeypatch.setattr("auditor.corpus.stats.PREFETCH", False)
    _assert_same(threaded, scan_documents(view, _docs(DOCS)))


def test_a_document_the_tokenizer_fails_on_is_counted_not_fatal(view, monkeypatch):
    encode = view.backend.encode_batch

    def fragile(texts):
        if any("boom" in t for t in texts):
            raise RuntimeError("tokenizer panic\nwith details")
        return encode(texts)

    monkeypatch.setattr(view.backend, "encode_batch", fragile)
    stats = scan_documents(view, _docs(["hello world", "boom", "world hello"]))
    assert stats.n_documents == 3 and stats.failed_documents == 1
    assert stats.failed_examples == (("c.jsonl:line 2", "RuntimeError: tokenizer panic"),)
    assert stats.n_tokens == sum(map(len, encode(["hello world", "world hello"]))) and stats.lossy_documents == 0
    assert stats.report_section()["failed_documents"] == 1
    from types import SimpleNamespace

    from auditor.corpus.stats import read_warnings

    art = SimpleNamespace(sections={"corpus_stats": stats.report_section()})
    assert read_warnings([art, art]) == [
        "corpus: the tokenizer failed on 1 document(s), counted as empty (first: c.jsonl:line 2: RuntimeError: tokenizer panic)"
    ]


def test_model_corpus_stats_reads_the_model_corpus_with_the_same_options(view, tmp_path):
    from auditor.core import CorpusOptions, RunInputs, UserError
    from auditor.store import AnalysisStore

    (tmp_path / "model.txt").write_text("hello world\n\nzqxv\n", encoding="utf-8")
    (tmp_path / "tok.jsonl").write_text('{"body": "hello"}\n', encoding="utf-8")
    inputs = RunInputs(
        corpus=(str(tmp_path / "tok.jsonl"),),
        model_corpus=(str(tmp_path / "model.txt"),),
        corpus_options=CorpusOptions(doc_per_line=True, text_field="body"),
    )
    store = AnalysisStore(view, inputs)
    model = store.get("model_corpus_stats")
    assert model.n_documents == 2 and model.read.empty_documents == 1
    assert store.get("corpus_stats").n_documents == 1
    assert set(store.sections()) == {"corpus_stats", "model_corpus_stats"}
    with pytest.raises(UserError, match="--max-documents"):
        CorpusOptions(max_documents=0)
