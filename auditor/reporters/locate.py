"""Line numbers of tokens in text artifacts, so SARIF alerts point at the token's line.

A pretty-printed tokenizer.json (the way `tokenizers` saves it) has one vocabulary
entry per line; a tiktoken rank file has one token per line. Binary formats
(SentencePiece, GGUF), one-line JSON and unigram vocabularies give no lines: the
result then points at line 1, as before. Nothing here trusts the file to be what
the loader read: a line is only used when the entry on it names that very id.
"""

from __future__ import annotations

import os
import re

_ENTRY = re.compile(r'^\s*"(?:[^"\\]|\\.)*":\s*(\d+),?\s*$')
_ADDED_ID = re.compile(r'^\s*"id":\s*(\d+),?\s*$')
_RANK = re.compile(rb"^\S+ (\d+)\s*$")
MAX_BYTES = 512 << 20


def token_lines(path: str | os.PathLike[str]) -> dict[int, int]:
    """{token id: 1-based line} for the tokens the file lists one per line; {} otherwise."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return {}
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    head = data.lstrip()[:1]
    if head == b"{":
        return _json_lines(data.decode("utf-8", "replace"))
    if b"\0" in data[:4096]:
        return {}
    out: dict[int, int] = {}
    for no, line in enumerate(data.splitlines(), 1):
        m = _RANK.match(line)
        if m is None:
            return {}  # not a rank file
        out.setdefault(int(m.group(1)), no)
    return out


def _json_lines(text: str) -> dict[int, int]:
    lines = text.splitlines()
    if len(lines) < 3:
        return {}
    vocab: dict[int, int] = {}
    added: dict[int, int] = {}
    block: str | None = None
    indent = ""
    for no, line in enumerate(lines, 1):
        stripped = line.strip()
        if block is None:
            if stripped == '"vocab": {':
                block, indent = "vocab", line[: len(line) - len(line.lstrip())]
            elif stripped == '"added_tokens": [':
                block, indent = "added", line[: len(line) - len(line.lstrip())]
            continue
        if (
            line.startswith(indent)
            and stripped in ("}", "},", "]", "],")
            and len(line) - len(line.lstrip()) == len(indent)
        ):
            block = None
            continue
        if block == "vocab":
            m = _ENTRY.match(line)
            if m:
                vocab.setdefault(int(m.group(1)), no)
        else:
            m = _ADDED_ID.match(line)
            if m:
                added.setdefault(int(m.group(1)), no)
    return {**added, **vocab}
