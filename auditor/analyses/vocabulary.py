"""Vocabulary analysis: one category per token id, exactly as `docs/method.md` §1 describes.

For every id: `s = decode([id])`, `ids = encode(s)`, then OK / OK_SPECIAL /
UNREACHABLE_SPECIAL / PARTIAL_UTF8 / UNREACHABLE_SINGLE / UNREACHABLE_MULTI. Tokenizers
that prepend a space (SentencePiece's dummy prefix) are handled with a one-token
sentinel (« or ») put in front of the text and of the ids, then dropped.

Everything runs through the backend's batch calls: two encode batches and two decode
batches for the whole vocabulary instead of a Python loop per token. The paper's
report-level counts and, for every unreachable token, the cause are derived from it.
"""

from __future__ import annotations

import enum
import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.core import FlatEncodings, TokenizerView, TokenKind
from auditor.loaders.bytelevel import char_to_byte
from auditor.loaders.view import BYTE_PIECE

SPACE_MARKERS = " ▁_Ġ"
SENTINELS = ("«", "»")  # the reference's; more are tried only when neither is one token
# Tried in order when neither « nor » is one token (small unigram models): the first
# three that are, as a cascade, since a sentinel may merge with some texts.
FALLBACK_SENTINELS = tuple("§¶@#|~^`\"',.:;!?()[]{}*&%$=+<>/\\-")
# ... and letters last (they merge with more texts): a model without punctuation still works
LETTER_SENTINELS = tuple("qxzjkvwyfbgpmdhclnrstuoiea")


class Category(str, enum.Enum):
    OK = "OK"
    OK_SPECIAL = "OK_SPECIAL"
    UNREACHABLE_SPECIAL = "UNREACHABLE_SPECIAL"
    PARTIAL_UTF8 = "PARTIAL_UTF8"
    UNREACHABLE_SINGLE = "UNREACHABLE_SINGLE_TOKEN"
    UNREACHABLE_MULTI = "UNREACHABLE_MULTI_TOKEN"

    @property
    def reachable(self) -> bool:
        return self in (Category.OK, Category.OK_SPECIAL)

    @property
    def unreachable(self) -> bool:
        return self in (Category.UNREACHABLE_SPECIAL, Category.UNREACHABLE_SINGLE, Category.UNREACHABLE_MULTI)


@dataclass(frozen=True)
class Cause:
    """Why a token cannot be produced: a stable code and a sentence for people."""

    code: str
    message: str


