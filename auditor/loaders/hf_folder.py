"""HF tokenizer folders without tokenizer.json: the slow files through `transformers`.

Local files only and never `trust_remote_code`: a folder whose tokenizer needs remote
code is refused with a clear message rather than executed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.core import (
    InputError,
    MissingExtraError,
    TokenizerFacts,
    TokenizerView,
    TokenKind,
)
from auditor.loaders.bytelevel import piece_to_bytes
from auditor.loaders.view import byte_piece_value


class TransformersBackend:
    def __init__(self, tok: Any) -> None:
        import transformers

        self._tok = tok
        self.implementation = f"transformers {transformers.__version__} {type(tok).__name__}"

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return self._tok(list(texts), add_special_tokens=False)["input_ids"]

    def encode_offsets(self, text: str) -> list[tuple[int, int]] | None:
        """Byte spans per id; only fast tokenizers know them."""
        if not getattr(self._tok, "is_fast", False):
            return None
        from auditor.loaders.view import char_to_byte_offsets

        spans = self._tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return char_to_byte_offsets(text, spans)

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        return [self._tok.decode(list(s), skip_special_tokens=False, clean_up_tokenization_spaces=False) for s in seqs]

    def normalize(self, text: str) -> str | None:
        return None

    def pre_tokenize(self, text: str) -> list[str] | None:
        return None


def load_slow_folder(folder: Path) -> TokenizerView:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingExtraError(
            f"{folder}: a tokenizer folder without tokenizer.json", "transformers", "model"
        ) from None
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        # transformers' messages run over several lines: one line, whole sentences kept.
        text = " ".join(str(exc).split()) or type(exc).__name__
        text = text if len(text) <= 300 else text[:297] + "..."
        raise InputError(folder, f"transformers cannot load this tokenizer folder: {text}") from None
    size = len(tok)
    if not set(range(size)) - set(tok.all_special_ids):
        raise InputError(folder, "transformers built a tokenizer without vocabulary (vocabulary files missing?)")
    backend = getattr(tok, "backend_tokenizer", None) if getattr(tok, "is_fast", False) else None
    if backend is not None:
        return _view_of_converted(tok, backend, folder)
    pieces: list[str | None] = list(tok.convert_ids_to_tokens(list(range(size))))
    special = set(tok.all_special_ids)
    added = {i: t for i, t in tok.added_tokens_decoder.items()}
    byte_level = sum(1 for p in pieces if p and p.startswith("Ġ")) > size / 10
    token_bytes: list[bytes | None] = []
    kinds: list[TokenKind] = []
    for i, piece in enumerate(pieces):
        if piece is None:
            token_bytes.append(None)
            kinds.append(TokenKind.UNUSED)
        elif i in special:
            token_bytes.append(None)
            kinds.append(TokenKind.UNKNOWN if i == tok.unk_token_id else TokenKind.CONTROL)
        elif i in added:
            token_bytes.append(added[i].content.encode("utf-8"))
            kinds.append(TokenKind.USER_DEFINED)
        elif (byte := byte_piece_value(piece)) is not None and not byte_level:
            token_bytes.append(bytes([byte]))
            kinds.append(TokenKind.BYTE)
        else:
            kinds.append(TokenKind.NORMAL)
            if byte_level:
                token_bytes.append(piece_to_bytes(piece))
            else:
                token_bytes.append(piece.replace("▁", " ").encode("utf-8"))
    return TokenizerView(
        path=str(folder),
        format="hf-folder",
        backend=TransformersBackend(tok),
        pieces=pieces,
        token_bytes=token_bytes,
        kinds=kinds,
        byte_level=byte_level,
        model_type="unknown",
        unk_id=tok.unk_token_id,
        facts=TokenizerFacts.of(tokenizer_class=type(tok).__name__),
    )


def _view_of_converted(tok: Any, backend: Any, folder: Path) -> TokenizerView:
    """transformers converted the slow files into a `tokenizers` pipeline: analyse that,
    with everything the tokenizer.json path knows (added tokens, WordPiece prefix, merges)."""
    import transformers

    from auditor.loaders.hf_json import view_from_tokenizer

    spec = json.loads(backend.to_str())
    view = view_from_tokenizer(backend, spec, path=str(folder), fmt="hf-folder")
    view.backend.implementation += f" (converted by transformers {transformers.__version__} {type(tok).__name__})"
    view.facts = view.facts.with_facts(tokenizer_class=type(tok).__name__)
    return view
