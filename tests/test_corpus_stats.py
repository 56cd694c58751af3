"""Corpus statistics: exact against a per-document reference, shards merge exactly, cache round trip."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from auditor.cache import Cache
from auditor.core import Document
from auditor.corpus import kernels
from auditor.corpus.chunking import split_long
from auditor.corpus.merge_tree import MergeTree, merge_parents
from auditor.corpus.reader import ReadReport
from auditor.corpus.result import CorpusStats
from auditor.corpus.scan import scan_documents
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
    return {
        "occurrences": occ,
        "uses": uses,
        "documents": docs,
        "use_documents": use_docs,
        "top_document": top_doc,
        "top_count": top_count,
    }


def _serialized(stats: CorpusStats) -> tuple[bytes, bytes, bytes]:
    """What leaves the process: the report section and the cache document as JSON in their
    own key order, and the cached arrays' names, dtypes, shapes and bytes."""
    document, arrays = stats.to_cache()
    array_bytes = b"".join(
        name.encode() + str(array.dtype).encode() + str(array.shape).encode() + np.ascontiguousarray(array).tobytes()
        for name, array in arrays.items()
    )
    return (
        json.dumps(stats.report_section(), sort_keys=False, ensure_ascii=False).encode(),
        json.dumps(document, sort_keys=False, ensure_ascii=False).encode(),
        array_bytes,
    )


