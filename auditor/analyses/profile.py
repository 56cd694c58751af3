"""Character-level preprocessing profile of a document stream.

Two corpora preprocessed differently (line endings normalised, whitespace collapsed,
NFKC applied, lowercased, BOM stripped) leave different traces at the character level.
The profile counts those traces: per signal, how often it occurs and in how many
documents, with the first document that shows it. Comparing the profile of the
tokenizer's corpus with that of the model's corpus explains which tokens the model
never saw (the Mistral `\\r` case, docs/defects.md #16); `token_signals` gives the signals a
token's own text carries, so tokens can be grouped by the signal that explains them.

Counting goes through `collections.Counter` per document (C speed) and a per-character
classification cache, so a profile costs little next to tokenization.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.core import Document

# Signals, in report order. Character signals come from the character counts; the
# others (sequences, document-level facts) from a few str methods per document.
SIGNALS: tuple[tuple[str, str], ...] = (
    ("crlf", "\\r\\n line endings"),
    ("lone_cr", "lone \\r (not followed by \\n)"),
    ("lf", "\\n line feeds (outside \\r\\n)"),
    ("tab", "tab characters"),
    ("space_run", "runs of 2 or more spaces"),
    ("trailing_space", "spaces or tabs at the end of a line"),
    ("nbsp", "no-break spaces (U+00A0, U+2007, U+202F)"),
    ("other_space", "other Unicode spaces (U+2000-U+200A, U+3000, ...)"),
    ("zero_width", "zero-width characters (U+200B-U+200D, U+2060, U+FEFF inside text)"),
    ("bidi", "bidirectional marks and controls (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, U+061C)"),
    ("control", "other control characters (C0/C1 except \\t \\n \\r)"),
    ("nfkc_unstable", "characters NFKC rewrites (ligatures, full-width forms, compatibility characters)"),
    ("combining", "combining marks (decomposed accents)"),
    ("bom", "byte order mark at the start of a document"),
    ("uppercase", "uppercase letters"),
    ("lowercase", "lowercase letters"),
    ("replacement", "U+FFFD replacement characters (decoding errors upstream)"),
)
SIGNAL_NAMES = tuple(name for name, _ in SIGNALS)

_NBSP = frozenset("\u00a0\u2007\u202f")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")
_SPACE_RUN = re.compile(r"  +")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# The signals ASCII characters carry (char_signals of each of the 128), as byte sets.
_ASCII_SIGNALS: tuple[tuple[str, bytes], ...] = (
    ("tab", b"\t"),
    ("control", bytes([*range(9), 11, 12, *range(14, 32), 127])),
    ("uppercase", bytes(range(65, 91))),
    ("lowercase", bytes(range(97, 123))),
)
_TRAILING = re.compile(r"[ \t]+(?=\r?\n|\r|$)")  # what "trailing_space" counts (done faster below)
_BLANK_THEN_BREAK = (" \n", "\t\n", " \r", "\t\r")


def char_signals(ch: str) -> tuple[str, ...]:
    """The character-level signals of one character (cached by the profiler)."""
    out: list[str] = []
    if ch == "\t":
        out.append("tab")
    elif ch in _NBSP:
        out.append("nbsp")
    elif ch in _ZERO_WIDTH:
        out.append("zero_width")
    elif ch in _BIDI:
        out.append("bidi")
    elif ch == "\ufffd":
        out.append("replacement")
    else:
        cat = unicodedata.category(ch)
        if cat == "Zs" and ch != " ":
            out.append("other_space")
        elif cat == "Cc" and ch not in "\n\r":
            out.append("control")
        elif cat in ("Mn", "Me"):
            out.append("combining")
        elif cat == "Lu":
            out.append("uppercase")
        elif cat == "Ll":
            out.append("lowercase")
    if ch not in "\t\n\r" and unicodedata.normalize("NFKC", ch) != ch and out[:1] != ["combining"]:
        out.append("nfkc_unstable")
    return tuple(out)


def text_signals(text: str, chars: Mapping[str, int] | None = None) -> dict[str, int]:
    """Occurrences of every signal in one text (signals that do not occur are left out)."""
    return _text_signals(text, chars, _NOTHING_ABSENT)


@dataclass(frozen=True)
class _Absent:
    """What a whole batch of texts lacks, so no text of it needs to be searched for it."""

    cr: bool = False
    blank_break: bool = False  # none of _BLANK_THEN_BREAK
    ascii_signals: frozenset[str] = frozenset()  # of _ASCII_SIGNALS

    @classmethod
    def of(cls, texts: list[str]) -> _Absent:
        # "a" between texts: it makes no pair of _BLANK_THEN_BREAK and carries no signal
        # that can be skipped, so the joined text lacks a pattern only if every text does.
        if sum(map(len, texts)) > _JOIN_LIMIT:  # huge documents: no copy of them all at once
            return _NOTHING_ABSENT
        joined = "a".join(texts)
        data = joined.encode("utf-8", "surrogatepass")
        return cls(
            cr="\r" not in joined,
            blank_break=not any(pair in joined for pair in _BLANK_THEN_BREAK),
            ascii_signals=frozenset(
                sig
                for sig, table in _ASCII_SIGNALS
                if sig in _SKIPPABLE and len(data.translate(None, table)) == len(data)
            ),
        )


_JOIN_LIMIT = 1 << 22  # characters of a batch checked at once
_SKIPPABLE = frozenset({"tab", "control"})  # rare ASCII signals worth a check on the whole batch
_NOTHING_ABSENT = _Absent()


def _text_signals(text: str, chars: Mapping[str, int] | None, absent: _Absent) -> dict[str, int]:
    counts: dict[str, int] = {}
    crlf = cr = 0
    if not absent.cr:
        crlf = text.count("\r\n")
        cr = text.count("\r")
    lf = text.count("\n")
    for name, n in (("crlf", crlf), ("lone_cr", cr - crlf), ("lf", lf - crlf)):
        if n:
            counts[name] = n
    if "  " in text:
        counts["space_run"] = len(_SPACE_RUN.findall(text))
    # Runs of blanks before a line end (or the end): each run's last blank is followed by
    # \r, \n or nothing, so counting those pairs counts the runs, as _TRAILING.findall
    # would, at str.count speed (the regex was most of the profile's cost).
    trailing = int(text[-1:] in (" ", "\t"))
    if not absent.blank_break:
        trailing += sum(text.count(pair) for pair in _BLANK_THEN_BREAK)
    if trailing:
        counts["trailing_space"] = trailing
    if text.startswith("\ufeff"):
        counts["bom"] = 1
    if chars is None:
        # ASCII characters are counted on the UTF-8 bytes, where no multi-byte sequence
        # holds a byte below 0x80: one C-speed `translate` per signal. Only the
        # non-ASCII characters go through the per-character classification.
        data = text.encode("utf-8", "surrogatepass")
        for sig, table in _ASCII_SIGNALS:
            if sig in absent.ascii_signals:
                continue
            n = len(data) - len(data.translate(None, table))
            if n:
                counts[sig] = n
        chars = {} if text.isascii() else Counter(_NON_ASCII.findall(text))
    for ch, n in chars.items():
        for sig in _signals_of(ch):
            if sig == "zero_width" and ch == "\ufeff" and text.startswith("\ufeff"):
                n -= 1  # a leading BOM is counted as "bom", not as a zero-width character
                if not n:
                    continue
            counts[sig] = counts.get(sig, 0) + n
    return counts


_CACHE: dict[str, tuple[str, ...]] = {}


def _signals_of(ch: str) -> tuple[str, ...]:
    sig = _CACHE.get(ch)
    if sig is None:
        if len(_CACHE) > 200_000:
            _CACHE.clear()
        sig = _CACHE[ch] = char_signals(ch)
    return sig


def token_signals(text: str) -> frozenset[str]:
    """The signals a token's text carries ("\\r" -> lone_cr, "\\r\\n" -> crlf, "  " -> space_run)."""
    return frozenset(text_signals(text))


