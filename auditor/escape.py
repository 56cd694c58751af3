"""Terminal-safe, readable renderings of token text.

Token strings hold newlines, carriage returns, bidi overrides, NUL bytes and bytes that
are not UTF-8 on their own. A report must never corrupt the terminal or a log, so every
token is shown escaped: printable characters (and plain spaces) as they are, everything
else as a Python-style escape. Invalid UTF-8 bytes show as \\xNN.
"""

from __future__ import annotations

import unicodedata

_SIMPLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape_text(text: str) -> str:
    """Escape control, format, separator (other than ' ') and unassigned characters."""
    # str.isprintable is False exactly for the categories C* and Z* other than ' ' (the
    # characters escaped below), so most texts (and corpus snippets) return at C speed.
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        simple = _SIMPLE.get(ch)
        if simple is not None:
            out.append(simple)
            continue
        if ch == " ":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat[0] in "CZ":
            cp = ord(ch)
            if cp < 0x100:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_bytes(data: bytes) -> str:
    """Escape a byte string: valid UTF-8 runs as text, stray bytes as \\xNN."""
    out = []
    i = 0
    n = len(data)
    while i < n:
        try:
            # Decode the longest valid prefix; the error tells where it stops.
            out.append(escape_text(data[i:].decode("utf-8")))
            break
        except UnicodeDecodeError as exc:
            if exc.start:
                out.append(escape_text(data[i : i + exc.start].decode("utf-8")))
            bad = data[i + exc.start]
            out.append(f"\\x{bad:02x}")
            i += exc.start + 1
    return "".join(out)