@dataclass(frozen=True)
class VocabularyAnalysis:
    """Per-id facts (lists indexed by id; None for holes) and the report-level counts."""

    categories: list[Category | None]
    decoded: list[str | None]
    reencoded: dict[int, tuple[int, ...]]  # only for ids whose round trip is not [id]
    single_byte: frozenset[int]
    special_pattern: frozenset[int]
    causes: dict[int, Cause]
    sentinel: str | None  # the leading-space sentinel used, None when not needed
    word_sentinel: str | None = None  # the word put before WordPiece continuation pieces
    sentinel_failures: tuple[int, ...] = field(default=())  # ids analysed without a sentinel
    # Fillers a converter added to reach the embedding size: counted apart, in no paper count.
    padding: frozenset[int] = field(default=frozenset())

    def category_counts(self) -> dict[str, int]:
        counts = Counter(self.categories)
        return {c.value: counts.get(c, 0) for c in Category}

    @functools.cached_property
    def _paper_sets(self) -> tuple[list[int], list[int]]:
        excl = self.single_byte | self.special_pattern | self.padding
        unreachable, partial = [], []
        for i in sorted(self.reencoded):  # every non-OK id has an entry
            if i in excl:
                continue
            c = self.categories[i]
            if c is Category.PARTIAL_UTF8:
                partial.append(i)
            elif c is not None and c.unreachable:
                unreachable.append(i)
        return unreachable, partial

    def paper_unreachable(self) -> list[int]:
        """Unreachable ids as the paper counts them: not single-byte, not special-looking."""
        return list(self._paper_sets[0])

    def paper_partial_utf8(self) -> list[int]:
        return list(self._paper_sets[1])

    def paper_counts(self) -> dict[str, int]:
        """The paper's four counts; `padding` is added, apart, when the vocabulary has fillers."""
        counts = {
            "single_byte": len(self.single_byte - self.padding),
            "special": len(self.special_pattern - self.padding),
            "unreachable": len(self._paper_sets[0]),
            "partial_utf8": len(self._paper_sets[1]),
        }
        if self.padding:
            counts["padding"] = len(self.padding)
        return counts

    # --- on-disk cache (auditor.analyses.CACHED): per-id lists as flat arrays ---

    def to_cache(self) -> tuple[dict[str, Any], dict[str, Any]]:
        import numpy as np

        order = list(Category)
        cats = np.array([-1 if c is None else order.index(c) for c in self.categories], dtype=np.int8)
        texts = [b"" if d is None else d.encode("utf-8", "surrogatepass") for d in self.decoded]
        lengths = np.array([-1 if d is None else len(t) for d, t in zip(self.decoded, texts)], dtype=np.int64)
        re_ids = sorted(self.reencoded)
        document = {
            "size": len(self.categories),
            "causes": [[tid, c.code, c.message] for tid, c in sorted(self.causes.items())],
            "sentinel": self.sentinel,
            "word_sentinel": self.word_sentinel,
        }
        arrays = {
            "categories": cats,
            "decoded": np.frombuffer(b"".join(texts), dtype=np.uint8),
            "decoded_lengths": lengths,
            "re_ids": np.array(re_ids, dtype=np.int64),
            "re_lengths": np.array([len(self.reencoded[i]) for i in re_ids], dtype=np.int64),
            "re_flat": np.array([t for i in re_ids for t in self.reencoded[i]], dtype=np.int64),
            "single_byte": np.array(sorted(self.single_byte), dtype=np.int64),
            "special_pattern": np.array(sorted(self.special_pattern), dtype=np.int64),
            "sentinel_failures": np.array(self.sentinel_failures, dtype=np.int64),
            "padding": np.array(sorted(self.padding), dtype=np.int64),
        }
        return document, arrays

    @classmethod
    def from_cache(cls, document: dict[str, Any], arrays: dict[str, Any]) -> VocabularyAnalysis:
        """Inverse of `to_cache`; raises on anything inconsistent (the entry is then a miss)."""
        order = list(Category)
        size = int(document["size"])
        cats = arrays["categories"].tolist()
        lengths = arrays["decoded_lengths"].tolist()
        if len(cats) != size or len(lengths) != size:
            raise ValueError("inconsistent vocabulary cache entry")
        blob = arrays["decoded"].tobytes()
        decoded: list[str | None] = []
        at = 0
        for n in lengths:
            if n < 0:
                decoded.append(None)
            else:
                decoded.append(blob[at : at + n].decode("utf-8", "surrogatepass"))
                at += n
        if at != len(blob):
            raise ValueError("inconsistent vocabulary cache entry")
        reencoded: dict[int, tuple[int, ...]] = {}
        flat = arrays["re_flat"].tolist()
        at = 0
        for tid, n in zip(arrays["re_ids"].tolist(), arrays["re_lengths"].tolist()):
            reencoded[tid] = tuple(flat[at : at + n])
            at += n
        if at != len(flat):
            raise ValueError("inconsistent vocabulary cache entry")
        return cls(
            categories=[None if c < 0 else order[c] for c in cats],
            decoded=decoded,
            reencoded=reencoded,
            single_byte=frozenset(arrays["single_byte"].tolist()),
            special_pattern=frozenset(arrays["special_pattern"].tolist()),
            causes={int(t): Cause(str(code), str(msg)) for t, code, msg in document["causes"]},
            sentinel=document["sentinel"],
            word_sentinel=document["word_sentinel"],
            sentinel_failures=tuple(arrays["sentinel_failures"].tolist()),
            padding=frozenset(arrays["padding"].tolist()),
        )


