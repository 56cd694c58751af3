"""GGUF "bert" vocabularies (llama.cpp's WPM tokenizer), rebuilt as a WordPiece `tokenizers.Tokenizer`.

llama.cpp's converter rewrites a BERT vocabulary on the way in: a word-initial piece
"hello" becomes "▁hello", a continuation "##llo" becomes "llo", control tokens ([CLS],
[SEP], ...) stay as they are (older converters kept every "[...]" piece as it is).
llama.cpp then normalises like BERT (lowercase and strip accents unless the file says
otherwise, drop control characters, split at whitespace, punctuation, ASCII symbols and
CJK ideographs) and matches each word as "▁" + word, longest piece first, the whole word
becoming the unknown token when some position matches nothing.

Matching is HF's WordPiece with a "##" continuation prefix once the converter's
spelling is undone, so the view holds the pieces in their original spelling: the
vocabulary analysis knows how to read WordPiece continuation pieces. The normalisation
is llama.cpp's own, done here in Python: it differs from HF's BertNormalizer where
llama.cpp's Unicode tables are simpler (its NFD keeps only the first code point, so a
Hangul syllable becomes its leading jamo; every mark is an accent, spacing ones too).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.core import FlatEncodings, InputError, TokenizerView, TokenKind, first_line
from auditor.loaders.hf_json import TokenizersBackend

_CONTROL, _UNKNOWN, _USER_DEFINED, _UNUSED = 3, 2, 4, 5
_PREFIX = "##"
# llama.cpp matches words of any length; HF's WordPiece turns longer ones into [UNK].
_NO_WORD_LIMIT = 1 << 31


# llama.cpp's whitespace set (Unicode White_Space) and its BERT "Chinese character" blocks.
_WHITESPACE = frozenset([*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029])
_WHITESPACE |= {0x202F, 0x205F, 0x3000}
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


class _CharMap(dict[int, str]):
    """str.translate table of llama.cpp's WPM preprocessing, filled per code point on first sight.

    A character becomes itself (lowercased), "" (dropped), " " (a word break) or " c "
    (a word of its own); splitting the result at spaces gives llama.cpp's words.
    """

    def __init__(self, lowercase: bool, strip_accents: bool) -> None:
        super().__init__()
        self._lowercase = lowercase
        self._strip = strip_accents

    def __missing__(self, cp: int) -> str:
        if self._strip:
            cp = ord(unicodedata.normalize("NFD", chr(cp))[0])
        category = unicodedata.category(chr(cp))
        if cp in _WHITESPACE:
            out = " "
        elif cp in (0, 0xFFFD) or category[0] == "C" and category != "Cn":
            out = ""
        elif self._strip and category[0] == "M":
            out = ""
        else:
            out = chr(cp).lower()[:1] if self._lowercase else chr(cp)  # llama.cpp maps one code point to one
            if category[0] == "P" or (cp < 0x7F and category[0] == "S") or any(a <= cp <= b for a, b in _CJK):
                out = f" {out} "
        self[cp] = out
        return out


class WordPieceBackend(TokenizersBackend):
    """`tokenizers` WordPiece behind llama.cpp's preprocessing; added tokens are matched on the raw text."""

    def __init__(self, tokenizer: Any, chars: _CharMap, added: Sequence[str]) -> None:
        super().__init__(tokenizer)
        self._chars = chars
        longest_first = sorted(set(added), key=len, reverse=True)
        self._added = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None

    def prepare(self, text: str) -> str:
        """The text as llama.cpp's WPM tokenizer sees it, added tokens left as they are."""
        if self._added is None:
            return text.translate(self._chars)
        out, at = [], 0
        for m in self._added.finditer(text):
            out += [text[at : m.start()].translate(self._chars), m.group()]
            at = m.end()
        out.append(text[at:].translate(self._chars))
        return "".join(out)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return super().encode_batch([self.prepare(t) for t in texts])

    def encode_flat(self, texts: Sequence[str]) -> FlatEncodings:
        return super().encode_flat([self.prepare(t) for t in texts])

    def encode_offsets(self, text: str) -> list[tuple[int, int]] | None:  # type: ignore[override]
        """Spans are only known when the preprocessing left the text as it was."""
        prepared = self.prepare(text)
        return super().encode_offsets(text) if prepared == text else None

    def normalize(self, text: str) -> str | None:
        return self.prepare(text)


