"""The configuration files that sit beside a tokenizer (HF folder conventions).

transformers reads `tokenizer_config.json`, `special_tokens_map.json` and the chat
template next to `tokenizer.json` (and the stop ids of `generation_config.json` and
`config.json`); flags there (add_bos_token, add_prefix_space,
clean_up_tokenization_spaces) change what the tokenizer does at run time. The loader
reads them once, into `view.facts.files`, so that rules never do I/O.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.json",
    "generation_config.json",
    "config.json",
)
TEXT_FILES = ("chat_template.jinja",)
MAX_BYTES = 16 << 20  # a config file larger than this is not a config file


def read_neighbours(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """(files by name, notes): parsed JSON files and template text found in `folder`.

    A neighbour that cannot be read is left out with a note: the tokenizer itself can
    still be linted, and the note says why a configuration rule saw nothing.
    """
    files: dict[str, Any] = {}
    notes: list[str] = []
    for name in JSON_FILES + TEXT_FILES:
        path = folder / name
        try:
            if not path.is_file():
                continue
            if path.stat().st_size > MAX_BYTES:
                notes.append(f"{name}: larger than {MAX_BYTES >> 20} MiB, not read")
                continue
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            notes.append(f"{name}: not read ({getattr(exc, 'strerror', None) or exc.__class__.__name__})")
            continue
        if name in TEXT_FILES:
            files[name] = text
            continue
        try:
            files[name] = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            notes.append(f"{name}: not valid JSON, configuration rules ignore it")
    return files, notes
