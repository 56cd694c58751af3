"""`tokaudit encode` output: a table per text for people, a list of objects for tools."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from auditor.escape import escape_text

if TYPE_CHECKING:
    from auditor.preprocessing.encoding import EncodeResult


def encode_json(result: EncodeResult) -> str:
    """`[{"text", "ids", "pieces", "offsets", "decoded"}]`, one object per text, in order."""
    return json.dumps(result.to_list(), indent=2, ensure_ascii=False) + "\n"


def encode_text(result: EncodeResult) -> str:
    a = result.artifact
    lines = [f"{a['path']}  ({a['format']}, {a['vocab_size']} ids, {a['implementation']})"]
    lines += [f"  warning: {w}" for w in result.warnings]
    lines += [f"  note: {n}" for n in result.notes]
    for t in result.texts:
        count = f"{len(t.ids)} token" + ("" if len(t.ids) == 1 else "s")
        lines += ["", f'"{escape_text(t.text)}": {count}']
        if t.ids:
            width = max(len(str(i)) for i in t.ids)
            for k, (tid, piece) in enumerate(zip(t.ids, t.pieces)):
                span = "" if t.offsets is None else f"  bytes {t.offsets[k][0]}-{t.offsets[k][1]}"
                shown = "?" if piece is None else escape_text(piece)
                lines.append(f'  {tid:>{width}}  "{shown}"{span}')
        if not t.round_trips:
            lines.append(f'  decodes to "{escape_text(t.decoded)}", not the text')
        if t.offsets is None and t.ids:
            lines.append("  (no byte offsets: this tokenizer rewrites the text before splitting it)")
    return "\n".join(lines) + "\n"