@dataclass(frozen=True)
class PreprocessingProfile:
    """Counts of preprocessing signals over a document stream. Merge profiles of shards with `merge`."""

    documents: int = 0
    characters: int = 0
    occurrences: Mapping[str, int] = field(default_factory=dict)  # signal -> occurrences
    in_documents: Mapping[str, int] = field(default_factory=dict)  # signal -> documents holding it
    first_seen: Mapping[str, str] = field(default_factory=dict)  # signal -> locator of the first document

    def merge(self, other: PreprocessingProfile) -> PreprocessingProfile:
        """The profile of both streams, this one first (its first_seen wins)."""
        occ = Counter(self.occurrences)
        occ.update(other.occurrences)
        docs = Counter(self.in_documents)
        docs.update(other.in_documents)
        first = dict(other.first_seen)
        first.update(self.first_seen)
        return PreprocessingProfile(
            self.documents + other.documents,
            self.characters + other.characters,
            dict(occ),
            dict(docs),
            first,
        )

    def has(self, signal: str) -> bool:
        return self.occurrences.get(signal, 0) > 0

    def absent_in(self, other: PreprocessingProfile) -> list[str]:
        """Signals this stream has and `other` has not at all (what `other`'s preprocessing removed)."""
        return [s for s in SIGNAL_NAMES if self.has(s) and not other.has(s)]

    def rate(self, signal: str) -> float:
        """Occurrences per million characters."""
        return 1e6 * self.occurrences.get(signal, 0) / self.characters if self.characters else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for the analysis cache); `from_dict` reads it back."""
        return {
            "documents": self.documents,
            "characters": self.characters,
            "occurrences": dict(sorted(self.occurrences.items())),
            "in_documents": dict(sorted(self.in_documents.items())),
            "first_seen": dict(sorted(self.first_seen.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreprocessingProfile:
        return cls(
            int(data["documents"]),
            int(data["characters"]),
            {str(k): int(v) for k, v in data["occurrences"].items()},
            {str(k): int(v) for k, v in data["in_documents"].items()},
            {str(k): str(v) for k, v in data["first_seen"].items()},
        )

    def report_section(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "characters": self.characters,
            "signals": {
                name: {
                    "description": label,
                    "occurrences": self.occurrences.get(name, 0),
                    "documents": self.in_documents.get(name, 0),
                    "per_million_chars": round(self.rate(name), 3),
                    "first_seen": self.first_seen.get(name),
                }
                for name, label in SIGNALS
            },
        }


class Profiler:
    """Accumulates a profile batch by batch: the observer a corpus scan calls per batch, so
    the profile comes from the same pass that reads and tokenizes the corpus."""

    def __init__(self) -> None:
        self.occ: Counter[str] = Counter()
        self.docs: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self.n_docs = 0
        self.n_chars = 0

    def add(self, documents: Iterable[Document | str]) -> None:
        occ, docs, first = self.occ, self.docs, self.first
        documents = list(documents)
        texts = [doc.text if isinstance(doc, Document) else doc for doc in documents]
        absent = _Absent.of(texts)  # one look at the whole batch spares most texts the rare signals
        for doc, text in zip(documents, texts):
            n = self.n_docs
            self.n_docs += 1
            self.n_chars += len(text)
            counts = _text_signals(text, None, absent)
            if not counts:
                continue
            occ.update(counts)
            docs.update(counts.keys())
            for sig in counts:
                if sig not in first:
                    first[sig] = doc.locator if isinstance(doc, Document) else f"text {n}"

    def result(self) -> PreprocessingProfile:
        return PreprocessingProfile(self.n_docs, self.n_chars, dict(self.occ), dict(self.docs), dict(self.first))


def profile_documents(documents: Iterable[Document | str]) -> PreprocessingProfile:
    """Profile a stream of documents (or plain strings, located as `text N`)."""
    profiler = Profiler()
    profiler.add(documents)
    return profiler.result()
