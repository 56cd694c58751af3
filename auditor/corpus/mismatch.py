"""Corpus versus corpus: tokens the tokenizer's corpus has and the model's corpus never shows.

The tokenizer was trained on one corpus (`--corpus`), the model on text preprocessed by
its own pipeline (`--model-corpus`, a sample of it). A token that occurs in the first
and never in the second keeps its initial embedding: it will be under-trained. When
the model's pipeline removed something (normalised `\\r\\n` to `\\n`, collapsed spaces,
applied NFKC, lowercased), every token holding that thing disappears at once: Mistral
7B's code tokens ending in `\\r` (docs/defects.md #16).

This analysis lists those tokens and explains them: a *feature* (a preprocessing signal
of `auditor.analyses.profile`, with `\\r\\n` and lone `\\r` taken together as "`\\r`")
explains a token when the token's own text carries it and the model corpus lacks it:
absent, or at most `max_rate_ratio` times as frequent per character as in the tokenizer
corpus. A token goes to the first explaining feature in report order. The tokens no
feature explains are kept apart, split by whether their absence is significant: a token
expected at least `min_expected` times in the model corpus (its count in the tokenizer
corpus scaled by the two corpora's sizes) and never seen there is no sampling accident.

Both profiles come from the corpus scans (`CorpusStats.profile`), so neither corpus is
read twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.analyses.profile import SIGNALS, PreprocessingProfile, text_signals
from auditor.core import TokenizerView, TokenKind
from auditor.corpus.result import CorpusStats
from auditor.escape import escape_bytes

MAX_RATE_RATIO = 0.01
MIN_EXPECTED = 5.0

# Features: the profile's signals, with the two kinds of carriage return merged (a token
# "\r" cut from "\r\n" carries a lone \r; the corpus it came from carries \r\n).
_MERGED = {"crlf": "cr", "lone_cr": "cr"}
FEATURES: tuple[tuple[str, str, str, str], ...] = (
    # (feature, what a token holds, what a corpus lacks, what the model's pipeline probably did)
    ("cr", "\\r", "\\r", "its line endings were normalised to \\n"),
    ("lf", "\\n", "\\n", "its line breaks were removed"),
    ("tab", "a tab", "tabs", "its tabs were expanded or removed"),
    ("space_run", "a run of spaces", "runs of spaces", "its runs of spaces were collapsed"),
    (
        "trailing_space",
        "whitespace before a line end",
        "whitespace before line ends",
        "its trailing whitespace was stripped",
    ),
    ("nbsp", "a no-break space", "no-break spaces", "its no-break spaces were replaced"),
    ("other_space", "a Unicode space", "Unicode spaces", "its Unicode spaces were replaced"),
    ("zero_width", "a zero-width character", "zero-width characters", "its zero-width characters were removed"),
    ("bidi", "a bidirectional mark", "bidirectional marks", "its bidirectional marks were removed"),
    ("control", "a control character", "control characters", "its control characters were removed"),
    ("nfkc_unstable", "a character NFKC rewrites", "characters NFKC rewrites", "it was NFKC-normalised"),
    ("combining", "a combining mark", "combining marks", "its accents were composed (NFC/NFKC) or stripped"),
    ("bom", "a byte order mark", "byte order marks", "its byte order marks were stripped"),
    ("uppercase", "an uppercase letter", "uppercase letters", "it was lowercased"),
    ("lowercase", "a lowercase letter", "lowercase letters", "it was uppercased"),
    ("replacement", "U+FFFD", "U+FFFD", "its decoding errors were repaired or dropped"),
)
FEATURE_NAMES = tuple(f[0] for f in FEATURES)
_HOLDS = {f: h for f, h, _l, _w in FEATURES}
_LACKS = {f: lack for f, _h, lack, _w in FEATURES}
_WHY = {f: w for f, _h, _l, w in FEATURES}
_LINE_END_AFTER_BLANK = re.compile(r"[ \t]+(?=\r|\n)")


def _features_of_signals(signals: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for sig, n in signals.items():
        f = _MERGED.get(sig, sig)
        out[f] = out.get(f, 0) + n
    return out


def token_features(text: str) -> frozenset[str]:
    """The features a token's text carries. Unlike a document, a token's end is not a
    line end: "trailing whitespace" needs a line break inside the token, and a leading
    U+FEFF may be a byte order mark or a zero-width no-break space."""
    feats = set(_features_of_signals(text_signals(text)))
    if "trailing_space" in feats and not _LINE_END_AFTER_BLANK.search(text):
        feats.discard("trailing_space")
    if text.startswith("\ufeff"):
        feats.update(("bom", "zero_width"))
    return frozenset(feats)


def profile_features(profile: PreprocessingProfile) -> dict[str, int]:
    """Occurrences per feature in a profile."""
    return _features_of_signals(profile.occurrences)


@dataclass(frozen=True)
class TokenAbsence:
    """A token the tokenizer corpus has and the model corpus never shows."""

    token_id: int
    text: str  # escaped
    occurrences: int  # in the tokenizer corpus
    documents: int  # documents of the tokenizer corpus holding it
    expected: float  # occurrences expected in the model corpus, by the corpora's sizes
    features: frozenset[str]  # what its text carries (token_features)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.token_id,
            "token": self.text,
            "occurrences": self.occurrences,
            "documents": self.documents,
            "expected_in_model_corpus": self.expected,
        }


@dataclass(frozen=True)
class FeatureGroup:
    """The absent tokens one feature explains."""

    feature: str
    holds: str  # "\\r", "a run of spaces", ...
    lacks: str  # "\\r", "runs of spaces", ...
    why: str  # what the model's pipeline probably did
    corpus_occurrences: int
    model_occurrences: int
    corpus_rate: float  # per million characters
    model_rate: float
    tokens: tuple[TokenAbsence, ...]  # most frequent in the tokenizer corpus first

    @property
    def absent(self) -> bool:
        return self.model_occurrences == 0


@dataclass(frozen=True)
class Grouping:
    """The absent tokens under one policy (thresholds): groups, unexplained, rare."""

    explaining: tuple[str, ...]  # features the model corpus lacks (absent, or rarer by the ratio)
    groups: tuple[FeatureGroup, ...]  # in feature order, non-empty
    unexplained: tuple[TokenAbsence, ...]  # no feature explains them and expected >= min_expected
    unexplained_rare: int  # no feature explains them, too rare for their absence to mean much


def _order(items: list[TokenAbsence]) -> tuple[TokenAbsence, ...]:
    return tuple(sorted(items, key=lambda e: (-e.occurrences, e.token_id)))


@dataclass(frozen=True)
class CorpusMismatch:
    """Tokens occurring in the tokenizer corpus and never in the model corpus, with the
    two corpora's profiles. `group` applies a policy; rules call it with their options."""

    corpus: PreprocessingProfile
    model_corpus: PreprocessingProfile
    absent: tuple[TokenAbsence, ...]  # by id
    candidates: int  # tokens (not control/unknown/unused) occurring in the tokenizer corpus
    model_sampled: bool  # the model corpus was cut by --max-documents

    @property
    def corpus_features(self) -> dict[str, int]:
        return profile_features(self.corpus)

    @property
    def model_features(self) -> dict[str, int]:
        return profile_features(self.model_corpus)

    def rate(self, feature: str, model: bool = False) -> float:
        """Occurrences of a feature per million characters in one corpus."""
        p = self.model_corpus if model else self.corpus
        n = (self.model_features if model else self.corpus_features).get(feature, 0)
        return 1e6 * n / p.characters if p.characters else 0.0

    def explaining(self, max_rate_ratio: float = MAX_RATE_RATIO) -> tuple[str, ...]:
        """Features the tokenizer corpus has and the model corpus lacks: absent, or at most
        `max_rate_ratio` times as frequent per character."""
        have = self.corpus_features
        return tuple(
            f for f in FEATURE_NAMES if have.get(f, 0) > 0 and self.rate(f, model=True) <= max_rate_ratio * self.rate(f)
        )

    def group(self, max_rate_ratio: float = MAX_RATE_RATIO, min_expected: float = MIN_EXPECTED) -> Grouping:
        explaining = self.explaining(max_rate_ratio)
        by_feature: dict[str, list[TokenAbsence]] = {f: [] for f in explaining}
        unexplained: list[TokenAbsence] = []
        rare = 0
        for entry in self.absent:
            first = next((f for f in explaining if f in entry.features), None)
            if first is not None:
                by_feature[first].append(entry)
            elif entry.expected >= min_expected:
                unexplained.append(entry)
            else:
                rare += 1
        have, lack = self.corpus_features, self.model_features
        groups = tuple(
            FeatureGroup(
                feature=f,
                holds=_HOLDS[f],
                lacks=_LACKS[f],
                why=_WHY[f],
                corpus_occurrences=have.get(f, 0),
                model_occurrences=lack.get(f, 0),
                corpus_rate=round(self.rate(f), 3),
                model_rate=round(self.rate(f, model=True), 3),
                tokens=_order(by_feature[f]),
            )
            for f in explaining
            if by_feature[f]
        )
        return Grouping(explaining, groups, _order(unexplained), rare)

    def report_section(self) -> dict[str, Any]:
        """The two profiles side by side, per signal, and the default grouping."""

        def side(p: PreprocessingProfile, name: str) -> dict[str, Any]:
            return {
                "occurrences": p.occurrences.get(name, 0),
                "documents": p.in_documents.get(name, 0),
                "per_million_chars": round(p.rate(name), 3),
                "first_seen": p.first_seen.get(name),
            }

        g = self.group()
        return {
            "corpus": {"documents": self.corpus.documents, "characters": self.corpus.characters},
            "model_corpus": {
                "documents": self.model_corpus.documents,
                "characters": self.model_corpus.characters,
                "sampled": self.model_sampled,
            },
            "signals": {
                name: {
                    "description": label,
                    "corpus": side(self.corpus, name),
                    "model_corpus": side(self.model_corpus, name),
                }
                for name, label in SIGNALS
            },
            "tokens_in_corpus": self.candidates,
            "tokens_absent_from_model_corpus": len(self.absent),
            "explaining_features": list(g.explaining),
            "groups": {grp.feature: len(grp.tokens) for grp in g.groups},
            "unexplained": len(g.unexplained),
            "unexplained_rare": g.unexplained_rare,
            "max_rate_ratio": MAX_RATE_RATIO,
            "min_expected": MIN_EXPECTED,
        }


