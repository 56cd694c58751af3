"""Merge trees: which tokens a BPE token is built from, all the way down.

A token that occurs also uses every token inside its merge tree ("Magikarp" from
"Magik" + "arp" uses both, and what they are built from). The scan counts those uses
with the CSR arrays of `MergeTree`; the corpus rules ask `learned_mask` which tokens
training learned at all. Both depend only on the vocabulary, not on a corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from auditor.core import TokenizerView, TokenKind


def learned_mask(view: TokenizerView) -> np.ndarray:
    """Per id, whether training learned it: a normal token longer than one unit of the
    base alphabet (one byte for byte-level BPE, one character otherwise)."""
    mask = np.zeros(view.vocab_size, dtype=bool)
    for token_id, (kind, token_bytes) in enumerate(zip(view.kinds, view.token_bytes)):
        if kind != TokenKind.NORMAL or token_bytes is None:
            continue
        if view.byte_level:
            mask[token_id] = len(token_bytes) > 1
        else:
            mask[token_id] = len(token_bytes.decode("utf-8", "replace")) > 1
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

    for piece, token_id in index.items():
        if len(piece) < 2:
            continue
        best: tuple[int, int, int] | None = None  # (rank of the later half, left id, right id)
        for cut in range(1, len(piece)):
            head, tail = piece[:cut], piece[cut:]
            if head in index and tail in index:
                head_rank, tail_rank = rank(head), rank(tail)
                later = max(head_rank, tail_rank)
                if head_rank < token_id and tail_rank < token_id and (best is None or later < best[0]):
                    best = (later, index[head], index[tail])
        if best is not None:
            parents[token_id] = (best[1], best[2])
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
    def build(cls, parents: Mapping[int, tuple[int, int]], size: int) -> MergeTree:
        """Level by level in numpy: a token's tree is [left, tree(left), right, tree(right)],
        filled once both children's trees are. Tokens in a cycle of corrupt merges (and
        those built on them) never get ready and count as leaves."""
        left = np.full(size, -1, dtype=np.int64)
        right = np.full(size, -1, dtype=np.int64)
        if parents:
            keys = np.fromiter(parents.keys(), dtype=np.int64, count=len(parents))
            pairs = np.array(list(parents.values()), dtype=np.int64).reshape(-1, 2)
            valid = (keys >= 0) & (keys < size) & (pairs >= 0).all(axis=1) & (pairs < size).all(axis=1)
            left[keys[valid]], right[keys[valid]] = pairs[valid, 0], pairs[valid, 1]
        has_parents = left >= 0
        safe_left, safe_right = np.where(has_parents, left, 0), np.where(has_parents, right, 0)
        done = ~has_parents
        n_inside = np.zeros(size, dtype=np.int64)
        levels: list[np.ndarray] = []
        while True:
            ready = np.flatnonzero(has_parents & ~done & done[safe_left] & done[safe_right])
            if not len(ready):
                break
            n_inside[ready] = 2 + n_inside[left[ready]] + n_inside[right[ready]]
            done[ready] = True
            levels.append(ready)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(n_inside, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), dtype=np.int64)

        def copy(sources: np.ndarray, targets: np.ndarray, counts: np.ndarray) -> None:
            total = int(counts.sum())
            if total:
                within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
                indices[np.repeat(targets, counts) + within] = indices[np.repeat(sources, counts) + within]

        for ready in levels:
            lefts, rights = left[ready], right[ready]
            start, n_left = indptr[ready], n_inside[lefts]
            indices[start] = lefts
            copy(indptr[lefts], start + 1, n_left)
            indices[start + 1 + n_left] = rights
            copy(indptr[rights], start + 2 + n_left, n_inside[rights])
        return cls(indptr=indptr, indices=indices)


def merge_tree_of(view: TokenizerView) -> MergeTree | None:
    """The merge tree of a BPE vocabulary, or None when it has no merges."""
    parents = merge_parents(view)
    return None if not parents else MergeTree.build(parents, view.vocab_size)
