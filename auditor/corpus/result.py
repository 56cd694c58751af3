"""The result of a corpus scan, `CorpusStats`: what rules read, how two shards merge, how
it is cached and reported, and what the CLI says about it.

Kept apart from the scan so that readers of the result (rules, the cache, the corpus
comparison) never load the scanning machinery, and so that the result's invariants live
in one place: arrays indexed by token id, a document table holding only the documents
some token points at, character maps in code point order.

Two scans of consecutive shards merge exactly (`CorpusStats.merge`): counts add, the
other shard's document numbers shift by this shard's document count, and ties for the
top document go to the earlier document, as in one scan of the whole. A merged result
and the result of one scan of the same documents serialize to the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from auditor.analyses.profile import PreprocessingProfile
from auditor.corpus.reader import ReadReport
from auditor.escape import escape_text

SNIPPET_CHARS = 60
MAX_LOSSY_EXAMPLES = 10
MAX_FAILED_EXAMPLES = 5

# The per-token-id arrays of a result, in the order the cache stores them.
ARRAY_NAMES = ("occurrences", "uses", "documents", "use_documents", "top_document", "top_count")

# The maps keyed by character; kept in code point order, whatever order the documents met them in.
CHARACTER_MAPS = ("unk_chars", "dropped_chars", "changed_chars", "char_first_doc")


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
    begin = max(0, start)
    part = escape_text(text[begin : begin + width])
    return ("…" if begin > 0 else "") + part + ("…" if begin + width < len(text) else "")


def prune_document_table(table: Mapping[int, Any], top_document: np.ndarray) -> dict[int, Any]:
    """The entries of `table` (ordinal -> anything) for the documents some token's top document is."""
    keep = set(np.unique(top_document[top_document >= 0]).tolist())
    return {ordinal: entry for ordinal, entry in table.items() if ordinal in keep}


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
    chunked_documents: int = 0  # documents longer than chunking.CHUNK_CHARS, encoded in pieces
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

    def __post_init__(self) -> None:
        for name in CHARACTER_MAPS:
            object.__setattr__(self, name, dict(sorted(getattr(self, name).items())))

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

    def merge(self, other: CorpusStats) -> CorpusStats:
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
        table = prune_document_table(table, top_document)
        snippets = {token: text for token, text in self.top_snippets.items() if not take_other[token]}
        snippets.update({token: text for token, text in other.top_snippets.items() if take_other[token]})
        examples = list(self.lossy_examples) + [
            replace(example, ordinal=example.ordinal + shift) for example in other.lossy_examples
        ]
        first_doc = dict(self.char_first_doc)  # self's documents come first: its locator wins
        for char, locator in other.char_first_doc.items():
            first_doc.setdefault(char, locator)
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
            doc_table=dict(sorted(table.items())),
            top_snippets=dict(sorted(snippets.items())),
            lossy_documents=self.lossy_documents + other.lossy_documents,
            lossy_examples=tuple(examples[:MAX_LOSSY_EXAMPLES]),
            unk_tokens=self.unk_tokens + other.unk_tokens,
            unk_chars=dict(Counter(self.unk_chars) + Counter(other.unk_chars)),
            dropped_chars=dict(Counter(self.dropped_chars) + Counter(other.dropped_chars)),
            changed_chars=dict(Counter(self.changed_chars) + Counter(other.changed_chars)),
            char_first_doc=first_doc,
            read=self.read.merge(other.read),
            merge_tree=self.merge_tree and other.merge_tree,
            failed_documents=self.failed_documents + other.failed_documents,
            failed_examples=(self.failed_examples + other.failed_examples)[:MAX_FAILED_EXAMPLES],
            profile=self.profile.merge(other.profile)
            if self.profile is not None and other.profile is not None
            else None,
        )

    # --- the shared cache (auditor/cache.py) ---

    def to_cache(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able document and the arrays; every map is written in key order."""
        doc = {
            "vocab_size": self.vocab_size,
            "n_documents": self.n_documents,
            "n_tokens": self.n_tokens,
            "n_chars": self.n_chars,
            "chunked_documents": self.chunked_documents,
            "doc_table": [[ref.ordinal, ref.locator, ref.snippet] for _, ref in sorted(self.doc_table.items())],
            "top_snippets": [[token, text] for token, text in sorted(self.top_snippets.items())],
            "lossy_documents": self.lossy_documents,
            "lossy_examples": [[e.ordinal, e.locator, e.offset, e.original, e.decoded] for e in self.lossy_examples],
            "unk_tokens": self.unk_tokens,
            "unk_chars": dict(sorted(self.unk_chars.items())),
            "dropped_chars": dict(sorted(self.dropped_chars.items())),
            "changed_chars": dict(sorted(self.changed_chars.items())),
            "char_first_doc": dict(sorted(self.char_first_doc.items())),
            "read": self.read.to_dict(),
            "merge_tree": self.merge_tree,
            "failed_documents": self.failed_documents,
            "failed_examples": [list(example) for example in self.failed_examples],
            "profile": self.profile.to_dict() if self.profile is not None else None,
        }
        return doc, {name: getattr(self, name) for name in ARRAY_NAMES}

    @classmethod
    def from_cache(cls, doc: Mapping[str, Any], arrays: Mapping[str, Any]) -> CorpusStats:
        return cls(
            vocab_size=int(doc["vocab_size"]),
            **{name: np.asarray(arrays[name], dtype=np.int64) for name in ARRAY_NAMES},
            n_documents=int(doc["n_documents"]),
            n_tokens=int(doc["n_tokens"]),
            n_chars=int(doc["n_chars"]),
            chunked_documents=int(doc["chunked_documents"]),
            doc_table={int(o): DocRef(int(o), locator, text) for o, locator, text in doc["doc_table"]},
            top_snippets={int(token): text for token, text in doc["top_snippets"]},
            lossy_documents=int(doc["lossy_documents"]),
            lossy_examples=tuple(
                LossyExample(int(o), locator, int(offset), original, decoded)
                for o, locator, offset, original, decoded in doc["lossy_examples"]
            ),
            unk_tokens=int(doc["unk_tokens"]),
            unk_chars={char: int(n) for char, n in doc["unk_chars"].items()},
            dropped_chars={char: int(n) for char, n in doc["dropped_chars"].items()},
            changed_chars={char: int(n) for char, n in doc["changed_chars"].items()},
            char_first_doc=dict(doc["char_first_doc"]),
            read=ReadReport.from_dict(doc["read"]),
            merge_tree=bool(doc["merge_tree"]),
            failed_documents=int(doc["failed_documents"]),
            failed_examples=tuple((locator, why) for locator, why in doc["failed_examples"]),
            profile=PreprocessingProfile.from_dict(doc["profile"]) if doc["profile"] is not None else None,
        )

    # --- the report ---

    def report_section(self) -> dict[str, Any]:
        def top(chars: Mapping[str, int], n: int = 10) -> list[dict[str, Any]]:
            ranked = sorted(chars.items(), key=lambda item: (-item[1], item[0]))[:n]
            return [
                {"char": escape_text(char), "codepoint": f"U+{ord(char):04X}", "count": count} for char, count in ranked
            ]

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
            "failed_examples": [{"document": locator, "error": why} for locator, why in self.failed_examples],
            "read": self.read.to_dict(),
        }

    # --- what the CLI says ---

    def warnings(self, label: str) -> list[str]:
        """The lines a run prints on stderr about this scan: documents the tokenizer failed
        on, bad records and unreadable files. `label` names the corpus ("corpus", "model corpus")."""
        out: list[str] = []
        if self.failed_documents:
            locator, error = self.failed_examples[0]
            out.append(
                f"{label}: the tokenizer failed on {self.failed_documents} document(s), counted as "
                f"empty (first: {locator}: {error})"
            )
        read = self.read
        if read.bad_records or read.unreadable:
            line = f"{label}: {read.summary()}"
            examples = [
                locator for reason in sorted(read.bad_reasons) for locator in read.bad_examples.get(reason, [])[:1]
            ]
            if examples:
                line += f" (e.g. {', '.join(examples[:3])})"
            out.append(line)
        return out