def _token_text(tb: bytes) -> str:
    # A partial UTF-8 token carries no character of its own: its bytes are dropped, not
    # turned into U+FFFD (which would read as "replacement characters").
    return tb.decode("utf-8", "ignore")


def compare_corpora(view: TokenizerView, corpus: CorpusStats, model_corpus: CorpusStats) -> CorpusMismatch:
    """The tokens of `corpus` that `model_corpus` never shows, with their features."""
    if corpus.profile is None or model_corpus.profile is None:
        raise ValueError("both corpus scans must carry their preprocessing profile (scan_corpus(profile=True))")
    skip = {TokenKind.CONTROL, TokenKind.UNKNOWN, TokenKind.UNUSED}
    eligible = np.fromiter(
        (k not in skip and tb is not None for k, tb in zip(view.kinds, view.token_bytes)),
        dtype=bool,
        count=view.vocab_size,
    )
    occ_tok, occ_mod = corpus.occurrences, model_corpus.occurrences
    seen = eligible & (occ_tok > 0)
    scale = model_corpus.n_chars / corpus.n_chars if corpus.n_chars else 0.0
    absent: list[TokenAbsence] = []
    for t in np.flatnonzero(seen & (occ_mod == 0)).tolist():
        tb = view.token_bytes[t]
        assert tb is not None
        n = int(occ_tok[t])
        absent.append(
            TokenAbsence(
                t, escape_bytes(tb), n, int(corpus.documents[t]), round(n * scale, 3), token_features(_token_text(tb))
            )
        )
    return CorpusMismatch(
        corpus=corpus.profile,
        model_corpus=model_corpus.profile,
        absent=tuple(absent),
        candidates=int(seen.sum()),
        model_sampled=model_corpus.read.truncated,
    )
