"""Which known pre-tokenizer family a byte-level BPE tokenizer belongs to, read from its vocabulary.

A BPE vocabulary is learned inside the pieces its pre-tokenizer cut: almost none of its
tokens crosses a piece boundary of the regexes it was trained with. So for each known
family (auditor/loaders/pretokenizers.py: gpt2, llama3, qwen2, deepseek, o200k, ...)
the number of vocabulary tokens its regexes would cut in two says how well it fits;
the family that cuts fewest is the nearest. The tokenizer's own pre-tokenizer is
measured the same way, and compared with the nearest family on fixed probe strings.

This answers what a refusal would not: a GGUF whose `tokenizer.ggml.pre` is unknown,
a tokenizer.json with a hand-written regex, a rank file with a guessed pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.core import TokenizerView, TokenKind
from auditor.loaders.bytelevel import piece_to_bytes
from auditor.loaders.pretokenizers import FAMILIES, PreTokenizerFamily, split

# Texts on which the families differ: contractions, digit runs, letters after
# punctuation, whitespace runs before words and newlines, case changes, scripts.
# Change only with FAMILY_PROBES_VERSION.
FAMILY_PROBES_VERSION = 1
FAMILY_PROBES: tuple[str, ...] = (
    "I'm sure they'll say you're right, DON'T",
    "x = 12345678 + 3.14159",
    "\tif (a+=b) {\n\t\treturn c;\n}",
    "   three spaces and a tab\t\tthen text",
    "line one\n\n\nline two\r\nend",
    "HelloWorld camelCaseName XMLHttpRequest",
    "naïve café Straße über",
    "日本語のテキストと中文文本",
    "한국어 텍스트",
    "emoji 🙂🚀 ✓ done!!! ...",
    "path/to/file.py:42",
    "$100,000.00 and 2024-06-01",
    "<tag attr='v'>",
    "ελληνικά и русский текст",
)
# Tokens checked per family: evenly spaced ids, so the cost stays bounded on 256k vocabularies.
MAX_TOKENS = 20_000
# Families are ranked on this many of those tokens; the best FINALISTS are counted on all.
RANKING_SAMPLE = 2_000
FINALISTS = 4


@dataclass(frozen=True)
class FamilyFit:
    """One family against the vocabulary: how many of its tokens the family's regexes cut."""

    family: str
    split_tokens: int
    examples: tuple[str, ...]  # a few token texts it cuts, for the report


@dataclass(frozen=True)
class ProbeDifference:
    probe: str
    own: tuple[str, ...]
    family: tuple[str, ...]


@dataclass(frozen=True)
class PreTokenizerFamilyAnalysis:
    """The fits, best first; the tokenizer's own pre-tokenizer measured the same way."""

    checked_tokens: int
    fits: tuple[FamilyFit, ...]  # the finalists, best first
    own_split_tokens: int | None  # None when the backend cannot pre-tokenize
    own_examples: tuple[str, ...]
    differences: tuple[ProbeDifference, ...]  # own pre-tokenizer vs the nearest family
    exact_families: tuple[str, ...]  # families that agree with the own pre-tokenizer on every probe

    @property
    def nearest(self) -> FamilyFit:
        return self.fits[0]

    def report_section(self) -> dict[str, Any]:
        return {
            "nearest": self.nearest.family,
            "nearest_split_tokens": self.nearest.split_tokens,
            "own_split_tokens": self.own_split_tokens,
            "checked_tokens": self.checked_tokens,
            "matches": list(self.exact_families),
            "probe_differences": len(self.differences),
        }


def _token_texts(view: TokenizerView) -> list[str]:
    """Texts of the ordinary learned tokens (several bytes, valid UTF-8), evenly sampled."""
    ids = [
        i
        for i, k in enumerate(view.kinds)
        if k is TokenKind.NORMAL and (tb := view.token_bytes[i]) is not None and len(tb) > 1
    ]
    if len(ids) > MAX_TOKENS:
        step = len(ids) / MAX_TOKENS
        ids = [ids[int(k * step)] for k in range(MAX_TOKENS)]
    out = []
    for i in ids:
        try:
            out.append(view.token_bytes[i].decode("utf-8"))  # type: ignore[union-attr]
        except UnicodeDecodeError:
            continue  # a fragment of a character: no regex sees it alone
    return out


def _own_split(view: TokenizerView, text: str, byte_chars: bool) -> tuple[str, ...] | None:
    """The tokenizer's own pre-tokenizer pieces, as text (byte-level characters mapped back)."""
    normalized = view.normalize(text)
    pieces = view.pre_tokenize(normalized if normalized is not None else text)
    if pieces is None:
        return None
    if not byte_chars:
        return tuple(pieces)
    out = []
    for p in pieces:
        data = piece_to_bytes(p)
        out.append(p if data is None else data.decode("utf-8", "replace"))
    return tuple(out)


