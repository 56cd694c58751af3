"""SentencePiece `.model` files (BPE and unigram, byte fallback or not)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.core import (
    InputError,
    TokenizerFacts,
    TokenizerView,
    TokenKind,
    first_line,
)
from auditor.loaders.protobuf import (
    ProtobufError,
    SentencePieceModel,
    parse_sentencepiece_model,
)
from auditor.loaders.view import byte_piece_value, worker_threads

# SentencePiece piece types (also GGUF's token types): 1 normal ... 6 byte
KIND_OF_TYPE = {
    1: TokenKind.NORMAL,
    2: TokenKind.UNKNOWN,
    3: TokenKind.CONTROL,
    4: TokenKind.USER_DEFINED,
    5: TokenKind.UNUSED,
    6: TokenKind.BYTE,
}


class SentencePieceBackend:
    """Batch encode/decode through `sentencepiece`.

    Decoding renders control and unknown pieces as their piece text, as the HF slow
    tokenizers (and the paper's reference) do; raw sentencepiece would drop them.
    """

    def __init__(self, sp: Any, model: SentencePieceModel) -> None:
        import sentencepiece

        self._sp = sp
        self._model = model
        self.implementation = f"sentencepiece {sentencepiece.__version__}"
        self._literal = {i: piece for i, (piece, _score, ptype) in enumerate(model.pieces) if ptype in (2, 3)}
        self._threads = worker_threads()

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return self._sp.encode(list(texts), out_type=int, num_threads=self._threads)

    def encode_offsets(self, text: str) -> list[tuple[int, int]]:
        """Byte spans of the original text per id, as sentencepiece aligns them.

        Read from the serialized SentencePieceText (pieces: field 2; begin 4, end 5), so
        the protobuf package is not needed."""
        from auditor.loaders.protobuf import fields

        spans = []
        for num, _wire, piece in fields(self._sp.encode(text, out_type="serialized_proto")):
            if num == 2:
                values = {n: v for n, _w, v in fields(piece)}
                spans.append((int(values.get(4, 0)), int(values.get(5, 0))))
        return spans

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        seqs = [list(s) for s in seqs]
        out = self._sp.decode(seqs, num_threads=self._threads) if seqs else []
        literal = self._literal
        for k, seq in enumerate(seqs):
            if any(i in literal for i in seq):
                out[k] = self._decode_with_literals(seq)
        return out

    def _decode_with_literals(self, seq: Sequence[int]) -> str:
        parts: list[str] = []
        run: list[int] = []
        for i in seq:
            if i in self._literal:
                if run:
                    parts.append(self._sp.decode(run))
                    run = []
                parts.append(self._literal[i])
            else:
                run.append(i)
        if run:
            parts.append(self._sp.decode(run))
        return "".join(parts)

    def normalize(self, text: str) -> str | None:
        out = self._sp.normalize(text).replace("▁", " ")
        if self._model.add_dummy_prefix and out.startswith(" ") and not text.startswith(" "):
            out = out[1:]
        elif self._model.add_dummy_prefix and out.startswith("  ") and text.startswith(" "):
            out = out[1:]
        return out

    def pre_tokenize(self, text: str) -> list[str] | None:
        # SentencePiece treats whitespace as an ordinary symbol: no pre-tokenizer split,
        # except for split_digits, which isolates every digit.
        if self._model.split_digits:
            return [p for p in re.split(r"(\d)", text) if p]
        return [text]


def load_sentencepiece(path: Path, data: bytes | None = None, *, fmt: str = "sentencepiece") -> TokenizerView:
    """Load a SentencePiece ModelProto from a file (or from bytes built by another loader)."""
    import sentencepiece as spm

    if data is None:
        data = path.read_bytes()
    try:
        model = parse_sentencepiece_model(data)
    except ProtobufError as exc:
        raise InputError(path, f"not a SentencePiece model ({exc})") from None
    try:
        sp = spm.SentencePieceProcessor()
        sp.LoadFromSerializedProto(data)
    except Exception as exc:
        first = first_line(exc)
        raise InputError(path, f"sentencepiece cannot load this model: {first}") from None
    if sp.get_piece_size() != len(model.pieces):
        raise InputError(path, "SentencePiece model is inconsistent (piece count differs)")
    return view_from_sentencepiece(sp, model, path=str(path), fmt=fmt)


def view_from_sentencepiece(sp: Any, model: SentencePieceModel, *, path: str, fmt: str) -> TokenizerView:
    pieces: list[str | None] = []
    token_bytes: list[bytes | None] = []
    kinds: list[TokenKind] = []
    unk_id = None
    for i, (piece, _score, ptype) in enumerate(model.pieces):
        kind = KIND_OF_TYPE.get(ptype, TokenKind.NORMAL)
        pieces.append(piece)
        kinds.append(kind)
        if kind == TokenKind.UNKNOWN:
            unk_id = i
        if kind in (TokenKind.CONTROL, TokenKind.UNKNOWN):
            token_bytes.append(None)
        elif kind == TokenKind.BYTE:
            byte = byte_piece_value(piece)
            token_bytes.append(bytes([byte]) if byte is not None else piece.encode("utf-8"))
        else:
            text = piece.replace("▁", " ") if model.escape_whitespaces else piece
            token_bytes.append(text.encode("utf-8"))
    facts = TokenizerFacts.of(
        normalizer={
            "name": model.normalizer_name,
            "add_dummy_prefix": model.add_dummy_prefix,
            "remove_extra_whitespaces": model.remove_extra_whitespaces,
            "escape_whitespaces": model.escape_whitespaces,
        },
        byte_fallback=model.byte_fallback,
        split_digits=model.split_digits,
        treat_whitespace_as_suffix=model.treat_whitespace_as_suffix,
        metaspace=True,
    )
    return TokenizerView(
        path=path,
        format=fmt,
        backend=SentencePieceBackend(sp, model),
        pieces=pieces,
        token_bytes=token_bytes,
        kinds=kinds,
        byte_level=False,
        model_type=model.model_type,
        merges=None,
        unk_id=unk_id,
        facts=facts,
    )
