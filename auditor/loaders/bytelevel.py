"""GPT-2's reversible byte <-> printable-character map used by byte-level BPE vocabularies."""

from __future__ import annotations

import functools


@functools.cache
def byte_to_char() -> dict[int, str]:
    """Printable bytes map to themselves; the others to U+0100 onwards, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


@functools.cache
def char_to_byte() -> dict[str, int]:
    return {c: b for b, c in byte_to_char().items()}


@functools.cache
def _to_latin1() -> dict[int, int]:
    # the byte alphabet as a str.translate table onto U+0000-U+00FF, so that
    # .encode("latin-1") yields the bytes: ~10x faster than a generator per piece
    return {ord(c): b for c, b in char_to_byte().items()}


@functools.cache
def _from_latin1() -> dict[int, str]:
    return dict(enumerate(byte_to_char()[b] for b in range(256)))


def piece_to_bytes(piece: str) -> bytes | None:
    """Bytes of a byte-level piece, or None when it holds a character outside the map."""
    try:
        return piece.translate(_to_latin1()).encode("latin-1")
    except UnicodeEncodeError:
        return None


def bytes_to_piece(data: bytes) -> str:
    return data.decode("latin-1").translate(_from_latin1())


def pieces_to_bytes(pieces: list[str | None]) -> list[bytes | None]:
    """piece_to_bytes for a whole vocabulary in one translate call.

    Every character of the alphabet stands for exactly one byte, so the joined bytes are
    cut at the pieces' character lengths. A vocabulary holding characters outside the
    alphabet falls back to one call per piece.
    """
    present = [p for p in pieces if p is not None]
    try:
        joined = "".join(present).translate(_to_latin1()).encode("latin-1")
    except UnicodeEncodeError:
        return [None if p is None else piece_to_bytes(p) for p in pieces]
    out: list[bytes | None] = []
    pos = 0
    for p in pieces:
        if p is None:
            out.append(None)
        else:
            end = pos + len(p)
            out.append(joined[pos:end])
            pos = end
    return out
