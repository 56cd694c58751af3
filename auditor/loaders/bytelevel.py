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


def piece_to_bytes(piece: str) -> bytes | None:
    """Bytes of a byte-level piece, or None when it holds a character outside the map."""
    table = char_to_byte()
    try:
        return bytes(table[c] for c in piece)
    except KeyError:
        return None


def bytes_to_piece(data: bytes) -> str:
    table = byte_to_char()
    return "".join(table[b] for b in data)
