"""The corpus scan: token statistics of a stream of documents in one pass, with state the
size of the vocabulary. `scan_corpus` (files, with the reader's options) and
`scan_documents` (documents already read) are the entry points; both give a `CorpusStats`.

Per token id: standalone occurrences, uses (occurrences plus appearances inside the
merge trees of the tokens that occur: a BPE token built from "Magik" + "arp" uses both),
the number of documents it occurs in and is used in, and the document holding most of
its uses with that count. Besides: the documents whose `decode(encode(doc)) != doc`
(count and the first differing span of a few), how many tokens are the unknown token,
and which characters become unknown, vanish or change.

Documents are encoded in batches with the view's batch encoder (all cores), the next
batch in a thread while this one is counted; the per-batch counting is numpy on flat
arrays (`auditor.corpus.kernels`). A document longer than `chunking.CHUNK_CHARS` is
encoded in pieces cut after a newline (or a space), so one enormous document never
needs the memory of its whole encoding; tokens that would span a cut may differ.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from auditor.analyses.profile import PreprocessingProfile, Profiler
from auditor.core import (
    CorpusOptions,
    Document,
    TokenizerView,
    TokenKind,
    first_line,
    is_error_or_panic,
)
from auditor.corpus import chunking
from auditor.corpus.kernels import PlainBytes, pair_keys, sum_by_token_document
from auditor.corpus.merge_tree import MergeTree, merge_tree_of
from auditor.corpus.prefetch import prefetch
from auditor.corpus.reader import ReadReport, check_usable, iter_documents
from auditor.corpus.result import (
    ARRAY_NAMES,
    MAX_FAILED_EXAMPLES,
    MAX_LOSSY_EXAMPLES,
    SNIPPET_CHARS,
    CorpusStats,
    DocRef,
    LossyExample,
    prune_document_table,
    snippet,
)
from auditor.escape import escape_text

BATCH_DOCS = 512
BATCH_CHARS = 1 << 20
PROGRESS_EVERY_S = 0.5
PREFETCH = True  # read and encode the next batch in a thread while this one is counted


class CharacterEffect(enum.IntEnum):
    """What the tokenizer does to one character, encoded alone and decoded back."""

    KEPT = 0  # comes back as itself (or is whitespace the decoder puts back)
    UNKNOWN = 1  # encodes to an unknown token
    DROPPED = 2  # encodes or decodes to nothing
    CHANGED = 3  # comes back as something else


@dataclass(frozen=True)
class EncodedBatch:
    """One batch after encoding: which documents were encoded whole, their ids and round trips."""

    docs: Sequence[Document]
    short: list[int]  # indices in docs of the documents encoded whole (up to CHUNK_CHARS)
    texts: list[str]  # their texts
    ids: np.ndarray  # their token ids, one document after the other
    lengths: np.ndarray  # tokens per document
    decoded: list[str]  # decode(encode(text)) per text
    failed: list[tuple[int, str]] = field(default_factory=list)  # (index in docs, error)


def _first_difference(a: str, b: str) -> int:
    """The first index where `a` and `b` differ (the shorter length when one starts the other)."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while high - low > 1:  # invariant: a[:low] == b[:low], a[:high] != b[:high]
        middle = (low + high) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle
    return low


def _search_text(token_bytes: bytes | None) -> str | None:
    """The text to look for in a document to show a token in context (None: none usable)."""
    try:
        text = token_bytes.decode("utf-8") if token_bytes else None
    except UnicodeDecodeError:
        text = None
    return text if text and text.strip() else None