# --- the analysis -----------------------------------------------------------------


def analyze_vocabulary(view: TokenizerView) -> VocabularyAnalysis:
    import numpy as np

    all_ids = view.ids
    sentinel = _choose_sentinels(view)
    # WordPiece continuation pieces ("##ing") only occur inside a word: they are analysed
    # after a word that greedy matching cannot extend, so decode/encode see them in place.
    prefix = view.continuation_prefix
    pieces = view.pieces
    inner = [i for i in all_ids if pieces[i].startswith(prefix) and pieces[i] != prefix] if prefix else []  # type: ignore[union-attr]
    inner_set = set(inner)
    word = _word_sentinels(view) if inner else []
    groups = [([i for i in all_ids if i not in inner_set] if inner else all_ids, sentinel)]
    if inner:
        groups.append((inner, word))

    size = view.vocab_size
    # Most ids are OK: start from that (None for holes) and correct the rest.
    categories: list[Category | None] = [Category.OK] * size
    if len(all_ids) != size:
        for i, p in enumerate(pieces):
            if p is None:
                categories[i] = None
    decoded_by_id: list[str | None] = [None] * size
    off: dict[int, tuple[int, ...]] = {}
    failures: list[int] = []
    for ids, sentinels in groups:
        decoded = _decode_each(view, ids, sentinels)
        flat, overrides, failed = _encode_all(view, decoded, sentinels)
        failures += [ids[k] for k in failed]
        ok = flat.is_exactly(ids)
        for k, enc in overrides.items():
            ok[k] = enc == [ids[k]]
        if len(ids) == size:  # no holes, one group: ids are 0..size-1
            decoded_by_id = list(decoded)
        else:
            for tid, s in zip(ids, decoded):
                decoded_by_id[tid] = s
        for k in np.flatnonzero(~ok).tolist():
            tid, s = ids[k], decoded[k]
            enc = overrides[k] if k in overrides else flat.get(k)
            off[tid] = tuple(enc)
            categories[tid] = _off_category(s, enc)
    control, unknown = TokenKind.CONTROL, TokenKind.UNKNOWN
    for tid, kind in enumerate(view.kinds):
        if (kind is control or kind is unknown) and categories[tid] is Category.OK:
            categories[tid] = Category.OK_SPECIAL

    lengths = map(len, (p or "" for p in pieces)) if len(all_ids) != size else map(len, pieces)  # type: ignore[arg-type]
    short = [i for i, n in enumerate(lengths) if n == 1 or n == 6]
    single = frozenset(i for i in short if is_single_byte(view, i))
    bracketed = [i for i, p in enumerate(pieces) if p and p.startswith(("<", "["))]
    special = frozenset(i for i in bracketed if looks_special_piece(pieces[i]))  # type: ignore[arg-type]
    causes = {
        tid: explain_unreachable(
            view, tid, decoded_by_id[tid] or "", off[tid], word_prefix=word[0][0] if word and tid in inner_set else None
        )
        for tid in sorted(off)
        if categories[tid] is not None and categories[tid].unreachable  # type: ignore[union-attr]
    }
    return VocabularyAnalysis(
        categories=categories,
        decoded=decoded_by_id,
        reencoded=off,
        single_byte=single,
        special_pattern=special,
        causes=causes,
        sentinel=sentinel[0][0] if sentinel else None,
        word_sentinel=word[0][0] if word else None,
        sentinel_failures=tuple(sorted(failures)),
        padding=frozenset(i for i, kind in enumerate(view.kinds) if kind is TokenKind.PADDING),
    )


def _off_category(s: str, enc: Sequence[int]) -> Category:
    """Category of a token whose round trip did not give it back (docs/method.md §1 order)."""
    if looks_special(s):
        return Category.UNREACHABLE_SPECIAL
    if "\ufffd" in s:
        return Category.PARTIAL_UTF8
    if len(enc) == 1:
        return Category.UNREACHABLE_SINGLE
    return Category.UNREACHABLE_MULTI


