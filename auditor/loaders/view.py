"""What every loader shares: thread count, byte-fallback pieces, id-space sanity."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from auditor.core import InputError


def worker_threads() -> int:
    """Threads for batch encoding: all cores, unless TOKAUDIT_THREADS says otherwise."""
    env = os.environ.get("TOKAUDIT_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1)


# Byte-fallback pieces, "<0x41>": one regex for every loader and analysis.
BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def byte_piece_value(piece: str) -> int | None:
    """The byte a "<0xNN>" piece stands for, or None for any other piece."""
    m = BYTE_PIECE.match(piece)
    return int(m.group(1), 16) if m else None


# Corrupt files can name one huge id; the view allocates per id, so refuse id spaces far
# larger than the vocabulary (tiktoken and HF files have small gaps, never 4x).
MAX_SPARSE_IDS = 1 << 20


def check_id_space(path: object, size: int, count: int) -> None:
    """Raise InputError when `size` ids (max id + 1) are far more than the `count` tokens."""
    if size > max(4 * count, MAX_SPARSE_IDS):
        raise InputError(path, f"token id {size - 1} is far beyond the {count} tokens (corrupt ids?)")


def char_to_byte_offsets(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character offsets (what tokenizers and transformers give) as UTF-8 byte offsets."""
    starts = [0]
    for ch in text:
        starts.append(starts[-1] + len(ch.encode("utf-8", "surrogatepass")))
    last = len(text)
    return [(starts[min(a, last)], starts[min(b, last)]) for a, b in spans]