def _assert_same(a: CorpusStats, b: CorpusStats) -> None:
    for name in ("occurrences", "uses", "documents", "use_documents", "top_document", "top_count"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    section_a, document_a, arrays_a = _serialized(a)
    section_b, document_b, arrays_b = _serialized(b)
    assert section_a == section_b
    assert document_a == document_b
    assert arrays_a == arrays_b


def test_counts_match_a_per_document_reference(view, monkeypatch):
    monkeypatch.setattr("auditor.corpus.scan.BATCH_DOCS", 3)  # several batches
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


def test_merged_character_maps_serialize_like_one_scan(write_tokenizer):
    """Each shard meets its bad characters in its own order; the merged result must still
    list them (and their first documents) as one scan of the whole does, byte for byte."""
    unk = load_tokenizer(write_tokenizer(char_bpe("abc", ["abc"]), name="unk.json"))
    docs = _docs(["abc y", "abc x", "x z y", "w"])
    whole = scan_documents(unk, docs)
    assert whole.char_first_doc == {
        "w": "c.jsonl:line 4",
        "x": "c.jsonl:line 2",
        "y": "c.jsonl:line 1",
        "z": "c.jsonl:line 3",
    }
    for cut in (1, 2, 3):
        merged = scan_documents(unk, docs[:cut]).merge(scan_documents(unk, docs[cut:]))
        assert merged.char_first_doc == whole.char_first_doc
        for name in ("unk_chars", "dropped_chars", "changed_chars", "char_first_doc"):
            assert list(getattr(merged, name)) == list(getattr(whole, name)), (cut, name)
        _assert_same(merged, whole)
    three = scan_documents(unk, docs[:1]).merge(scan_documents(unk, docs[1:2])).merge(scan_documents(unk, docs[2:]))
    _assert_same(three, whole)


def test_cache_document_is_written_in_key_order(write_tokenizer):
    """The cache document does not depend on the order a result's maps were filled in."""
    unk = load_tokenizer(write_tokenizer(char_bpe("abc", ["abc"]), name="unk.json"))
    stats = scan_documents(unk, _docs(["abc z", "abc x y"]))
    shuffled = CorpusStats.from_cache(*stats.to_cache())
    object.__setattr__(shuffled, "char_first_doc", dict(reversed(list(stats.char_first_doc.items()))))
    object.__setattr__(shuffled, "unk_chars", dict(reversed(list(stats.unk_chars.items()))))
    assert _serialized(shuffled) == _serialized(stats)
    document = stats.to_cache()[0]
    for name in ("unk_chars", "dropped_chars", "changed_chars", "char_first_doc"):
        assert list(document[name]) == sorted(document[name]), name


def test_each_character_effect_lands_in_its_map(write_tokenizer):
    drop_q = {"type": "Replace", "pattern": {"String": "q"}, "content": ""}
    view = load_tokenizer(
        write_tokenizer(
            byte_level_bpe(["hello"], normalizer={"type": "Sequence", "normalizers": [drop_q, {"type": "Lowercase"}]})
        )
    )
    stats = scan_documents(view, _docs(["hello", "qq Hello"]))
    assert stats.dropped_chars == {"q": 2}  # encodes to nothing
    assert stats.changed_chars == {"H": 1}  # comes back as "h"
    assert stats.unk_chars == {}
    assert stats.char_first_doc == {"H": "c.jsonl:line 2", "q": "c.jsonl:line 2"}
    assert stats.lossy_documents == 1


def test_warnings_name_bad_records_and_unreadable_files(view):
    read = ReadReport(files=2, documents=3)
    read.bad("invalid JSON", "c.jsonl:line 4")
    read.bad("invalid JSON", "c.jsonl:line 5")
    read.bad("no text field", "c.jsonl:line 7")
    read.unreadable.append(("gone.jsonl", "FileNotFoundError: No such file"))
    stats = scan_documents(view, _docs(["hello", "world", "hello world"]), read=read)
    expected = (
        "3 documents from 2 file(s); 3 bad records: invalid JSON (2), no text field (1); "
        "1 unreadable: gone.jsonl (FileNotFoundError: No such file) (e.g. c.jsonl:line 4, c.jsonl:line 7)"
    )
    assert stats.warnings("corpus") == [f"corpus: {expected}"]
    assert stats.warnings("model corpus") == [f"model corpus: {expected}"]
    assert CorpusStats.from_cache(*stats.to_cache()).warnings("corpus") == [f"corpus: {expected}"]
    clean = scan_documents(view, _docs(["hello"]), read=ReadReport(files=1, documents=1))
    assert clean.warnings("corpus") == []
    only_unreadable = ReadReport(files=1, documents=1, unreadable=[("x.jsonl", "PermissionError: denied")])
    assert scan_documents(view, _docs(["hello"]), read=only_unreadable).warnings("corpus") == [
        "corpus: 1 documents from 1 file(s); 1 unreadable: x.jsonl (PermissionError: denied)"
    ]


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
    a = scan_documents(view, _docs(DOCS))
    b = scan_documents(view, _docs(DOCS))
    assert _serialized(a) == _serialized(b)
    section = a.report_section()
    assert section["documents"] == len(DOCS) and section["tokens"] > 0


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
    monkeypatch.setattr("auditor.corpus.chunking.CHUNK_CHARS", 1000)
    monkeypatch.setattr("auditor.corpus.chunking.LONG_GROUP_CHARS", 2500)
    text = ("hello world zqxv\n" * 400) + "x" * 3000
    seen, calls = [], []
    encode = view.backend.encode_batch
    monkeypatch.setattr(
        view.backend,
        "encode_batch",
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
    from auditor.corpus.reader import iter_documents

    view = load_tokenizer("sample_corpora/demo/tokenizer.json")
    docs = list(iter_documents(["sample_corpora/demo/corpus.jsonl"], max_documents=200))
    docs += _docs(["<|endoftext|> and <|pad|>  \u00a0x", "caf\u00e9 \ufffd \x00?", "    indented\r\n\tcode", "🙂" * 3])
    assert kernels.PlainBytes.of(view) is not None
    fast = scan_documents(view, docs)
    monkeypatch.setattr(kernels.PlainBytes, "of", classmethod(lambda cls, v: None))
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
    monkeypatch.setattr("auditor.corpus.scan.BATCH_DOCS", 2)
    threaded = scan_documents(view, _docs(DOCS))
    monkeypatch.setattr("auditor.corpus.scan.PREFETCH", False)
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
    assert stats.warnings("corpus") == [
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
