"""Just enough of the protobuf wire format to read and write SentencePiece ModelProto.

The `sentencepiece` wheel needs the separate `protobuf` package to expose piece types
and the normaliser spec; these ~80 lines avoid that dependency and give precise errors
for truncated or corrupt files.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any


class ProtobufError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """Top-level (field number, wire type, value) triples; values are int, bytes or float bits."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("field number 0")
        val: int | bytes
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > n:
                raise ProtobufError("truncated fixed64")
            val = buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > n:
                raise ProtobufError("truncated length-delimited field")
            val = buf[pos : pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > n:
                raise ProtobufError("truncated fixed32")
            val = buf[pos : pos + 4]
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((num, wire, val))
    return out


# SentencePiece enum values (sentencepiece_model.proto)
PIECE_TYPES = {1: "normal", 2: "unknown", 3: "control", 4: "user_defined", 5: "unused", 6: "byte"}
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


@dataclass
class SentencePieceModel:
    pieces: list[tuple[str, float, int]] = field(default_factory=list)  # piece, score, type
    model_type: str = "unigram"
    byte_fallback: bool = False
    normalizer_name: str = "nmt_nfkc"
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    treat_whitespace_as_suffix: bool = False
    split_digits: bool = False


def parse_sentencepiece_model(buf: bytes) -> SentencePieceModel:
    """Parse a ModelProto; raises ProtobufError when the bytes are not one."""
    m = SentencePieceModel()
    for num, wire, val in fields(buf):
        if num == 1 and wire == 2:
            piece, score, ptype = "", 0.0, 1
            for pn, pw, pv in fields(val):
                if pn == 1 and pw == 2:
                    try:
                        piece = pv.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtobufError("a piece is not UTF-8") from None
                elif pn == 2 and pw == 5:
                    score = struct.unpack("<f", pv)[0]
                elif pn == 3 and pw == 0:
                    ptype = int(pv)
            m.pieces.append((piece, score, ptype))
        elif num == 2 and wire == 2:
            for tn, tw, tv in fields(val):
                if tw != 0:
                    continue
                if tn == 3:
                    m.model_type = MODEL_TYPES.get(int(tv), "unknown")
                elif tn == 35:
                    m.byte_fallback = bool(tv)
                elif tn == 24:
                    m.treat_whitespace_as_suffix = bool(tv)
                elif tn == 25:
                    m.split_digits = bool(tv)
        elif num == 3 and wire == 2:
            for nn, nw, nv in fields(val):
                if nn == 1 and nw == 2:
                    m.normalizer_name = nv.decode("utf-8", "replace")
                elif nn == 3 and nw == 0:
                    m.add_dummy_prefix = bool(nv)
                elif nn == 4 and nw == 0:
                    m.remove_extra_whitespaces = bool(nv)
                elif nn == 5 and nw == 0:
                    m.escape_whitespaces = bool(nv)
        elif wire not in (0, 1, 2, 5):
            raise ProtobufError("unexpected field")
    if not m.pieces:
        raise ProtobufError("no pieces")
    return m


# --- writing (GGUF SentencePiece vocabularies are turned back into a ModelProto) ---


def _enc_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num: int, wire: int) -> bytes:
    return _enc_varint((num << 3) | wire)


def _ld(num: int, payload: bytes) -> bytes:
    return _key(num, 2) + _enc_varint(len(payload)) + payload


def _vi(num: int, v: int) -> bytes:
    return _key(num, 0) + _enc_varint(v)


def write_sentencepiece_model(m: SentencePieceModel) -> bytes:
    """Serialise a ModelProto that `sentencepiece` can load."""
    model_type = {v: k for k, v in MODEL_TYPES.items()}.get(m.model_type, 2)
    out = bytearray()
    for piece, score, ptype in m.pieces:
        body = _ld(1, piece.encode("utf-8")) + _key(2, 5) + struct.pack("<f", score) + _vi(3, ptype)
        out += _ld(1, body)
    unk = next((i for i, p in enumerate(m.pieces) if p[2] == 2), 0)
    trainer = (
        _vi(3, model_type)
        + _vi(4, len(m.pieces))
        + _vi(24, int(m.treat_whitespace_as_suffix))
        + _vi(25, int(m.split_digits))
        + _vi(35, int(m.byte_fallback))
        + _vi(40, unk)
    )
    out += _ld(2, trainer)
    norm = (
        _ld(1, m.normalizer_name.encode("utf-8"))
        + _vi(3, int(m.add_dummy_prefix))
        + _vi(4, int(m.remove_extra_whitespaces))
        + _vi(5, int(m.escape_whitespaces))
    )
    out += _ld(3, norm)
    return bytes(out)
