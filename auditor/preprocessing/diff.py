"""`tokaudit diff A B`: how two tokenizers differ, in vocabulary and in tokenization.

The vocabulary is compared id by id (an entry is its bytes, or its piece for control
tokens, and its kind); tokenization is compared on the probe strings, and on any text
sample the caller passes (`Document`s, strings or (label, text) pairs), with
`auditor.preprocessing.equivalence.compare`. The CLI's `--corpus` passes a corpus read by the corpus
reader (`auditor.preprocessing.equivalence.corpus_texts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor.core import Document, TokenizerView
from auditor.escape import escape_bytes, escape_text
from auditor.preprocessing.equivalence import Equivalence, Implementation, compare
from auditor.probes import PROBE_STRINGS, PROBE_STRINGS_VERSION


def _entry(view: TokenizerView, tid: int) -> tuple[str, str] | None:
    """(escaped text, kind) of an id, None when the id does not exist."""
    if tid >= view.vocab_size or view.pieces[tid] is None:
        return None
    tb = view.token_bytes[tid]
    text = escape_bytes(tb) if tb is not None else escape_text(view.pieces[tid] or "")
    return text, view.kinds[tid].value


@dataclass(frozen=True)
class VocabularyDiff:
    size_a: int
    size_b: int
    added: tuple[tuple[int, str], ...]  # ids only B has: (id, text)
    removed: tuple[tuple[int, str], ...]  # ids only A has
    changed: tuple[
        tuple[int, str, str, str, str], ...
    ]  # same id, other text or kind: (id, text A, kind A, text B, kind B)
    moved: int  # texts present in both under different ids

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def entries(self, limit: int) -> tuple[list[tuple[str, int, str, str, str]], int]:
        """The first `limit` added, removed and changed ids as (change, id, text A, text B,
        kind change), and how many were left out: what every report lists."""
        shown: list[tuple[str, int, str, str, str]] = []
        shown += [("added", tid, "", text, "") for tid, text in self.added[:limit]]
        shown += [("removed", tid, text, "", "") for tid, text in self.removed[:limit]]
        shown += [
            ("changed", tid, x, y, "" if ka == kb else f"{ka} -> {kb}") for tid, x, ka, y, kb in self.changed[:limit]
        ]
        left_out = sum(max(0, len(group) - limit) for group in (self.added, self.removed, self.changed))
        return shown, left_out


def diff_vocabularies(a: TokenizerView, b: TokenizerView) -> VocabularyDiff:
    added, removed, changed = [], [], []
    for tid in range(max(a.vocab_size, b.vocab_size)):
        ea, eb = _entry(a, tid), _entry(b, tid)
        if ea == eb:
            continue
        if ea is None:
            added.append((tid, eb[0]))  # type: ignore[index]
        elif eb is None:
            removed.append((tid, ea[0]))
        else:
            changed.append((tid, ea[0], ea[1], eb[0], eb[1]))
    ids_a = {e[0]: i for i in range(a.vocab_size) if (e := _entry(a, i)) is not None}
    moved = sum(1 for i in range(b.vocab_size) if (e := _entry(b, i)) is not None and ids_a.get(e[0], i) != i)
    return VocabularyDiff(a.vocab_size, b.vocab_size, tuple(added), tuple(removed), tuple(changed), moved)


@dataclass(frozen=True)
class TokenizerDiff:
    a: dict[str, Any]
    b: dict[str, Any]
    vocabulary: VocabularyDiff
    probes: Equivalence
    sample: Equivalence | None = None
    sample_read: str | None = None  # what reading the corpus gave (ReadReport.summary), with --corpus

    @property
    def identical(self) -> bool:
        return self.vocabulary.identical and self.probes.equivalent and (self.sample is None or self.sample.equivalent)

    def to_dict(self, limit: int = 100) -> dict[str, Any]:
        v = self.vocabulary

        def tokenization(eq: Equivalence | None) -> dict[str, Any] | None:
            if eq is None:
                return None
            return {
                "compared": eq.compared,
                "diverging": eq.diverging,
                "diverging_texts": list(eq.diverging_labels[:limit]),
                "examples": [d.describe() for d in eq.examples],
            }

        return {
            "a": self.a,
            "b": self.b,
            "identical": self.identical,
            "vocabulary": {
                "size_a": v.size_a,
                "size_b": v.size_b,
                "added": len(v.added),
                "removed": len(v.removed),
                "changed": len(v.changed),
                "moved": v.moved,
                "added_examples": [{"id": i, "token": t} for i, t in v.added[:limit]],
                "removed_examples": [{"id": i, "token": t} for i, t in v.removed[:limit]],
                "changed_examples": [
                    {"id": i, "a": x, "kind_a": ka, "b": y, "kind_b": kb} for i, x, ka, y, kb in v.changed[:limit]
                ],
            },
            "probe_version": PROBE_STRINGS_VERSION,
            "probes": tokenization(self.probes),
            "sample": tokenization(self.sample),
            "sample_read": self.sample_read,
        }


def diff_tokenizers(
    a: TokenizerView,
    b: TokenizerView,
    sample: Iterable[Document | str | tuple[str, str]] | None = None,
    *,
    max_examples: int = 5,
) -> TokenizerDiff:
    """Vocabulary and tokenization differences of B relative to A."""
    ia, ib = Implementation.of_view(a, a.path), Implementation.of_view(b, b.path)
    probes = compare(ia, ib, PROBE_STRINGS, max_examples=max_examples)
    on_sample = compare(ia, ib, sample, max_examples=max_examples) if sample is not None else None
    return TokenizerDiff(a.describe(), b.describe(), diff_vocabularies(a, b), probes, on_sample)
