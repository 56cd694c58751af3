"""Corpus token statistics in one streaming pass, with state the size of the vocabulary.

Per token id: standalone occurrences, uses (occurrences plus appearances inside the
merge trees of the tokens that occur: a BPE token built from "Magik" + "arp" uses both),
the number of documents it occurs in and is used in, and the document holding most of
its uses with that count. Besides: the documents whose `decode(encode(doc)) != doc`
(count and the first differing span of a few), how many tokens are the unknown token,
and which characters become unknown or vanish.

Documents are encoded in batches with the view's batch encoder (all cores); the
per-batch counting is numpy on flat arrays. A document longer than `CHUNK_CHARS` is
encoded in pieces cut after a newline (or a space), so one enormous document never
needs the memory of its whole encoding; tokens that would span a cut may differ.

Two scans of consecutive shards merge exactly (`CorpusStats.merge`): counts add, the
other shard's document numbers shift by this shard's document count, and ties for the
top document go to the earlier document, as in one scan of the whole.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from auditor.analyses.profile import PreprocessingProfile, Profiler
from auditor.core import (
    CorpusOptions,
    Document,
    TokenizerView,
    TokenKind,
    UserError,
    first_line,
    is_error_or_panic,
)
from auditor.corpus.reader import ReadReport, check_usable, iter_documents
from auditor.escape import escape_text

# Memory follows the characters encoded at once (a tokenizers Encoding costs ~50 bytes
# per token): a 20 MB document peaks near 110 MB with these, 540 MB with 1 MB pieces.
CHUNK_CHARS = 1 << 16  # longest piece of a document encoded at once
LONG_GROUP_CHARS = 1 << 19  # pieces of one long document encoded together
BATCH_DOCS = 512
BATCH_CHARS = 1 << 20
SNIPPET_CHARS = 60
MAX_LOSSY_EXAMPLES = 10
MAX_FAILED_EXAMPLES = 5
PROGRESS_EVERY_S = 0.5
PREFETCH = True  # read and encode the next batch in a thread while this one is counted

_ARRAYS = ("occurrences", "uses", "documents", "use_documents", "top_document", "top_count")


@dataclass(frozen=True)
class DocRef:
    """A document a finding can point at: its locator and the start of its text, escaped."""

    ordinal: int  # position in the scanned stream (0-based)
    locator: str
    snippet: str


@dataclass(frozen=True)
class LossyExample:
    """A document whose round trip differs, with the first differing span of each side."""

    ordinal: int
    locator: str
    offset: int  # character offset of the first difference
    original: str  # escaped
    decoded: str  # escaped


def snippet(text: str, start: int = 0, width: int = SNIPPET_CHARS) -> str:
    """An escaped excerpt of `text` from `start`, with '…' where it was cut."""
    lo = max(0, start)
    part = escape_text(text[lo : lo + width])
    return ("…" if lo > 0 else "") + part + ("…" if lo + width < len(text) else "")


@dataclass(frozen=True)
class CorpusStats:
    """The corpus facts rules read. Arrays are indexed by token id (length vocab_size)."""

    vocab_size: int
    occurrences: np.ndarray  # int64: standalone occurrences
    uses: np.ndarray  # int64: occurrences + appearances inside occurring tokens' merge trees
    documents: np.ndarray  # int64: documents with a standalone occurrence
    use_documents: np.ndarray  # int64: documents using the token (standalone or inside)
    top_document: np.ndarray  # int64: ordinal of the document with most uses, -1 if unused
    top_count: np.ndarray  # int64: the uses in that document
    n_documents: int = 0
    n_tokens: int = 0
    n_chars: int = 0
    chunked_documents: int = 0  # documents longer than CHUNK_CHARS, encoded in pieces
    doc_table: Mapping[int, DocRef] = field(default_factory=dict)  # ordinal -> ref, for top documents
    # token id -> escaped excerpt of its top document around the token's first occurrence
    top_snippets: Mapping[int, str] = field(default_factory=dict)
    lossy_documents: int = 0
    lossy_examples: tuple[LossyExample, ...] = ()
    unk_tokens: int = 0
    unk_chars: Mapping[str, int] = field(default_factory=dict)  # character -> occurrences made unknown
    dropped_chars: Mapping[str, int] = field(default_factory=dict)  # character -> occurrences lost
    changed_chars: Mapping[str, int] = field(default_factory=dict)  # character -> occurrences changed
    char_first_doc: Mapping[str, str] = field(default_factory=dict)  # bad character -> first document's locator
    read: ReadReport = field(default_factory=ReadReport)
    merge_tree: bool = False  # whether inside-merge-tree uses were counted
    failed_documents: int = 0  # documents the tokenizer failed on (counted as no tokens)
    failed_examples: tuple[tuple[str, str], ...] = ()  # (locator, error) of the first few
    # Character-level preprocessing signals of the same documents (auditor/analyses/profile.py),
    # gathered in the same pass; None when the scan was asked not to profile.
    profile: PreprocessingProfile | None = None

    # --- what rules ask ---

    def doc(self, ordinal: int) -> DocRef | None:
        return self.doc_table.get(int(ordinal))

    def top_share(self) -> np.ndarray:
        """Per id, the share of its uses held by its top document (0 when unused)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.uses > 0, self.top_count / np.maximum(self.uses, 1), 0.0)
        return share

    def unk_char_total(self) -> int:
        return int(sum(self.unk_chars.values()))

    def dropped_char_total(self) -> int:
        return int(sum(self.dropped_chars.values()))

    def where(self, token_id: int) -> dict[str, Any]:
        """Where a token is used: counts and its top document (locator and snippet)."""
        ref = self.doc(int(self.top_document[token_id]))
        uses = int(self.uses[token_id])
        return {
            "occurrences": int(self.occurrences[token_id]),
            "uses": uses,
            "documents": int(self.documents[token_id]),
            "use_documents": int(self.use_documents[token_id]),
            "top_document": ref.locator if ref else None,
            "top_count": int(self.top_count[token_id]),
            "top_share": round(int(self.top_count[token_id]) / uses, 4) if uses else 0.0,
            "snippet": self.top_snippets.get(token_id, ref.snippet if ref else None),
        }

    # --- merging shards ---

    def merge(self, other: "CorpusStats") -> "CorpusStats":
        """Statistics of `self`'s documents followed by `other`'s (exact)."""
        if other.vocab_size != self.vocab_size:
            raise ValueError("cannot merge statistics of different vocabularies")
        shift = self.n_documents
        other_top = np.where(other.top_document >= 0, other.top_document + shift, -1)
        take_other = other.top_count > self.top_count  # ties: the earlier document (self) wins
        top_document = np.where(take_other, other_top, self.top_document)
        top_count = np.where(take_other, other.top_count, self.top_count)
        table = dict(self.doc_table)
        for ordinal, ref in other.doc_table.items():
            table[ordinal + shift] = replace(ref, ordinal=ordinal + shift)
        table = _prune(table, top_document)
        snippets = {t: v for t, v in self.top_snippets.items() if not take_other[t]}
        snippets.update({t: v for t, v in other.top_snippets.items() if take_other[t]})
        examples = list(self.lossy_examples) + [
            replace(e, ordinal=e.ordinal + shift) for e in other.lossy_examples
        ]
        return CorpusStats(
            vocab_size=self.vocab_size,
            occurrences=self.occurrences + other.occurrences,
            uses=self.uses + other.uses,
            documents=self.documents + other.documents,
            use_documents=self.use_documents + other.use_documents,
            top_document=top_document,
            top_count=top_count,
            n_documents=self.n_documents + other.n_documents,
            n_tokens=self.n_tokens + other.n_tokens,
            n_chars=self.n_chars + other.n_chars,
            chunked_documents=self.chunked_documents + other.chunked_documents,
            doc_table=table,
            top_snippets=dict(sorted(snippets.items())),
            lossy_documents=self.lossy_documents + other.lossy_documents,
            lossy_examples=tuple(examples[:MAX_LOSSY_EXAMPLES]),
            unk_tokens=self.unk_tokens + other.unk_tokens,
            unk_chars=dict(Counter(self.unk_chars) + Counter(other.unk_chars)),
            dropped_chars=dict(Counter(self.dropped_chars) + Counter(other.dropped_chars)),
            changed_chars=dict(Counter(self.changed_chars) + Counter(other.changed_chars)),
            char_first_doc={**other.char_first_doc, **self.char_first_doc},
            read=self.read.merge(other.read),
            merge_tree=self.merge_tree and other.merge_tree,
            failed_documents=self.failed_documents + other.failed_documents,
            failed_examples=(self.failed_examples + other.failed_examples)[:MAX_FAILED_EXAMPLES],
            profile=self.profile.merge(other.profile) if self.profile is not None and other.profile is not None else None,
        )

    # --- the shared cache (auditor/cache.py) ---

    def to_cache(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        doc = {
            "vocab_size": self.vocab_size,
            "n_documents": self.n_documents,
            "n_tokens": self.n_tokens,
            "n_chars": self.n_chars,
            "chunked_documents": self.chunked_documents,
            "doc_table": [[r.ordinal, r.locator, r.snippet] for _, r in sorted(self.doc_table.items())],
            "top_snippets": [[t, v] for t, v in sorted(self.top_snippets.items())],
            "lossy_documents": self.lossy_documents,
            "lossy_examples": [[e.ordinal, e.locator, e.offset, e.original, e.decoded] for e in self.lossy_examples],
            "unk_tokens": self.unk_tokens,
            "unk_chars": dict(self.unk_chars),
            "dropped_chars": dict(self.dropped_chars),
            "changed_chars": dict(self.changed_chars),
            "char_first_doc": dict(self.char_first_doc),
            "read": self.read.to_dict(),
            "merge_tree": self.merge_tree,
            "failed_documents": self.failed_documents,
            "failed_examples": [list(e) for e in self.failed_examples],
            "profile": self.profile.to_dict() if self.profile is not None else None,
        }
        return doc, {name: getattr(self, name) for name in _ARRAYS}

    @classmethod
    def from_cache(cls, doc: Mapping[str, Any], arrays: Mapping[str, Any]) -> "CorpusStats":
        return cls(
            vocab_size=int(doc["vocab_size"]),
            **{name: np.asarray(arrays[name], dtype=np.int64) for name in _ARRAYS},
            n_documents=int(doc["n_documents"]),
            n_tokens=int(doc["n_tokens"]),
            n_chars=int(doc["n_chars"]),
            chunked_documents=int(doc["chunked_documents"]),
            doc_table={int(o): DocRef(int(o), loc, snip) for o, loc, snip in doc["doc_table"]},
            top_snippets={int(t): v for t, v in doc["top_snippets"]},
            lossy_documents=int(doc["lossy_documents"]),
            lossy_examples=tuple(LossyExample(int(o), loc, int(off), a, b) for o, loc, off, a, b in doc["lossy_examples"]),
            unk_tokens=int(doc["unk_tokens"]),
            unk_chars={k: int(v) for k, v in doc["unk_chars"].items()},
            dropped_chars={k: int(v) for k, v in doc["dropped_chars"].items()},
            changed_chars={k: int(v) for k, v in doc["changed_chars"].items()},
            char_first_doc=dict(doc["char_first_doc"]),
            read=ReadReport.from_dict(doc["read"]),
            merge_tree=bool(doc["merge_tree"]),
            failed_documents=int(doc["failed_documents"]),
            failed_examples=tuple((loc, why) for loc, why in doc["failed_examples"]),
            profile=PreprocessingProfile.from_dict(doc["profile"]) if doc["profile"] is not None else None,
        )

    # --- the report ---

    def report_section(self) -> dict[str, Any]:
        def top(chars: Mapping[str, int], n: int = 10) -> list[dict[str, Any]]:
            ranked = sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            return [{"char": escape_text(c), "codepoint": f"U+{ord(c):04X}", "count": k} for c, k in ranked]

        unk_chars = self.unk_char_total()
        dropped = self.dropped_char_total()
        return {
            "documents": self.n_documents,
            "tokens": self.n_tokens,
            "characters": self.n_chars,
            "tokens_per_document": round(self.n_tokens / self.n_documents, 3) if self.n_documents else 0.0,
            "chunked_documents": self.chunked_documents,
            "tokens_seen": int(np.count_nonzero(self.occurrences)),
            "tokens_used_inside_only": int(np.count_nonzero((self.occurrences == 0) & (self.uses > 0))),
            "merge_tree_counted": self.merge_tree,
            "unk_tokens": self.unk_tokens,
            "unk_token_rate": round(self.unk_tokens / self.n_tokens, 6) if self.n_tokens else 0.0,
            "unk_char_rate": round(unk_chars / self.n_chars, 6) if self.n_chars else 0.0,
            "dropped_char_rate": round(dropped / self.n_chars, 6) if self.n_chars else 0.0,
            "unk_chars": top(self.unk_chars),
            "dropped_chars": top(self.dropped_chars),
            "lossy_documents": self.lossy_documents,
            "failed_documents": self.failed_documents,
            "failed_examples": [{"document": loc, "error": why} for loc, why in self.failed_examples],
            "read": self.read.to_dict(),
        }


def _prune(table: Mapping[int, Any], top_document: np.ndarray) -> dict[int, Any]:
    keep = set(np.unique(top_document[top_document >= 0]).tolist())
    return {o: r for o, r in table.items() if o in keep}


# ---------------------------------------------------------------- merge trees


def learned_mask(view: TokenizerView) -> np.ndarray:
    """Per id, whether training learned it: a normal token longer than one unit of the
    base alphabet (one byte for byte-level BPE, one character otherwise)."""
    mask = np.zeros(view.vocab_size, dtype=bool)
    for i, (kind, tb) in enumerate(zip(view.kinds, view.token_bytes)):
        if kind != TokenKind.NORMAL or tb is None:
            continue
        mask[i] = len(tb) > 1 if view.byte_level else len(tb.decode("utf-8", "replace")) > 1
    return mask


def merge_parents(view: TokenizerView) -> dict[int, tuple[int, int]] | None:
    """Per token id, the pair it is merged from (its first merge), or None without merges.

    BPE formats with merges give them; SentencePiece BPE only ranks its pieces, so the
    pair is derived: both halves must be pieces made before this one (single characters
    always are), and the split whose later half came earliest wins.
    """
    if view.model_type != "bpe":
        return None
    merges = view.bpe_merges()
    parents: dict[int, tuple[int, int]] = {}
    if merges is not None:
        for left, right, merged in merges:
            if merged not in parents and merged != left and merged != right:
                parents[merged] = (left, right)
        return parents
    if not view.facts.metaspace:
        return None
    index = {p: i for i, p in enumerate(view.pieces) if p is not None and view.kinds[i] == TokenKind.NORMAL}

    def rank(piece: str) -> int:
        return -1 if len(piece) == 1 else index[piece]

    for piece, tid in index.items():
        if len(piece) < 2:
            continue
        best: tuple[int, int, int] | None = None
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in index and b in index:
                ra, rb = rank(a), rank(b)
                if ra < tid and rb < tid and (best is None or max(ra, rb) < best[0]):
                    best = (max(ra, rb), index[a], index[b])
        if best is not None:
            parents[tid] = (best[1], best[2])
    return parents


@dataclass(frozen=True)
class MergeTree:
    """Per token, every token inside its merge tree (with multiplicity), as CSR arrays."""

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.indptr)

    @classmethod
    def build(cls, parents: Mapping[int, tuple[int, int]], size: int) -> "MergeTree":
        """Level by level in numpy: a token's tree is [left, tree(left), right, tree(right)],
        filled once both children's trees are. Tokens in a cycle of corrupt merges (and
        those built on them) never get ready and count as leaves."""
        left = np.full(size, -1, dtype=np.int64)
        right = np.full(size, -1, dtype=np.int64)
        if parents:
            keys = np.fromiter(parents.keys(), dtype=np.int64, count=len(parents))
            pairs = np.array(list(parents.values()), dtype=np.int64).reshape(-1, 2)
            ok = (keys >= 0) & (keys < size) & (pairs >= 0).all(axis=1) & (pairs < size).all(axis=1)
            left[keys[ok]], right[keys[ok]] = pairs[ok, 0], pairs[ok, 1]
        has = left >= 0
        safe_l, safe_r = np.where(has, left, 0), np.where(has, right, 0)
        done = ~has
        n_inside = np.zeros(size, dtype=np.int64)
        levels: list[np.ndarray] = []
        while True:
            idx = np.flatnonzero(has & ~done & done[safe_l] & done[safe_r])
            if not len(idx):
                break
            n_inside[idx] = 2 + n_inside[left[idx]] + n_inside[right[idx]]
            done[idx] = True
            levels.append(idx)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(n_inside, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), dtype=np.int64)

        def copy(src: np.ndarray, dst: np.ndarray, counts: np.ndarray) -> None:
            total = int(counts.sum())
            if total:
                off = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
                indices[np.repeat(dst, counts) + off] = indices[np.repeat(src, counts) + off]

        for idx in levels:
            lft, rgt = left[idx], right[idx]
            start, n_left = indptr[idx], n_inside[lft]
            indices[start] = lft
            copy(indptr[lft], start + 1, n_left)
            indices[start + 1 + n_left] = rgt
            copy(indptr[rgt], start + 2 + n_left, n_inside[rgt])
        return cls(indptr=indptr, indices=indices)