# Reserved placeholders by name: rows no training text touches until someone uses them
# (V106 reports them; the model audit takes them as reference rows).
RESERVED_PATTERN = re.compile(
    r"^(<unused\d+>|\[unused\d+\]|<\|reserved_special_token_\d+\|>|<\|reserved_\w*?\d+\|>|<reserved_?\d+>|<extra_\d+>)$"
)


def is_reserved_name(piece: str | None) -> bool:
    return bool(piece) and piece is not None and piece[0] in "<[" and RESERVED_PATTERN.match(piece) is not None


def looks_special(s: str) -> bool:
    """The reference's test on decoded text: [..] or <..> holding a letter, length >= 3."""
    return len(s) >= 3 and s[0] in "[<" and s[-1] in "]>" and any(c.isalpha() for c in s)


def looks_special_piece(piece: str) -> bool:
    """The report-level test on the raw piece: ASCII letter inside, byte pieces excluded."""
    return (
        len(piece) >= 3
        and piece[0] in "[<"
        and piece[-1] in "]>"
        and any(c.isalpha() and ord(c) < 128 for c in piece)
        and not piece.startswith("<0x")
    )


def is_single_byte(view: TokenizerView, tid: int) -> bool:
    """Byte-fallback <0xNN>; one byte-alphabet character (byte-level BPE); one ASCII character."""
    piece = view.pieces[tid] or ""
    if len(piece) not in (1, 6):
        return False
    if view.byte_level:
        if len(piece) == 1 and piece in char_to_byte():
            return True
        return bool(BYTE_PIECE.match(piece))
    if BYTE_PIECE.match(piece):
        return True
    return len(piece) == 1 and ord(piece) < 128


# --- leading-space handling ---------------------------------------------------------


def needs_sentinel(view: TokenizerView) -> bool:
    """True when the tokenizer adds or drops a leading space around a text.

    The reference's test: encoding 'test' yields a first token that starts with a space
    marker (a dummy prefix). Also true when decoding a space-initial token on its own
    drops its space (SentencePiece does so even without a dummy prefix): without a
    sentinel, every "▁word" token would look unreachable.
    """
    enc = view.encode("test")
    if enc:
        first = enc[0]
        piece = view.pieces[first] if 0 <= first < view.vocab_size else None
        tb = view.token_bytes[first] if 0 <= first < view.vocab_size else None
        if bool(piece and piece[0] in SPACE_MARKERS) or bool(tb and tb[:1] == b" "):
            return True
    return _decoder_drops_leading_space(view)


def _decoder_drops_leading_space(view: TokenizerView, sample: int = 50) -> bool:
    spaced = []
    for tid, tb in enumerate(view.token_bytes):
        if (
            tb is not None
            and len(tb) >= 2
            and tb[:1] == b" "
            and tb[1:2] != b" "
            and view.kinds[tid] == TokenKind.NORMAL
        ):
            spaced.append(tid)
            if len(spaced) == sample:
                break
    if not spaced:
        return False
    lost = sum(1 for s in view.decode_each(spaced) if not s.startswith(" "))
    return lost * 2 > len(spaced)


def _normalizer_changes(view: TokenizerView, s: str, normalized: str) -> bool:
    """Whether the normaliser really changes the text: Metaspace-style normalisers (Llama's
    old tokenizer.json: Prepend("▁") + Replace(" ", "▁")) only mark spaces."""
    if normalized == s:
        return False
    if view.facts.metaspace:
        marked = normalized.replace("▁", " ")
        if marked == s or (marked.startswith(" ") and marked[1:] == s):
            return False
    return True


