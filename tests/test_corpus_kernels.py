"""The corpus scan's faster paths give the results of the plain definitions."""

from __future__ import annotations

import json
import random
import unicodedata

import numpy as np

from auditor.analyses.profile import Profiler, profile_documents, text_signals
from auditor.cache import Cache
from auditor.core import RunInputs
from auditor.corpus.kernels import sum_by_token_document
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.loaders import load_tokenizer
from auditor.store import AnalysisStore


def _slow_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\n\r\t\\":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}[ch])
        elif ch != " " and unicodedata.category(ch)[0] in "CZ":
            cp = ord(ch)
            out.append(f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}")
        else:
            out.append(ch)
    return "".join(out)


def test_escape_fast_path_agrees_with_the_categories():
    """str.isprintable decides the fast path: it must keep exactly what the rule keeps."""
    for cp in range(0, 0x110000, 5):
        if 0xD800 <= cp < 0xE000:
            continue  # lone surrogates: not in any text the scan escapes
        ch = chr(cp)
        assert escape_text(ch) == _slow_escape(ch), hex(cp)
    for text in ["plain words", "tab\there", "back\\slash", "nbsp\u00a0x", "", "東京 🙂", "a\u200bb"]:
        assert escape_text(text) == _slow_escape(text)


def _reference_sums(t, d, c):
    acc: dict[tuple[int, int], int] = {}
    for ti, di, ci in zip(t.tolist(), d.tolist(), c.tolist()):
        acc[(ti, di)] = acc.get((ti, di), 0) + ci
    keys = sorted(acc)
    return [k[0] for k in keys], [k[1] for k in keys], [acc[k] for k in keys]


def test_sum_by_token_document_matches_a_dict_both_paths():
    rng = np.random.default_rng(0)
    for size, n_docs, c_max in [(50, 7, 9), (300, 512, 1 << 20), (1 << 50, 1 << 10, 40)]:  # the last: lexsort
        n = 2000
        t = rng.integers(0, min(size, 300), n).astype(np.int64)
        d = rng.integers(0, n_docs, n).astype(np.int64)
        c = rng.integers(1, c_max, n).astype(np.int64)
        got = sum_by_token_document(t.copy(), d.copy(), c.copy(), size, n_docs)
        want = _reference_sums(t, d, c)
        assert [x.tolist() for x in got] == [list(w) for w in want]


def test_profile_batch_shortcuts_agree_with_one_text_at_a_time():
    """Rare signals are checked once per batch; batches with and without them count the same."""
    rng = random.Random(5)
    alphabet = list("ab AZ\t\r\n  \u00a0\u200b\ufeff\x07\ufb01\u0301") + [" \n", "\t\r", "\r\n", "x "]
    for trial in range(300):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 6))]
        if trial % 2:
            texts = [t.replace("\r", "").replace("\t", "").replace("\x07", "").replace(" \n", "x") for t in texts]
        profiler = Profiler()
        profiler.add(texts)
        got = profiler.result()
        occ: dict[str, int] = {}
        docs: dict[str, int] = {}
        for text in texts:
            for sig, n in text_signals(text).items():
                occ[sig] = occ.get(sig, 0) + n
                docs[sig] = docs.get(sig, 0) + 1
        assert dict(got.occurrences) == occ and dict(got.in_documents) == docs, texts
        assert got == profile_documents(texts)


def _store(tmp_path, cache, **inputs):
    path = tmp_path / "tok.json"
    if not path.exists():
        path.write_text(json.dumps(byte_level_bpe([" the", " cat", "\r\n"])), encoding="utf-8")
    return AnalysisStore(load_tokenizer(path), RunInputs(cache=cache, **inputs), artifact_key="tok")


def test_profile_only_with_a_model_corpus_and_cached_apart(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "\n".join(json.dumps({"text": t}) for t in ["the cat\r\n", "a cat  sat"]) + "\n", encoding="utf-8"
    )
    cache = Cache(tmp_path / "cache")
    plain = _store(tmp_path, cache, corpus=(str(corpus),)).get("corpus_stats")
    assert plain.profile is None  # a lint without a model corpus skips the profile
    # The entry cached without a profile must not serve a run that compares corpora.
    both = _store(tmp_path, cache, corpus=(str(corpus),), model_corpus=(str(corpus),))
    stats = both.get("corpus_stats")
    assert stats.profile is not None and stats.profile.has("crlf") and stats.profile.has("space_run")
    assert both.get("model_corpus_stats").profile == stats.profile
    assert both.get("corpus_mismatch") is not None
    # Each kind of entry is found again by a run of its kind.
    hits = cache.hits
    again = _store(tmp_path, cache, corpus=(str(corpus),), model_corpus=(str(corpus),)).get("corpus_stats")
    assert cache.hits == hits + 1 and again.profile == stats.profile
    assert _store(tmp_path, cache, corpus=(str(corpus),)).get("corpus_stats").profile is None
    assert cache.hits == hits + 2
    assert np.array_equal(plain.uses, stats.uses) and plain.doc_table == stats.doc_table