def _pieces_are_byte_chars(view: TokenizerView) -> bool | None:
    """Whether the backend's pre-tokenizer writes GPT-2 byte characters ("Ġé" for " é") or
    plain text (regex-only backends); None when it cannot pre-tokenize."""
    probe = " é"
    pieces = view.pre_tokenize(probe)
    if pieces is None:
        return None
    return "".join(pieces) != probe


def _stays_whole(patterns: list[Any], family: PreTokenizerFamily, text: str) -> bool:
    """Whether `split(family, text)` is one piece, from the first match of each regex.

    A text stays whole under a regex when it has no match, or its first match spans it
    all; a first match that starts later or ends earlier cuts it. Only an empty first
    match at the start needs the whole split.
    """
    for pattern in patterns:
        m = pattern.search(text)
        if m is None:
            continue
        if m.start() > 0 or 0 < m.end() < len(text):
            return False
        if m.end() == 0:
            return len(split(family, text)) <= 1
    return True


def _fit(name: str, family: PreTokenizerFamily, texts: list[str]) -> FamilyFit:
    import regex

    patterns = [regex.compile(r) for r in family.regexes]
    cut = [t for t in texts if not _stays_whole(patterns, family, t)]
    return FamilyFit(family=name, split_tokens=len(cut), examples=tuple(cut[:5]))


def analyze_pretokenizer_family(view: TokenizerView) -> PreTokenizerFamilyAnalysis | None:
    """None for tokenizers the families do not describe (not byte-level BPE).

    Every family is ranked on a small even sample of the tokens; the best few, and those
    that agree with the tokenizer's own pre-tokenizer, are then counted on all of them.
    """
    if not view.byte_level or view.model_type != "bpe":
        return None
    texts = _token_texts(view)
    if not texts:
        return None
    families = {name: f for name, f in FAMILIES.items() if f.byte_level and not f.escape_whitespaces}
    order = {name: k for k, name in enumerate(families)}

    byte_chars = _pieces_are_byte_chars(view)
    own_known = byte_chars is not None
    own_cut = [t for t in texts if len(_own_split(view, t, bool(byte_chars)) or ()) > 1] if own_known else []
    own_probes = {p: _own_split(view, p, bool(byte_chars)) for p in FAMILY_PROBES} if own_known else {}
    exact = tuple(
        name
        for name, family in families.items()
        if own_known and all(tuple(split(family, p)) == own_probes[p] for p in FAMILY_PROBES)
    )

    # A family that cuts text into fewer pieces than GPT-2 (SuperBPE keeps words together)
    # fits every vocabulary; it is a candidate only when the tokenizer itself is one.
    baseline = sum(len(split(FAMILIES["gpt2"], p)) for p in FAMILY_PROBES)
    candidates = [
        name
        for name, family in families.items()
        if name in exact or sum(len(split(family, p)) for p in FAMILY_PROBES) >= baseline
    ]
    step = max(1, len(texts) // RANKING_SAMPLE)
    sample = texts[::step]
    ranked = sorted(candidates, key=lambda name: (_fit(name, families[name], sample).split_tokens, order[name]))
    finalists = list(dict.fromkeys([*ranked[:FINALISTS], *exact]))
    by_regexes: dict[tuple[str, ...], FamilyFit] = {}
    fits = []
    for name in finalists:
        family = families[name]
        known = by_regexes.get(family.regexes)
        fit = _fit(name, family, texts) if known is None else FamilyFit(name, known.split_tokens, known.examples)
        by_regexes[family.regexes] = fit
        fits.append(fit)
    # Families that cut about as few tokens as the best are equally near: the tokenizer's
    # own family first among them, then the table's order.
    tolerance = max(2, len(texts) // 1000)
    best = min(f.split_tokens for f in fits)
    fits.sort(key=lambda f: (f.split_tokens > best + tolerance, f.family not in exact, f.split_tokens, order[f.family]))

    nearest = families[fits[0].family]
    differences = tuple(
        ProbeDifference(p, own_probes[p] or (), tuple(split(nearest, p)))
        for p in FAMILY_PROBES
        if own_known and tuple(split(nearest, p)) != own_probes[p]
    )
    return PreTokenizerFamilyAnalysis(
        checked_tokens=len(texts),
        fits=tuple(fits),
        own_split_tokens=len(own_cut) if own_known else None,
        own_examples=tuple(own_cut[:5]),
        differences=differences,
        exact_families=exact,
    )