def _choose_sentinels(view: TokenizerView) -> list[tuple[str, tuple[int, ...]]]:
    """Sentinels (text, ids) to put in front, or [] when none is needed.

    The reference's « and » when either is one token. Otherwise (small unigram models
    where "«" is <unk> and "," is "▁" + ",") up to three fallback characters whose
    encoding, of one or more tokens, holds no <unk>: the prefix is then those ids.
    """
    if not needs_sentinel(view):
        return []
    encs = view.encode_batch(list(SENTINELS))
    found = [(c, tuple(e)) for c, e in zip(SENTINELS, encs) if len(e) == 1 and e[0] != view.unk_id]
    if found:
        return found
    for group in (FALLBACK_SENTINELS, LETTER_SENTINELS):
        encs = view.encode_batch(list(group))
        ranked = sorted(
            (len(e), k, c, tuple(e)) for k, (c, e) in enumerate(zip(group, encs)) if e and view.unk_id not in e
        )
        if ranked:
            return [(c, e) for _n, _k, c, e in ranked[:3]]
    return []


def _word_sentinels(view: TokenizerView) -> list[tuple[str, tuple[int, ...]]]:
    """Words to put before continuation pieces: word-initial, alphabetic tokens that no
    longer vocabulary entry extends, so greedy longest-match stops right after them."""
    prefix = view.continuation_prefix or ""
    words = sorted(
        (p, i)
        for i, p in enumerate(view.pieces)
        if p and not p.startswith(prefix) and view.kinds[i] == TokenKind.NORMAL
    )
    candidates = []
    for k, (p, i) in enumerate(words):
        extended = k + 1 < len(words) and words[k + 1][0].startswith(p)
        if not extended and p.isalpha():
            candidates.append((len(p), i, p))
    candidates.sort()
    picked = [p for _n, _i, p in candidates[:20]]
    encs = view.encode_batch(picked)
    return [(p, tuple(e)) for p, e in zip(picked, encs) if len(e) == 1 and e[0] != view.unk_id][:5]


def _decode_each(view: TokenizerView, ids: Sequence[int], sentinels: list[tuple[str, tuple[int, ...]]]) -> list[str]:
    if not sentinels:
        return view.decode_each(ids)
    out: list[str | None] = [None] * len(ids)
    todo = list(range(len(ids)))
    for text, sids in sentinels:
        if not todo:
            break
        decoded = view.decode_batch([[*sids, ids[k]] for k in todo])
        left = []
        for k, d in zip(todo, decoded):
            if d.startswith(" "):  # some decoders keep the dummy-prefix space (Mistral)
                d = d[1:]
            if d.startswith(text):
                out[k] = d[len(text) :]
            else:
                left.append(k)
        todo = left
    if todo:
        for k, d in zip(todo, view.decode_each([ids[k] for k in todo])):
            out[k] = d
    return out  # type: ignore[return-value]


def _encode_all(
    view: TokenizerView, texts: Sequence[str], sentinels: list[tuple[str, tuple[int, ...]]]
) -> tuple[FlatEncodings, dict[int, list[int]], list[int]]:
    """Encode every text (after the first sentinel that works for it, which is dropped).

    Returns the flat encodings of the first pass, the encodings of texts that needed
    another sentinel or none (by position), and the positions that used no sentinel.
    """
    import numpy as np

    if not sentinels:
        return view.encode_flat(texts), {}, []
    first_text, first_ids = sentinels[0]
    flat = view.encode_flat([first_text + t for t in texts])
    n = len(first_ids)
    ok = flat.lengths >= n
    for j, sid in enumerate(first_ids):
        at = np.minimum(flat.starts + j, max(len(flat.ids) - 1, 0))
        ok &= (flat.ids[at] == sid) if len(flat.ids) else False
    flat = FlatEncodings(
        ids=flat.ids,
        lengths=np.where(ok, flat.lengths - n, flat.lengths),
        starts=np.where(ok, flat.starts + n, flat.starts),
    )
    overrides: dict[int, list[int]] = {}
    todo = np.flatnonzero(~ok).tolist()
    for text, sids in sentinels[1:]:
        if not todo:
            break
        k_n = len(sids)
        left = []
        for k, e in zip(todo, view.encode_batch([text + texts[k] for k in todo])):
            if tuple(e[:k_n]) == sids:
                overrides[k] = e[k_n:]
            else:
                left.append(k)
        todo = left
    if todo:
        for k, e in zip(todo, view.encode_batch([texts[k] for k in todo])):
            overrides[k] = e
    return flat, overrides, todo