def original_piece(piece: str, token_type: int) -> str:
    """A GGUF WordPiece entry in the spelling of the tokenizer it came from."""
    if token_type in (_CONTROL, _UNKNOWN):
        return piece
    if piece.startswith("▁"):
        return piece[1:] or piece
    if len(piece) > 2 and piece.startswith("[") and piece.endswith("]"):
        return piece  # older converters kept "[unused0]" and the like unprefixed
    return _PREFIX + piece


def wordpiece_model_spec(vocab: dict[str, int], unk_token: str) -> dict[str, Any]:
    """A tokenizer.json WordPiece model node."""
    return {
        "type": "WordPiece",
        "unk_token": unk_token,
        "continuing_subword_prefix": _PREFIX,
        "max_input_chars_per_word": _NO_WORD_LIMIT,
        "vocab": vocab,
    }


def wordpiece_view(
    path: Path, tokens: list[str], types: list[int], first: dict[str, int], info: dict[str, Any]
) -> TokenizerView:
    """The WordPiece tokenizer llama.cpp runs for a "bert" vocabulary, over every GGUF id."""
    import dataclasses

    from tokenizers import Tokenizer

    from auditor.loaders.hf_json import added_token_spec, tokenizer_json_spec, view_from_tokenizer

    n = len(tokens)
    originals = [original_piece(t, ty) for t, ty in zip(tokens, types)]
    vocab: dict[str, int] = {}
    clashes: list[int] = []
    for i, piece in enumerate(originals):
        if first[tokens[i]] != i or vocab.setdefault(piece, i) != i:
            clashes.append(i)
    unk_id = info.get("unknown_token_id")
    if unk_id is None or not 0 <= unk_id < n:
        unk_id = 100  # llama.cpp's default for BERT vocabularies
    if unk_id >= n or originals[unk_id] not in vocab:
        raise InputError(path, "GGUF 'bert' vocabulary has no unknown token (tokenizer.ggml.unknown_token_id)")
    added = [
        added_token_spec(i, tokens[i], special=types[i] != _USER_DEFINED, normalized=False)
        for i, t in enumerate(types)
        if t in (_CONTROL, _UNKNOWN, _USER_DEFINED) and i not in clashes
    ]
    spec = tokenizer_json_spec(
        wordpiece_model_spec(vocab, originals[unk_id]),
        added_tokens=added,
        pre_tokenizer={"type": "WhitespaceSplit"},
        decoder={"type": "WordPiece", "prefix": _PREFIX, "cleanup": True},
    )
    try:
        tok = Tokenizer.from_str(json.dumps(spec))
    except Exception as exc:
        raise InputError(path, f"cannot build a tokenizer from this GGUF vocabulary: {first_line(exc)}") from None
    view = view_from_tokenizer(tok, spec, path=str(path), fmt="gguf")
    chars = _CharMap(bool(info["normalizer_lowercase"]), bool(info["normalizer_strip_accents"]))
    backend = WordPieceBackend(tok, chars, [a["content"] for a in added])

    # Ids whose original spelling another id already holds are holes in the tokenizer:
    # they keep their GGUF piece and are never produced.
    pieces: list[str | None] = list(originals)
    kinds = list(view.kinds) + [TokenKind.UNUSED] * (n - view.vocab_size)
    token_bytes = list(view.token_bytes) + [None] * (n - view.vocab_size)
    for i in clashes:
        pieces[i], kinds[i], token_bytes[i] = tokens[i], TokenKind.UNUSED, None
    for i, t in enumerate(types):
        if t == _UNUSED:
            kinds[i] = TokenKind.UNUSED
    kinds[unk_id], token_bytes[unk_id] = TokenKind.UNKNOWN, None
    info["wordpiece_clashes"] = clashes
    return dataclasses.replace(
        view,
        backend=backend,
        pieces=pieces,
        kinds=kinds[:n],
        token_bytes=token_bytes[:n],
        unk_id=unk_id,
        facts=view.facts.with_facts(gguf=info, pre_tokenizer_fallback=False),
        notes=[
            *view.notes,
            'GGUF WordPiece pieces are shown as the source tokenizer spelled them ("▁x" as "x", "x" as "##x")',
        ],
    )