class _Scanner:
    """Accumulates one stream of documents into CorpusStats."""

    def __init__(self, view: TokenizerView, tree: MergeTree | None) -> None:
        size = view.vocab_size
        self.view = view
        self.size = size
        self.tree = tree
        self.arrays = {name: np.zeros(size, dtype=np.int64) for name in ARRAY_NAMES}
        self.arrays["top_document"][:] = -1
        self.unk_ids = np.array(
            sorted(
                {i for i, k in enumerate(view.kinds) if k == TokenKind.UNKNOWN}
                | ({view.unk_id} if view.unk_id is not None else set())
            ),
            dtype=np.int64,
        )
        self.plain_bytes = PlainBytes.of(view)
        # token id -> _search_text, filled as tokens become top tokens
        self.search_texts: dict[int, str | None] = {}
        # token id -> (cut on the left, raw excerpt, cut on the right): escaped once, at the end
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
        self.char_effect: dict[str, CharacterEffect] = {}
        self.char_counts: dict[CharacterEffect, Counter] = {
            CharacterEffect.UNKNOWN: Counter(),
            CharacterEffect.DROPPED: Counter(),
            CharacterEffect.CHANGED: Counter(),
        }
        self.char_first: dict[str, str] = {}
        self.failed = 0
        self.failed_examples: list[tuple[str, str]] = []

    def encode(self, docs: Sequence[Document]) -> EncodedBatch:
        """The batch's encoding work (documents up to CHUNK_CHARS): ids and round trips.

        Reads only the view, so it may run in another thread than the counting."""
        short = [k for k, doc in enumerate(docs) if len(doc.text) <= chunking.CHUNK_CHARS]
        texts = [docs[k].text for k in short]
        if not texts:
            return EncodedBatch(docs, short, texts, np.zeros(0, np.int64), np.zeros(0, np.int64), [])
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
        return EncodedBatch(docs, short, texts, ids, lengths, decoded, failed)

    def add_batch(self, docs: Sequence[Document], batch: EncodedBatch | None = None) -> int:
        """Count one batch (encoded by `encode`, here when not given); returns its tokens.

        Documents up to CHUNK_CHARS are encoded together; a longer one is encoded in
        pieces, a few at a time, its counts gathered in one vocabulary-sized array, so
        its memory is that of a few pieces, not of its whole encoding.
        """
        batch = batch if batch is not None else self.encode(docs)
        size = self.size
        base = self.n_documents
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (doc, token, count), unique pairs
        to_explain: dict[int, LossyExample | None] = {}
        total = 0
        short, texts, ids, lengths, decoded = batch.short, batch.texts, batch.ids, batch.lengths, batch.decoded
        for k, why in batch.failed:
            self.failed += 1
            if len(self.failed_examples) < MAX_FAILED_EXAMPLES:
                self.failed_examples.append((docs[k].locator, why))
        if short:
            total += int(lengths.sum())
            doc_of_token = np.repeat(np.asarray(short, dtype=np.int64), lengths)
            key, counts = np.unique(pair_keys(doc_of_token, ids, size, len(docs)), return_counts=True)
            pair_docs, pair_tokens = np.divmod(key.astype(np.int64), size)
            parts.append((pair_docs, pair_tokens, counts))
            for k, text, back in zip(short, texts, decoded):
                if text != back:
                    to_explain[k] = self._difference(docs[k], base + k, text, back, 0)
            if len(self.unk_ids):
                is_unk = np.isin(ids, self.unk_ids)
                self.unk_tokens += int(is_unk.sum())
                for k in np.unique(doc_of_token[is_unk]).tolist():
                    to_explain.setdefault(k, None)
        for k, doc in enumerate(docs):
            if len(doc.text) > chunking.CHUNK_CHARS:
                self.chunked += 1
                token_counts, difference = self._long_document(doc, base + k)
                present = np.flatnonzero(token_counts)
                parts.append((np.full(len(present), k, dtype=np.int64), present, token_counts[present]))
                total += int(token_counts.sum())
                unk = int(token_counts[self.unk_ids].sum()) if len(self.unk_ids) else 0
                self.unk_tokens += unk
                if difference is not None or unk:
                    to_explain[k] = difference
        if parts:
            pair_docs, pair_tokens, counts = (np.concatenate([part[i] for part in parts]) for i in range(3))
            self._count(pair_docs, pair_tokens, counts, docs, base)
        for k in sorted(to_explain):
            self._explain(docs[k], to_explain[k])
        self.n_documents += len(docs)
        self.n_tokens += total
        self.n_chars += sum(len(doc.text) for doc in docs)
        return total

    def _decode(self, encoded: list[list[int]], ids: np.ndarray, lengths: np.ndarray, texts: list[str]) -> list[str]:
        """decode(encode(text)) per text; where the tokens' bytes are the text's, the text itself."""
        if self.plain_bytes is None:
            return self.view.decode_batch(encoded)
        same = self.plain_bytes.lossless(ids, lengths, texts)
        out = list(texts)
        ask = np.flatnonzero(~same).tolist()
        if ask:
            for k, back in zip(ask, self.view.decode_batch([encoded[k] for k in ask])):
                out[k] = back
        return out

    def _long_document(self, doc: Document, ordinal: int) -> tuple[np.ndarray, LossyExample | None]:
        """Token counts of one enormous document and its first round-trip difference."""
        counts = np.zeros(self.size, dtype=np.int64)
        difference: LossyExample | None = None
        offset = 0
        group: list[str] = []
        chars = 0

        def encode_group() -> None:
            nonlocal offset, difference, chars
            encoded = self.view.encode_batch(group)
            for piece, ids, back in zip(group, encoded, self.view.decode_batch(encoded)):
                if ids:
                    counts[:] += np.bincount(np.asarray(ids, dtype=np.int64), minlength=self.size)
                if difference is None and piece != back:
                    difference = self._difference(doc, ordinal, piece, back, offset)
                offset += len(piece)
            group.clear()
            chars = 0

        for piece in chunking.iter_pieces(doc.text):
            group.append(piece)
            chars += len(piece)
            if chars >= chunking.LONG_GROUP_CHARS:
                encode_group()
        if group:
            encode_group()
        return counts, difference

    @staticmethod
    def _difference(doc: Document, ordinal: int, text: str, back: str, offset: int) -> LossyExample:
        at = _first_difference(text, back)
        start = max(0, at - 10)
        return LossyExample(ordinal, doc.locator, offset + at, snippet(text, start, 40), snippet(back, start, 40))

    def _count(
        self, pair_docs: np.ndarray, pair_tokens: np.ndarray, counts: np.ndarray, docs: Sequence[Document], base: int
    ) -> None:
        """Add unique (document, token, count) triples of one batch."""
        arrays = self.arrays
        size = self.size
        if not len(pair_tokens):
            return
        arrays["occurrences"] += np.bincount(pair_tokens, weights=counts, minlength=size).astype(np.int64)
        arrays["documents"] += np.bincount(pair_tokens, minlength=size)
        if self.tree is not None:
            sizes = self.tree.sizes[pair_tokens]
            n_inner = int(sizes.sum())
            if n_inner:
                # Each pair's tree, flattened: one repeat gives every inside token's index
                # in tree.indices and its pair, whose document and count it shares.
                first = np.cumsum(sizes) - sizes
                pair = np.repeat(np.arange(len(pair_tokens), dtype=np.int64), sizes)
                within = (self.tree.indptr[pair_tokens] - first)[pair] + np.arange(n_inner, dtype=np.int64)
                inner = self.tree.indices[within]
                pair_docs = np.concatenate([pair_docs, pair_docs[pair]])
                pair_tokens = np.concatenate([pair_tokens, inner])
                counts = np.concatenate([counts, counts[pair]])
        # Uses per (token, document), ordered by token then document: one sort of packed keys.
        tokens, doc_index, uses = sum_by_token_document(pair_tokens, pair_docs, counts, size, len(docs))
        arrays["use_documents"] += np.bincount(tokens, minlength=size)
        arrays["uses"] += np.bincount(tokens, weights=uses, minlength=size).astype(np.int64)
        # The document with most uses per token in this batch; ties to the earlier document.
        starts = np.flatnonzero(np.concatenate([[True], tokens[1:] != tokens[:-1]]))
        group_of = np.zeros(len(tokens), dtype=np.int64)
        group_of[starts[1:]] = 1
        np.cumsum(group_of, out=group_of)
        best = np.maximum.reduceat(uses, starts)
        candidates = np.flatnonzero(uses == best[group_of])
        first_of_group = np.ones(len(candidates), dtype=bool)
        first_of_group[1:] = group_of[candidates[1:]] != group_of[candidates[:-1]]
        pick = candidates[first_of_group]
        best_tokens, best_docs, best_uses = tokens[pick], doc_index[pick], uses[pick]
        better = best_uses > arrays["top_count"][best_tokens]
        if better.any():
            new_tokens, new_docs = best_tokens[better], best_docs[better]
            arrays["top_document"][new_tokens] = base + new_docs
            arrays["top_count"][new_tokens] = best_uses[better]
            for k in np.unique(new_docs).tolist():
                doc = docs[k]
                self.table[base + k] = (doc.locator, doc.text[: SNIPPET_CHARS + 1])
            search_texts, snippets, token_bytes = self.search_texts, self.snippets, self.view.token_bytes
            for token, k in zip(new_tokens.tolist(), new_docs.tolist()):
                search = search_texts.get(token, False)
                if search is False:
                    search = search_texts[token] = _search_text(token_bytes[token])
                at = docs[k].text.find(search) if search else -1
                if at >= 0:  # kept raw, escaped once at the end
                    begin = max(0, at - 20)
                    text = docs[k].text
                    snippets[token] = (
                        begin > 0,
                        text[begin : begin + SNIPPET_CHARS],
                        begin + SNIPPET_CHARS < len(text),
                    )
                else:  # the document's start stands in (doc_table)
                    snippets.pop(token, None)
            if len(self.table) > self.prune_at:  # keep only documents some token still points at
                self.table = prune_document_table(self.table, arrays["top_document"])
                self.prune_at = 2 * len(self.table) + 4096

    @staticmethod
    def _effect(char: str, ids: list[int], back: str, unk: set[int]) -> CharacterEffect:
        """What happens to `char`, encoded alone to `ids` and decoded back to `back`."""
        if any(i in unk for i in ids):
            return CharacterEffect.UNKNOWN
        if not ids or not back:
            # Whitespace that encodes to nothing is the pre-tokenizer's separator
            # (the decoder puts it back); its loss shows in the round trip instead.
            return CharacterEffect.KEPT if char.isspace() else CharacterEffect.DROPPED
        if back != char:
            return CharacterEffect.CHANGED
        return CharacterEffect.KEPT

    def _explain(self, doc: Document, difference: LossyExample | None) -> None:
        """A lossy or unknown-holding document: keep its first difference, find the characters at fault."""
        if difference is not None:
            self.lossy += 1
            if len(self.examples) < MAX_LOSSY_EXAMPLES:
                self.examples.append(difference)
        chars = set(doc.text)
        todo = sorted(char for char in chars if char not in self.char_effect)
        if todo:
            unk = set(self.unk_ids.tolist())
            encoded = self.view.encode_batch(todo)
            for char, ids, back in zip(todo, encoded, self.view.decode_batch(encoded)):
                self.char_effect[char] = self._effect(char, ids, back, unk)
        for char in sorted(chars):
            effect = self.char_effect[char]
            if effect is not CharacterEffect.KEPT:
                self.char_counts[effect][char] += doc.text.count(char)
                self.char_first.setdefault(char, doc.locator)

    def result(self, read: ReadReport, profile: PreprocessingProfile | None = None) -> CorpusStats:
        arrays = self.arrays
        kept = prune_document_table(self.table, arrays["top_document"])
        return CorpusStats(
            vocab_size=self.size,
            **arrays,
            n_documents=self.n_documents,
            n_tokens=self.n_tokens,
            n_chars=self.n_chars,
            chunked_documents=self.chunked,
            doc_table={
                ordinal: DocRef(ordinal, locator, snippet(head)) for ordinal, (locator, head) in sorted(kept.items())
            },
            top_snippets={
                token: ("…" if cut_left else "") + escape_text(part) + ("…" if cut_right else "")
                for token, (cut_left, part, cut_right) in sorted(self.snippets.items())
            },
            lossy_documents=self.lossy,
            lossy_examples=tuple(self.examples),
            unk_tokens=self.unk_tokens,
            unk_chars=dict(self.char_counts[CharacterEffect.UNKNOWN]),
            dropped_chars=dict(self.char_counts[CharacterEffect.DROPPED]),
            changed_chars=dict(self.char_counts[CharacterEffect.CHANGED]),
            char_first_doc=dict(self.char_first),
            read=read,
            merge_tree=self.tree is not None,
            failed_documents=self.failed,
            failed_examples=tuple(self.failed_examples),
            profile=profile,
        )


def _batches(documents: Iterable[Document]) -> Iterator[list[Document]]:
    """The documents in batches of at most BATCH_DOCS documents, cut once BATCH_CHARS characters are reached."""
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
    for batch in prefetch(encoded) if PREFETCH else encoded:
        scanner.add_batch(batch.docs, batch)
        if profiler is not None:
            profiler.add(batch.docs)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            spent = max(now - started, 1e-9)
            say(
                f"{label}: {scanner.n_documents} documents, {scanner.n_tokens} tokens "
                f"({scanner.n_documents / spent:,.0f} documents/s, {scanner.n_tokens / spent:,.0f} tokens/s)"
            )
    return scanner.result(read if read is not None else ReadReport(), profiler.result() if profiler else None)


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
        list(paths),
        report=read,
        text_field=opts.text_field,
        doc_per_line=opts.doc_per_line,
        max_documents=opts.max_documents,
    )
    stats = scan_documents(view, docs, read=read, progress=progress, label=label, profile=profile)
    check_usable(read, paths, label)
    return stats