# --- causes -----------------------------------------------------------------------


def _show(s: str) -> str:
    from auditor.escape import escape_text

    return '"' + escape_text(s) + '"'


def explain_unreachable(
    view: TokenizerView,
    tid: int,
    s: str,
    enc: Sequence[int],
    *,
    word_prefix: str | None = None,
) -> Cause:
    """The first explanation that holds, most specific first.

    `word_prefix` is set for WordPiece continuation pieces, which are analysed inside
    a word: the pre-tokenizer check then looks at the word plus the piece.
    """
    kind = view.kinds[tid]
    tb = view.token_bytes[tid]
    pieces = [view.pieces[i] or "?" for i in enc]

    if kind in (TokenKind.CONTROL, TokenKind.UNKNOWN):
        return Cause("control-token", "control token: plain text does not produce it, by design")
    if kind == TokenKind.UNUSED:
        return Cause("unused-token", "declared unused: the tokenizer never produces it")
    if tb == b"":
        return Cause("empty-token", "the token stands for no bytes: no text produces it")
    if kind == TokenKind.PADDING:
        return Cause("padding-filler", "a filler added to pad the vocabulary to the embedding size: never trained")
    if kind == TokenKind.BYTE and len(enc) == 1 and view.kinds[enc[0]] != TokenKind.BYTE:
        return Cause(
            "byte-fallback-duplicate",
            f"byte-fallback piece whose byte is also the normal piece {_show(pieces[0])} (id {enc[0]})",
        )
    for at in view.added_tokens:
        if at.id != tid and at.content and at.content in s:
            return Cause(
                "added-token-shadow",
                f"added token {_show(at.content)} (id {at.id}) is matched first inside its text",
            )
    if tb is not None and "\ufffd" not in s and s.encode("utf-8") != tb:
        return Cause(
            "lossy-decode",
            f"decode([{tid}]) gives {_show(s)}, not the token's own text {_show(tb.decode('utf-8', 'replace'))}",
        )
    if view.unk_id is not None and view.unk_id in enc:
        return Cause("unknown-characters", "part of its text is not in the vocabulary and becomes <unk>")
    normalized = view.normalize(s)
    if normalized is not None and _normalizer_changes(view, s, normalized):
        return Cause("normalizer", f"the normaliser changes its text {_show(s)} into {_show(normalized)}")
    if word_prefix is not None:
        parts = view.pre_tokenize(word_prefix + (normalized if normalized is not None else s))
        if parts is not None and len(parts) > 1:
            return Cause(
                "pre-tokenizer",
                "the pre-tokenizer splits it from the word before it: a continuation piece that can never continue a word",
            )
    parts = view.pre_tokenize(normalized if normalized is not None else s)
    if parts is not None and len(parts) > 1:
        shown = ", ".join(_show(p) for p in parts[:6]) + (", ..." if len(parts) > 6 else "")
        return Cause("pre-tokenizer", f"the pre-tokenizer splits its text into {len(parts)} pieces: {shown}")
    if view.model_type == "bpe":
        if tb is not None and len(tb) > 1 and view.is_merge_product(tid) is False:
            return Cause("no-merge", "no BPE merge produces it: an orphan vocabulary entry")
        return Cause(
            "merge-order",
            "the BPE merges segment its text differently: " + " + ".join(_show(p) for p in pieces[:8]),
        )
    if view.model_type == "unigram":
        return Cause(
            "segmentation",
            "the unigram model prefers another segmentation: " + " + ".join(_show(p) for p in pieces[:8]),
        )
    return Cause("re-encodes", "its text encodes as " + " + ".join(_show(p) for p in pieces[:8]))