# ---------------------------------------------------------------- the scan


def iter_pieces(text: str, limit: int | None = None) -> Iterator[str]:
    """Cut `text` into pieces of at most `limit` (default CHUNK_CHARS) characters, after a
    newline or a space when one lies in the second half of the window."""
    limit = CHUNK_CHARS if limit is None else limit
    start = 0
    n = len(text)
    while n - start > limit:
        end = start + limit
        cut = text.rfind("\n", start + limit // 2, end)
        if cut < 0:
            cut = text.rfind(" ", start + limit // 2, end)
        cut = end if cut < 0 else cut + 1
        yield text[start:cut]
        start = cut
    yield text[start:]


def split_long(text: str, limit: int | None = None) -> list[str]:
    return list(iter_pieces(text, limit))


def _first_difference(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while hi - lo > 1:  # invariant: a[:lo] == b[:lo], a[:hi] != b[:hi]
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class _PlainBytes:
    """Token bytes in one array, for backends whose decode is "concatenate the tokens'
    bytes, read as UTF-8 with replacement": the round trip is then a byte comparison."""

    flat: np.ndarray  # uint8
    offsets: np.ndarray  # int64 per id
    lengths: np.ndarray  # int64 per id
    plain: np.ndarray  # bool per id: decode is these bytes (False: ask the library)

    @classmethod
    def of(cls, view: TokenizerView) -> "_PlainBytes | None":
        backend = type(view.backend).__name__
        decoder = view.facts.decoder
        if backend == "TiktokenBackend":
            plain_kinds = None  # every token with bytes
        elif backend == "TokenizersBackend" and isinstance(decoder, dict) and decoder.get("type") == "ByteLevel":
            plain_kinds = {TokenKind.NORMAL}
        else:
            return None
        size = view.vocab_size
        # Added and special tokens decode to their content, not through the byte map:
        # plain only where the library's decode([id]) says so.
        others = [i for i, (tb, kind) in enumerate(zip(view.token_bytes, view.kinds))
                  if plain_kinds is not None and kind not in plain_kinds and view.pieces[i] is not None]
        checked = {
            i: s.encode("utf-8", "surrogatepass") for i, s in zip(others, view.decode_batch([[i] for i in others]))
            if "\ufffd" not in s
        }
        if plain_kinds is None:
            tbs = list(view.token_bytes)
        else:
            tbs = [tb if kind in plain_kinds else checked.get(i) for i, (tb, kind) in enumerate(zip(view.token_bytes, view.kinds))]
        plain = np.fromiter((tb is not None for tb in tbs), dtype=bool, count=size)
        lengths = np.fromiter((0 if tb is None else len(tb) for tb in tbs), dtype=np.int64, count=size)
        offsets = np.zeros(size, dtype=np.int64)
        offsets[plain] = np.cumsum(lengths[plain]) - lengths[plain]
        flat = np.frombuffer(b"".join([tb for tb in tbs if tb is not None]), dtype=np.uint8)
        return cls(flat=flat, offsets=offsets, lengths=lengths, plain=plain)

    def lossless(self, ids: np.ndarray, piece_lengths: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Per text, True when its tokens' bytes are exactly its UTF-8 bytes (so decode gives
        it back); False means "ask the library" (a difference, or a token without plain bytes)."""
        n = len(texts)
        ends = np.cumsum(piece_lengths)  # token positions: piece k holds [ends[k] - len_k, ends[k])
        sure = np.ones(n, dtype=bool)
        unplain = np.flatnonzero(~self.plain[ids])
        if len(unplain):
            sure[np.searchsorted(ends, unplain, side="right")] = False
        tok_len = self.lengths[ids]
        byte_ends = np.cumsum(tok_len)
        at = np.concatenate([[0], byte_ends])  # bytes before each token position
        got_len = at[ends] - at[ends - piece_lengths]
        raw = [t.encode("utf-8", "surrogatepass") for t in texts]
        want_len = np.fromiter((len(b) for b in raw), dtype=np.int64, count=n)
        sure &= got_len == want_len
        if not sure.any():
            return sure
        # Compare the bytes of the texts whose lengths agree, all at once: one repeat gives
        # every byte's index in `flat` (its token's offset, shifted by its place in the text).
        if sure.all():
            take, t_len, t_ends = ids, tok_len, byte_ends
        else:
            keep = np.repeat(sure, piece_lengths)
            take, t_len = ids[keep], tok_len[keep]
            t_ends = np.cumsum(t_len)
        total = int(t_ends[-1]) if len(t_ends) else 0
        index = np.repeat(self.offsets[take] - (t_ends - t_len), t_len)
        index += np.arange(total, dtype=np.int64)
        got = self.flat[index]
        want = np.frombuffer(b"".join(b for b, keep in zip(raw, sure.tolist()) if keep), dtype=np.uint8)
        differs = np.flatnonzero(got != want)
        if len(differs):
            kept = np.flatnonzero(sure)
            sure[kept[np.searchsorted(np.cumsum(want_len[kept]), differs, side="right")]] = False
        return sure


def _pair_keys(d: np.ndarray, t: np.ndarray, size: int, n_docs: int) -> np.ndarray:
    """One sortable key per (document, token): int32 when it fits (sorts twice as fast)."""
    key = d * size + t
    return key.astype(np.int32) if n_docs * size < (1 << 31) else key


def _sum_by_token_document(
    t: np.ndarray, d: np.ndarray, c: np.ndarray, size: int, n_docs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (token, document) pairs with their summed counts, ordered by token then
    document: one in-place sort of (token, document, count) packed in int64 keys when they
    fit (a sort is several times cheaper than np.unique's argsort), lexsort otherwise."""
    d_bits = max(1, (n_docs - 1).bit_length())
    c_bits = max(1, (int(c.max()) if len(c) else 0).bit_length())
    t_bits = max(1, (size - 1).bit_length())
    if t_bits + d_bits + c_bits <= 63:
        key = (t << (d_bits + c_bits)) | (d << c_bits) | c
        key.sort()
        pair = key >> c_bits
        c_s = key & ((1 << c_bits) - 1)
    else:
        order = np.lexsort((d, t))
        pair, c_s = t[order] * n_docs + d[order], c[order]
        d_bits = 0
    starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
    sums = np.add.reduceat(c_s, starts)
    pair = pair[starts]
    if d_bits:
        return pair >> d_bits, pair & ((1 << d_bits) - 1), sums
    return pair // n_docs, pair % n_docs, sums


def _sort_best_first(t: np.ndarray, d: np.ndarray, c: np.ndarray, size: int, n_docs: int) -> tuple[np.ndarray, ...]:
    """(t, d, c) ordered by token, then count descending, then document: one sort of packed
    int64 keys when they fit (3x faster than lexsort), lexsort otherwise."""
    d_bits = max(1, (n_docs - 1).bit_length())
    c_max = int(c.max()) if len(c) else 0
    c_bits = max(1, c_max.bit_length())
    t_bits = max(1, (size - 1).bit_length())
    if t_bits + c_bits + d_bits > 63:
        order = np.lexsort((d, -c, t))
        return t[order], d[order], c[order]
    key = (t << (c_bits + d_bits)) | ((c_max - c) << d_bits) | d
    key.sort()
    return key >> (c_bits + d_bits), key & ((1 << d_bits) - 1), c_max - ((key >> d_bits) & ((1 << c_bits) - 1))


def _needle(token_bytes: bytes | None) -> str | None:
    """The text to look for in a document to show a token in context (None: none usable)."""
    try:
        text = token_bytes.decode("utf-8") if token_bytes else None
    except UnicodeDecodeError:
        text = None
    return text if text and text.strip() else None


@dataclass(frozen=True)
class _Encoded:
    """One batch after encoding: which documents were encoded whole, their ids and round trips."""

    docs: Sequence[Document]
    short: list[int]
    texts: list[str]
    ids: np.ndarray
    lengths: np.ndarray
    decoded: list[str]
    failed: list[tuple[int, str]] = field(default_factory=list)  # (index in docs, error)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Run the iterator `items` in a thread, `depth` items ahead of the consumer.

    Reading, parsing and the library's encoding (which releases the GIL) of the next
    batch then overlap the counting of this one. Order is kept; an exception in the
    thread is raised here; a consumer that stops early stops the thread.
    """
    import queue
    import threading

    q: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failure(exc))

    thread = threading.Thread(target=work, name="tokaudit-corpus-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is end:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class _Scanner:
    """Accumulates one stream of documents into CorpusStats."""

    def __init__(self, view: TokenizerView, tree: MergeTree | None) -> None:
        size = view.vocab_size
        self.view = view
        self.size = size
        self.tree = tree
        self.arrays = {name: np.zeros(size, dtype=np.int64) for name in _ARRAYS}
        self.arrays["top_document"][:] = -1
        self.unk_ids = np.array(
            sorted({i for i, k in enumerate(view.kinds) if k == TokenKind.UNKNOWN} | ({view.unk_id} if view.unk_id is not None else set())),
            dtype=np.int64,
        )
        self.plain = _PlainBytes.of(view)
        self.needles: dict[int, str | None] = {}  # token id -> _needle, filled as tokens become top tokens
        self.snippets: dict[int, tuple[bool, str, bool]] = {}
        self.n_documents = 0
        self.n_tokens = 0
        self.n_chars = 0
        self.chunked = 0
        # ordinal -> (locator, start of the text): escaped once, at the end, for the survivors
        self.table: dict[int, tuple[str, str]] = {}
        self.prune_at = 4096
        self.lossy = 0
        self.examples: list[LossyExample] = []
        self.unk_tokens = 0
        self.char_status: dict[str, int] = {}  # 0 fine, 1 unknown, 2 dropped, 3 changed
        self.char_counts: tuple[Counter, Counter, Counter] = (Counter(), Counter(), Counter())
        self.char_first: dict[str, str] = {}
        self.failed = 0
        self.failed_examples: list[tuple[str, str]] = []

    def encode(self, docs: Sequence[Document]) -> "_Encoded":
        """The batch's encoding work (documents up to CHUNK_CHARS): ids and round trips.

        Reads only the view, so it may run in another thread than the counting."""
        short = [k for k, d in enumerate(docs) if len(d.text) <= CHUNK_CHARS]
        texts = [docs[k].text for k in short]
        if not texts:
            return _Encoded(docs, short, texts, np.zeros(0, np.int64), np.zeros(0, np.int64), [])
        failed: list[tuple[int, str]] = []
        try:
            encoded = self.view.encode_batch(texts)
        except BaseException as exc:  # a Rust panic is a BaseException
            if not is_error_or_panic(exc):
                raise
            encoded = []
            for k, text in zip(short, texts):  # find the document(s) at fault; the others count
                try:
                    encoded.append(self.view.encode_batch([text])[0])
                except BaseException as one:
                    if not is_error_or_panic(one):
                        raise
                    encoded.append([])
                    failed.append((k, f"{type(one).__name__}: {first_line(one)}"))
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        ids = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum()))
        decoded = self._decode(encoded, ids, lengths, texts)
        if failed:
            position = {k: n for n, k in enumerate(short)}
            for k, _why in failed:
                decoded[position[k]] = texts[position[k]]  # not a round-trip finding: reported as failed
        return _Encoded(docs, short, texts, ids, lengths, decoded, failed)

    def add_batch(self, docs: Sequence[Document], pre: "_Encoded | None" = None) -> int:
        """Count one batch (encoded by `encode`, here when not given); returns its tokens.

        Documents up to CHUNK_CHARS are encoded together; a longer one is encoded in
        pieces, a few at a time, its counts gathered in one vocabulary-sized array, so
        its memory is that of a few pieces, not of its whole encoding.
        """
        pre = pre if pre is not None else self.encode(docs)
        size = self.size
        base = self.n_documents
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (doc, token, count), unique pairs
        to_explain: dict[int, LossyExample | None] = {}
        total = 0
        short, texts, ids, lengths, decoded = pre.short, pre.texts, pre.ids, pre.lengths, pre.decoded
        for k, why in pre.failed:
            self.failed += 1
            if len(self.failed_examples) < MAX_FAILED_EXAMPLES:
                self.failed_examples.append((docs[k].locator, why))
        if short:
            total += int(lengths.sum())
            doc_idx = np.repeat(np.asarray(short, dtype=np.int64), lengths)
            key, counts = np.unique(_pair_keys(doc_idx, ids, size, len(docs)), return_counts=True)
            d, t = np.divmod(key.astype(np.int64), size)
            parts.append((d, t, counts))
            for k, text, back in zip(short, texts, decoded):
                if text != back:
                    to_explain[k] = self._difference(docs[k], base + k, text, back, 0)
            if len(self.unk_ids):
                has_unk = np.isin(ids, self.unk_ids)
                self.unk_tokens += int(has_unk.sum())
                for k in np.unique(doc_idx[has_unk]).tolist():
                    to_explain.setdefault(k, None)
        for k, doc in enumerate(docs):
            if len(doc.text) > CHUNK_CHARS:
                self.chunked += 1
                counts_v, diff = self._long_document(doc, base + k)
                t = np.flatnonzero(counts_v)
                parts.append((np.full(len(t), k, dtype=np.int64), t, counts_v[t]))
                total += int(counts_v.sum())
                unk = int(counts_v[self.unk_ids].sum()) if len(self.unk_ids) else 0
                self.unk_tokens += unk
                if diff is not None or unk:
                    to_explain[k] = diff
        if parts:
            d, t, c = (np.concatenate([p[i] for p in parts]) for i in range(3))
            self._count(d, t, c, docs, base)
        for k in sorted(to_explain):
            self._explain(docs[k], to_explain[k])
        self.n_documents += len(docs)
        self.n_tokens += total
        self.n_chars += sum(len(d.text) for d in docs)
        return total

    def _decode(self, encoded: list[list[int]], ids: np.ndarray, lengths: np.ndarray, texts: list[str]) -> list[str]:
        """decode(encode(text)) per text; where the tokens' bytes are the text's, the text itself."""
        if self.plain is None:
            return self.view.decode_batch(encoded)
        same = self.plain.lossless(ids, lengths, texts)
        out = list(texts)
        ask = np.flatnonzero(~same).tolist()
        if ask:
            for k, back in zip(ask, self.view.decode_batch([encoded[k] for k in ask])):
                out[k] = back
        return out

    def _long_document(self, doc: Document, ordinal: int) -> tuple[np.ndarray, LossyExample | None]:
        """Token counts of one enormous document and its first round-trip difference."""
        counts = np.zeros(self.size, dtype=np.int64)
        diff: LossyExample | None = None
        offset = 0
        group: list[str] = []
        chars = 0

        def run() -> None:
            nonlocal offset, diff, chars
            encoded = self.view.encode_batch(group)
            for piece, enc, back in zip(group, encoded, self.view.decode_batch(encoded)):
                if enc:
                    counts[:] += np.bincount(np.asarray(enc, dtype=np.int64), minlength=self.size)
                if diff is None and piece != back:
                    diff = self._difference(doc, ordinal, piece, back, offset)
                offset += len(piece)
            group.clear()
            chars = 0

        for piece in iter_pieces(doc.text):
            group.append(piece)
            chars += len(piece)
            if chars >= LONG_GROUP_CHARS:
                run()
        if group:
            run()
        return counts, diff

    @staticmethod
    def _difference(doc: Document, ordinal: int, text: str, back: str, offset: int) -> LossyExample:
        i = _first_difference(text, back)
        start = max(0, i - 10)
        return LossyExample(ordinal, doc.locator, offset + i, snippet(text, start, 40), snippet(back, start, 40))

    def _count(self, d: np.ndarray, t: np.ndarray, counts: np.ndarray, docs: Sequence[Document], base: int) -> None:
        """Add unique (document, token, count) triples of one batch."""
        a = self.arrays
        size = self.size
        if not len(t):
            return
        a["occurrences"] += np.bincount(t, weights=counts, minlength=size).astype(np.int64)
        a["documents"] += np.bincount(t, minlength=size)
        if self.tree is not None:
            sizes = self.tree.sizes[t]
            n_inner = int(sizes.sum())
            if n_inner:
                # Each pair's tree, flattened: one repeat gives every inside token's index
                # in tree.indices and its pair, whose document and count it shares.
                first = np.cumsum(sizes) - sizes
                pair = np.repeat(np.arange(len(t), dtype=np.int64), sizes)
                inner = self.tree.indices[(self.tree.indptr[t] - first)[pair] + np.arange(n_inner, dtype=np.int64)]
                d = np.concatenate([d, d[pair]])
                t = np.concatenate([t, inner])
                counts = np.concatenate([counts, counts[pair]])
        # Uses per (token, document), ordered by token then document: one sort of packed keys.
        t, d, counts = _sum_by_token_document(t, d, counts, size, len(docs))
        a["use_documents"] += np.bincount(t, minlength=size)
        a["uses"] += np.bincount(t, weights=counts, minlength=size).astype(np.int64)
        # The document with most uses per token in this batch; ties to the earlier document.
        starts = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]]))
        group_of = np.zeros(len(t), dtype=np.int64)
        group_of[starts[1:]] = 1
        np.cumsum(group_of, out=group_of)
        best = np.maximum.reduceat(counts, starts)
        cand = np.flatnonzero(counts == best[group_of])
        keep = np.ones(len(cand), dtype=bool)
        keep[1:] = group_of[cand[1:]] != group_of[cand[:-1]]
        pick = cand[keep]
        t_b, d_b, c_b = t[pick], d[pick], counts[pick]
        better = c_b > a["top_count"][t_b]
        if better.any():
            tb, db = t_b[better], d_b[better]
            a["top_document"][tb] = base + db
            a["top_count"][tb] = c_b[better]
            for k in np.unique(db).tolist():
                doc = docs[k]
                self.table[base + k] = (doc.locator, doc.text[: SNIPPET_CHARS + 1])
            needles, snippets, token_bytes = self.needles, self.snippets, self.view.token_bytes
            for tok, k in zip(tb.tolist(), db.tolist()):
                needle = needles.get(tok, False)
                if needle is False:
                    needle = needles[tok] = _needle(token_bytes[tok])
                at = docs[k].text.find(needle) if needle else -1
                if at >= 0:  # kept raw, escaped once at the end
                    lo = max(0, at - 20)
                    text = docs[k].text
                    snippets[tok] = (lo > 0, text[lo : lo + SNIPPET_CHARS], lo + SNIPPET_CHARS < len(text))
                else:  # the document's start stands in (doc_table)
                    snippets.pop(tok, None)
            if len(self.table) > self.prune_at:  # keep only documents some token still points at
                self.table = _prune(self.table, a["top_document"])
                self.prune_at = 2 * len(self.table) + 4096

    def _explain(self, doc: Document, diff: LossyExample | None) -> None:
        """A lossy or unknown-holding document: keep its first difference, find the characters at fault."""
        if diff is not None:
            self.lossy += 1
            if len(self.examples) < MAX_LOSSY_EXAMPLES:
                self.examples.append(diff)
        chars = set(doc.text)
        todo = sorted(c for c in chars if c not in self.char_status)
        if todo:
            unk = set(self.unk_ids.tolist())
            encoded = self.view.encode_batch(todo)
            for ch, enc, back in zip(todo, encoded, self.view.decode_batch(encoded)):
                if any(i in unk for i in enc):
                    self.char_status[ch] = 1
                elif (not enc or not back) and not ch.isspace():
                    # Whitespace that encodes to nothing is the pre-tokenizer's separator
                    # (the decoder puts it back); its loss shows in the round trip instead.
                    self.char_status[ch] = 2
                elif not enc or not back:
                    self.char_status[ch] = 0
                elif back != ch:
                    self.char_status[ch] = 3
                else:
                    self.char_status[ch] = 0
        for ch in sorted(chars):
            status = self.char_status[ch]
            if status:
                self.char_counts[status - 1][ch] += doc.text.count(ch)
                self.char_first.setdefault(ch, doc.locator)

    def result(self, read: ReadReport, profile: PreprocessingProfile | None = None) -> CorpusStats:
        a = self.arrays
        return CorpusStats(
            vocab_size=self.size,
            **a,
            n_documents=self.n_documents,
            n_tokens=self.n_tokens,
            n_chars=self.n_chars,
            chunked_documents=self.chunked,
            doc_table={
                o: DocRef(o, loc, snippet(head)) for o, (loc, head) in sorted(_prune(self.table, a["top_document"]).items())
            },
            top_snippets={
                t: ("…" if cut_left else "") + escape_text(part) + ("…" if cut_right else "")
                for t, (cut_left, part, cut_right) in sorted(self.snippets.items())
            },
            lossy_documents=self.lossy,
            lossy_examples=tuple(self.examples),
            unk_tokens=self.unk_tokens,
            unk_chars=dict(self.char_counts[0]),
            dropped_chars=dict(self.char_counts[1]),
            changed_chars=dict(self.char_counts[2]),
            char_first_doc=dict(self.char_first),
            read=read,
            merge_tree=self.tree is not None,
            failed_documents=self.failed,
            failed_examples=tuple(self.failed_examples),
            profile=profile,
        )


def merge_tree_of(view: TokenizerView) -> MergeTree | None:
    parents = merge_parents(view)
    return None if not parents else MergeTree.build(parents, view.vocab_size)


def scan_documents(
    view: TokenizerView,
    documents: Iterable[Document],
    *,
    read: ReadReport | None = None,
    progress: Callable[[str], None] | None = None,
    label: str = "corpus",
    tree: MergeTree | None | bool = True,
    profile: bool = False,
) -> CorpusStats:
    """Statistics of `documents` under `view` (one pass; `tree=True` builds the merge tree).

    With `profile`, the character-level preprocessing profile of the same documents is
    gathered batch by batch in this pass (in this thread, while the prefetch thread
    reads and encodes the next batch) and kept in `CorpusStats.profile`.
    """
    if tree is True:
        tree = merge_tree_of(view)
    elif tree is False:
        tree = None
    scanner = _Scanner(view, tree)
    profiler = Profiler() if profile else None
    say = progress or (lambda _msg: None)
    started = last = time.monotonic()
    encoded = (scanner.encode(batch) for batch in _batches(documents))
    for pre in _prefetch(encoded) if PREFETCH else encoded:
        scanner.add_batch(pre.docs, pre)
        if profiler is not None:
            profiler.add(pre.docs)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            spent = max(now - started, 1e-9)
            say(
                f"{label}: {scanner.n_documents} documents, {scanner.n_tokens} tokens "
                f"({scanner.n_documents / spent:,.0f} documents/s, {scanner.n_tokens / spent:,.0f} tokens/s)"
            )
    return scanner.result(read if read is not None else ReadReport(), profiler.result() if profiler else None)


def _batches(documents: Iterable[Document]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    chars = 0
    for doc in documents:
        batch.append(doc)
        chars += len(doc.text)
        if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def scan_corpus(
    view: TokenizerView,
    paths: Sequence[str],
    options: CorpusOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    label: str = "corpus",
    profile: bool = True,
) -> CorpusStats:
    """Read `paths` with the reader options and scan them (with the preprocessing profile
    unless `profile=False`); UserError when nothing was usable."""
    opts = options or CorpusOptions()
    read = ReadReport()
    docs = iter_documents(
        list(paths), report=read, text_field=opts.text_field, doc_per_line=opts.doc_per_line, max_documents=opts.max_documents
    )
    stats = scan_documents(view, docs, read=read, progress=progress, label=label, profile=profile)
    check_usable(read, paths, label)
    return stats


def read_warnings(artifacts: Iterable[Any]) -> list[str]:
    """One line per corpus that had bad records or unreadable files (from report sections),
    said once even when several tokenizers read the same corpus."""
    out: list[str] = []
    for art in artifacts:
        for name, label in (("corpus_stats", "corpus"), ("model_corpus_stats", "model corpus")):
            section = (getattr(art, "sections", None) or {}).get(name, {})
            if section.get("failed_documents"):
                first = section["failed_examples"][0]
                line = (
                    f"{label}: the tokenizer failed on {section['failed_documents']} document(s), counted as "
                    f"empty (first: {first['document']}: {first['error']})"
                )
                if line not in out:
                    out.append(line)
            read = section.get("read")
            if not read or not (read["bad_records"] or read["unreadable_files"]):
                continue
            report = ReadReport.from_dict(read)
            line = f"{label}: {report.summary()}"
            examples = [loc for r in sorted(report.bad_examples) for loc in report.bad_examples[r][:1]]
            if examples:
                line += f" (e.g. {', '.join(examples[:3])})"
            if line not in out:
                out.append(line)
    return out
