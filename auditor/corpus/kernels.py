"""The scan's array kernels: packed-key sorts of (token, document, count) triples and the
byte comparison that stands in for the library's decode.

They are where the scan spends its time after the library's encoding, and each has a
plain definition it must agree with (tests/test_corpus_perf.py, tests/test_corpus_stats.py);
they sit apart from the scanner's bookkeeping so they can be read, tested and timed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from auditor.core import TokenizerView, TokenKind


def pair_keys(doc_index: np.ndarray, token_ids: np.ndarray, size: int, n_docs: int) -> np.ndarray:
    """One sortable key per (document, token), document-major: int32 when it fits (sorts
    twice as fast). `size` is the vocabulary size, `n_docs` bounds the document index."""
    key = doc_index * size + token_ids
    return key.astype(np.int32) if n_docs * size < (1 << 31) else key


def sum_by_token_document(
    tokens: np.ndarray, docs: np.ndarray, counts: np.ndarray, size: int, n_docs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (token, document) pairs with their summed counts, ordered by token then
    document: one in-place sort of (token, document, count) packed in int64 keys when they
    fit (a sort is several times cheaper than np.unique's argsort), lexsort otherwise."""
    doc_bits = max(1, (n_docs - 1).bit_length())
    count_bits = max(1, (int(counts.max()) if len(counts) else 0).bit_length())
    token_bits = max(1, (size - 1).bit_length())
    if token_bits + doc_bits + count_bits <= 63:
        key = (tokens << (doc_bits + count_bits)) | (docs << count_bits) | counts
        key.sort()
        pair = key >> count_bits
        sorted_counts = key & ((1 << count_bits) - 1)
    else:
        order = np.lexsort((docs, tokens))
        pair, sorted_counts = tokens[order] * n_docs + docs[order], counts[order]
        doc_bits = 0
    starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
    sums = np.add.reduceat(sorted_counts, starts)
    pair = pair[starts]
    if doc_bits:
        return pair >> doc_bits, pair & ((1 << doc_bits) - 1), sums
    return pair // n_docs, pair % n_docs, sums


@dataclass(frozen=True)
class PlainBytes:
    """Token bytes in one array, for backends whose decode is "concatenate the tokens'
    bytes, read as UTF-8 with replacement": the round trip is then a byte comparison."""

    flat: np.ndarray  # uint8
    offsets: np.ndarray  # int64 per id
    lengths: np.ndarray  # int64 per id
    plain: np.ndarray  # bool per id: decode is these bytes (False: ask the library)

    @classmethod
    def of(cls, view: TokenizerView) -> PlainBytes | None:
        """The token bytes of `view`, or None when its decode is not a plain concatenation."""
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
        others = [
            token_id
            for token_id, (_bytes, kind) in enumerate(zip(view.token_bytes, view.kinds))
            if plain_kinds is not None and kind not in plain_kinds and view.pieces[token_id] is not None
        ]
        checked = {
            token_id: text.encode("utf-8", "surrogatepass")
            for token_id, text in zip(others, view.decode_batch([[token_id] for token_id in others]))
            if "\ufffd" not in text
        }
        if plain_kinds is None:
            decoded_bytes = list(view.token_bytes)
        else:
            decoded_bytes = [
                token_bytes if kind in plain_kinds else checked.get(token_id)
                for token_id, (token_bytes, kind) in enumerate(zip(view.token_bytes, view.kinds))
            ]
        plain = np.fromiter((b is not None for b in decoded_bytes), dtype=bool, count=size)
        lengths = np.fromiter((0 if b is None else len(b) for b in decoded_bytes), dtype=np.int64, count=size)
        offsets = np.zeros(size, dtype=np.int64)
        offsets[plain] = np.cumsum(lengths[plain]) - lengths[plain]
        flat = np.frombuffer(b"".join([b for b in decoded_bytes if b is not None]), dtype=np.uint8)
        return cls(flat=flat, offsets=offsets, lengths=lengths, plain=plain)

    def lossless(self, ids: np.ndarray, piece_lengths: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Per text, True when its tokens' bytes are exactly its UTF-8 bytes (so decode gives
        it back); False means "ask the library" (a difference, or a token without plain bytes).

        `ids` holds the texts' token ids one after the other, `piece_lengths` how many each has."""
        n = len(texts)
        ends = np.cumsum(piece_lengths)  # token positions: text k holds [ends[k] - len_k, ends[k])
        sure = np.ones(n, dtype=bool)
        unplain = np.flatnonzero(~self.plain[ids])
        if len(unplain):
            sure[np.searchsorted(ends, unplain, side="right")] = False
        token_lengths = self.lengths[ids]
        byte_ends = np.cumsum(token_lengths)
        before = np.concatenate([[0], byte_ends])  # bytes before each token position
        got_lengths = before[ends] - before[ends - piece_lengths]
        raw = [text.encode("utf-8", "surrogatepass") for text in texts]
        want_lengths = np.fromiter((len(b) for b in raw), dtype=np.int64, count=n)
        sure &= got_lengths == want_lengths
        if not sure.any():
            return sure
        # Compare the bytes of the texts whose lengths agree, all at once: one repeat gives
        # every byte's index in `flat` (its token's offset, shifted by its place in the text).
        if sure.all():
            taken, taken_lengths, taken_ends = ids, token_lengths, byte_ends
        else:
            keep = np.repeat(sure, piece_lengths)
            taken, taken_lengths = ids[keep], token_lengths[keep]
            taken_ends = np.cumsum(taken_lengths)
        total = int(taken_ends[-1]) if len(taken_ends) else 0
        index = np.repeat(self.offsets[taken] - (taken_ends - taken_lengths), taken_lengths)
        index += np.arange(total, dtype=np.int64)
        got = self.flat[index]
        want = np.frombuffer(b"".join(b for b, keep in zip(raw, sure.tolist()) if keep), dtype=np.uint8)
        differs = np.flatnonzero(got != want)
        if len(differs):
            kept = np.flatnonzero(sure)
            sure[kept[np.searchsorted(np.cumsum(want_lengths[kept]), differs, side="right")]] = False
        return sure
