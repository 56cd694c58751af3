"""`tokaudit encode`: how texts are tokenized, id by id, with the bytes each id covers.

The quickest way to see what a loader does, and to check it against another
implementation: the ids must match whatever the tokenizer's own library gives.

Byte offsets are into the UTF-8 of the text as given. A backend that knows its offsets
(tokenizers, sentencepiece, fast transformers tokenizers) states them; otherwise they
come from the tokens' bytes when those spell the text exactly (byte-level BPE without a
normaliser). When neither holds (a normaliser rewrote the text, a dummy prefix was
added) the offsets are left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.core import TokenizerView


@dataclass(frozen=True)
class Tokenization:
    """One text: its ids, their vocabulary pieces, and the byte span of the text each covers."""

    text: str
    ids: tuple[int, ...]
    pieces: tuple[str | None, ...]
    offsets: tuple[tuple[int, int], ...] | None  # (start, end) bytes of the text; None: unknown
    decoded: str  # decode(ids): equal to the text for a lossless tokenizer

    @property
    def round_trips(self) -> bool:
        return self.decoded == self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "ids": list(self.ids),
            "pieces": list(self.pieces),
            "offsets": None if self.offsets is None else [list(span) for span in self.offsets],
            "decoded": self.decoded,
        }


@dataclass(frozen=True)
class EncodeResult:
    """What `tokaudit encode` reports: the artifact, its implementation and each text."""

    artifact: dict[str, Any]
    texts: tuple[Tokenization, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_list(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.texts]


def tokenize_texts(view: TokenizerView, texts: Sequence[str]) -> EncodeResult:
    """Encode every text (without BOS/EOS, as the analyses do) and decode it back."""
    encoded = view.encode_batch(list(texts))
    decoded = view.decode_batch(encoded)
    out = []
    for text, ids, back in zip(texts, encoded, decoded):
        out.append(
            Tokenization(
                text=text,
                ids=tuple(ids),
                pieces=tuple(view.pieces[i] if 0 <= i < view.vocab_size else None for i in ids),
                offsets=byte_offsets(view, text, ids),
                decoded=back,
            )
        )
    return EncodeResult(
        artifact=view.describe(), texts=tuple(out), notes=tuple(view.notes), warnings=tuple(view.warnings)
    )


def byte_offsets(view: TokenizerView, text: str, ids: Sequence[int]) -> tuple[tuple[int, int], ...] | None:
    """The span of `text`'s UTF-8 each id covers, or None when it cannot be known exactly."""
    native = getattr(view.backend, "encode_offsets", None)
    if native is not None:
        found = native(text)
        if found is not None and len(found) == len(ids):
            return tuple((int(a), int(b)) for a, b in found)
    spans = []
    at = 0
    for i in ids:
        data = view.token_bytes[i] if 0 <= i < view.vocab_size else None
        if data is None:
            return None
        spans.append((at, at + len(data)))
        at += len(data)
    return tuple(spans) if b"".join(view.token_bytes[i] or b"" for i in ids) == text.encode("utf-8") else None
