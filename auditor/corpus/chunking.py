"""Cutting enormous documents into pieces, so that no document is encoded at once.

Memory follows the characters encoded at once (a tokenizers Encoding costs ~50 bytes per
token): a 20 MB document peaks near 110 MB with these sizes, 540 MB with 1 MB pieces.
The scan and the preprocessing comparison cut the same way; read the sizes through this
module (`chunking.CHUNK_CHARS`) so that one setting governs both.
"""

from __future__ import annotations

from collections.abc import Iterator

CHUNK_CHARS = 1 << 16  # longest piece of a document encoded at once
LONG_GROUP_CHARS = 1 << 19  # pieces of one long document encoded together


def iter_pieces(text: str, limit: int | None = None) -> Iterator[str]:
    """Cut `text` into pieces of at most `limit` (default CHUNK_CHARS) characters, after a
    newline or a space when one lies in the second half of the window."""
    limit = CHUNK_CHARS if limit is None else limit
    start = 0
    n = len(text)
    while n - start > limit:
        end = start + limit
        cut = text.rfind("\n", start + limit // 2, end)
        if cut < 0:
            cut = text.rfind(" ", start + limit // 2, end)
        cut = end if cut < 0 else cut + 1
        yield text[start:cut]
        start = cut
    yield text[start:]


def split_long(text: str, limit: int | None = None) -> list[str]:
    """The pieces of `iter_pieces`, as a list."""
    return list(iter_pieces(text, limit))
