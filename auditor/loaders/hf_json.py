"""HF `tokenizer.json` through the `tokenizers` library (Rust, batch encode on all cores)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.core import (
    AddedToken,
    FlatEncodings,
    InputError,
    TokenizerFacts,
    TokenizerView,
    TokenKind,
    first_line,
    is_error_or_panic,
)
from auditor.loaders.bytelevel import pieces_to_bytes
from auditor.loaders.view import byte_piece_value, check_id_space

_CHUNK = 4096  # words per pre-tokenized input in encode_flat


def _components(node: Any) -> list[dict]:
    """Flatten a normalizer/pre-tokenizer/decoder node, expanding Sequence nodes."""
    if not isinstance(node, dict):
        return []
    if node.get("type") == "Sequence":
        out: list[dict] = []
        for key in ("normalizers", "pretokenizers", "decoders"):
            for child in node.get(key) or []:
                out.extend(_components(child))
        return out
    return [node]


class TokenizersBackend:
    """Encode/decode through a `tokenizers.Tokenizer`."""

    def __init__(self, tokenizer: Any, plain_bytes: list[bytes | None] | None = None) -> None:
        import tokenizers

        # Padding and truncation from the file (BERT-style tokenizer.json files pad to
        # 128) would turn every encoding into a padded one: the analysis needs raw ids.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tok = tokenizer
        self._plain_bytes = plain_bytes  # per id, when decode([id]) is exactly these bytes
        self.implementation = f"tokenizers {tokenizers.__version__}"
        batch = getattr(tokenizer, "encode_batch_fast", None)
        self._encode = batch if batch is not None else tokenizer.encode_batch

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._encode(list(texts), add_special_tokens=False)]

    def encode_offsets(self, text: str) -> list[tuple[int, int]]:
        """Byte spans of the text per id (`tokenizers` gives character spans)."""
        from auditor.loaders.view import char_to_byte_offsets

        return char_to_byte_offsets(text, self._tok.encode(text, add_special_tokens=False).offsets)

    def encode_flat(self, texts: Sequence[str]) -> FlatEncodings:
        """Many short texts, each encoded exactly as alone, at a fraction of the cost.

        Texts go in as the words of pre-tokenized inputs of CHUNK words: `tokenizers`
        runs added-token matching, normaliser, pre-tokenizer and model on every word
        separately (as for a text of its own) and records which word each id came
        from, so one Encoding object serves thousands of texts.
        """
        import numpy as np

        texts = list(texts)
        chunks = [texts[k : k + _CHUNK] for k in range(0, len(texts), _CHUNK)]
        ids_parts, len_parts = [], []
        for chunk, enc in zip(chunks, self._tok.encode_batch(chunks, is_pretokenized=True, add_special_tokens=False)):
            ids_parts.append(np.asarray(enc.ids, dtype=np.int64))
            words = np.asarray(enc.word_ids, dtype=np.int64)
            len_parts.append(np.bincount(words, minlength=len(chunk)) if len(words) else np.zeros(len(chunk), np.int64))
        if not chunks:
            return FlatEncodings.from_lists([])
        return FlatEncodings.from_arrays(np.concatenate(ids_parts), np.concatenate(len_parts))

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        return self._tok.decode_batch([list(s) for s in seqs], skip_special_tokens=False)

    def decode_each(self, ids: Sequence[int]) -> list[str]:
        """decode([id]) for every id. With a plain ByteLevel decoder that is the token's
        bytes as UTF-8 with U+FFFD for invalid sequences, computed here without the
        per-call cost; other ids and decoders go through the library."""
        plain = self._plain_bytes
        if plain is None:
            return self.decode_batch([[i] for i in ids])
        out: list[str | None] = [None if (b := plain[i]) is None else b.decode("utf-8", "replace") for i in ids]
        rest = [k for k, s in enumerate(out) if s is None]
        if rest:
            for k, s in zip(rest, self.decode_batch([[ids[k]] for k in rest])):
                out[k] = s
        return out  # type: ignore[return-value]

    def normalize(self, text: str) -> str | None:
        norm = self._tok.normalizer
        return text if norm is None else norm.normalize_str(text)

    def pre_tokenize(self, text: str) -> list[str] | None:
        pre = self._tok.pre_tokenizer
        if pre is None:
            return [text]
        return [piece for piece, _ in pre.pre_tokenize_str(text)]


def load_tokenizer_json(path: Path, text: str | None = None) -> TokenizerView:
    """Load an HF tokenizer.json file (already known to be JSON)."""
    from tokenizers import Tokenizer

    if text is None:
        text = _read_text(path)
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply: not an HF tokenizer.json") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), dict):
        raise InputError(path, "JSON without a 'model' object: not an HF tokenizer.json")
    try:
        tok = Tokenizer.from_str(text)
    except BaseException as exc:  # the Rust error names the field; a Rust panic is a BaseException
        if not is_error_or_panic(exc):
            raise
        raise InputError(path, f"tokenizers cannot load this tokenizer.json: {first_line(exc)}") from None
    try:  # a model that only fails when it meets an unknown character (unk_token not in the vocabulary)
        tok.encode("\u2603 \x00 tokaudit", add_special_tokens=False)
    except BaseException as exc:
        if not is_error_or_panic(exc):
            raise
        raise InputError(path, f"tokenizers cannot encode with this tokenizer.json: {first_line(exc)}") from None
    return view_from_tokenizer(tok, spec, path=str(path), fmt="tokenizer.json")


def view_from_tokenizer(tok: Any, spec: dict, *, path: str, fmt: str) -> TokenizerView:
    """Build the view of a `tokenizers.Tokenizer` and its parsed JSON spec."""
    model = spec["model"]
    model_type = str(model.get("type", "unknown")).lower()
    vocab = tok.get_vocab(with_added_tokens=True)
    if not vocab:
        raise InputError(path, "the vocabulary is empty")
    size = max(vocab.values()) + 1
    check_id_space(path, size, len(vocab))
    pieces: list[str | None] = [None] * size
    for piece, idx in vocab.items():
        pieces[idx] = piece

    pre_parts = _components(spec.get("pre_tokenizer"))
    dec_parts = _components(spec.get("decoder"))
    norm_parts = _components(spec.get("normalizer"))
    byte_level = any(p.get("type") == "ByteLevel" for p in pre_parts + dec_parts)
    metaspace = any(p.get("type") == "Metaspace" for p in pre_parts + dec_parts) or any(
        p.get("type") == "Replace" and "▁" in json.dumps(p, ensure_ascii=False) for p in dec_parts + norm_parts
    )
    byte_fallback = bool(model.get("byte_fallback"))
    prefix = model.get("continuing_subword_prefix") if model_type == "wordpiece" else None

    added: list[AddedToken] = []
    for idx, at in sorted(tok.get_added_tokens_decoder().items()):
        added.append(
            AddedToken(
                id=idx,
                content=at.content,
                special=bool(at.special),
                normalized=bool(at.normalized),
                lstrip=bool(at.lstrip),
                rstrip=bool(at.rstrip),
                single_word=bool(at.single_word),
            )
        )
    added_by_id = {a.id: a for a in added}

    unk_token = model.get("unk_token")
    unk_id: int | None = None
    if model_type == "unigram" and model.get("unk_id") is not None:
        unk_id = int(model["unk_id"])
    elif isinstance(unk_token, str) and unk_token in vocab:
        unk_id = vocab[unk_token]

    token_bytes: list[bytes | None] = [None] * size
    kinds: list[TokenKind] = [TokenKind.UNUSED] * size
    level_bytes = pieces_to_bytes(pieces) if byte_level else None
    for idx, piece in enumerate(pieces):
        if piece is None:
            continue
        at = added_by_id.get(idx)
        if at is not None:
            if at.special:
                kinds[idx], token_bytes[idx] = TokenKind.CONTROL, None
            else:
                kinds[idx], token_bytes[idx] = TokenKind.USER_DEFINED, at.content.encode("utf-8")
            continue
        if idx == unk_id:
            kinds[idx] = TokenKind.UNKNOWN
            continue
        kinds[idx] = TokenKind.NORMAL
        if level_bytes is not None:
            token_bytes[idx] = level_bytes[idx]
            continue
        byte = byte_piece_value(piece) if byte_fallback else None
        if byte is not None:
            kinds[idx], token_bytes[idx] = TokenKind.BYTE, bytes([byte])
            continue
        text = piece
        if prefix and text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
        if metaspace:
            text = text.replace("▁", " ")
        token_bytes[idx] = text.encode("utf-8")

    # A lone ByteLevel decoder turns one token into its bytes, read as UTF-8 with
    # replacement: decode([id]) can then be computed without calling the library.
    decoder = spec.get("decoder")
    plain_bytes = None
    if isinstance(decoder, dict) and decoder.get("type") == "ByteLevel":
        plain_bytes = [tb if kinds[i] == TokenKind.NORMAL else None for i, tb in enumerate(token_bytes)]
    facts = TokenizerFacts.of(
        normalizer=spec.get("normalizer"),
        pre_tokenizer=spec.get("pre_tokenizer"),
        decoder=spec.get("decoder"),
        post_processor=spec.get("post_processor"),
        byte_fallback=bool(byte_fallback),
        metaspace=bool(metaspace),
    )
    return TokenizerView(
        path=path,
        format=fmt,
        backend=TokenizersBackend(tok, plain_bytes),
        pieces=pieces,
        token_bytes=token_bytes,
        kinds=kinds,
        byte_level=byte_level,
        model_type=model_type,
        merges_factory=(lambda: _merge_triples(model, vocab)) if model_type == "bpe" else None,
        merge_pairs_factory=(lambda: _merge_pairs(model)) if model_type == "bpe" else None,
        added_tokens=added,
        unk_id=unk_id,
        continuation_prefix=prefix,
        facts=facts,
    )


def _merge_pairs(model: dict) -> set[tuple[str, str]]:
    """The merges as (left, right) piece pairs; merged piece = left + right (no prefix)."""
    prefix = model.get("continuing_subword_prefix") or ""
    out = set()
    for m in model.get("merges") or []:
        left, right = m.split(" ", 1) if isinstance(m, str) else (m[0], m[1])
        if prefix and right.startswith(prefix):
            right = right[len(prefix) :]
        out.add((left, right))
    return out


def _merge_triples(model: dict, vocab: dict[str, int]) -> list[tuple[int, int, int]]:
    """Merges as (left, right, merged) ids; entries naming unknown pieces are skipped."""
    prefix = model.get("continuing_subword_prefix") or ""
    get = vocab.get
    out = []
    for m in model.get("merges") or []:
        if isinstance(m, str):
            left, sep, right = m.partition(" ")
            if not sep or " " in right:
                continue
        else:
            left, right = m[0], m[1]
        merged = left + (right[len(prefix) :] if prefix and right.startswith(prefix) else right)
        a, b, c = get(left), get(right), get(merged)
        if a is not None and b is not None and c is not None:
            out.append((a, b, c))
    return out


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")  # a leading BOM is allowed, as detection allows it
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text: not a tokenizer.json") from None


# --- building specs (GGUF vocabularies and test fixtures are turned into tokenizer.json) ---


def added_token_spec(
    token_id: int,
    content: str,
    *,
    special: bool,
    normalized: bool | None = None,
    lstrip: bool = False,
    rstrip: bool = False,
) -> dict[str, Any]:
    """One `added_tokens` entry; special tokens are not normalised unless told otherwise."""
    return {
        "id": token_id,
        "content": content,
        "single_word": False,
        "lstrip": lstrip,
        "rstrip": rstrip,
        "normalized": (not special) if normalized is None else normalized,
        "special": special,
    }


def bpe_model_spec(
    vocab: dict[str, int],
    merges: list,
    *,
    unk_token: str | None = None,
    byte_fallback: bool = False,
    ignore_merges: bool = False,
) -> dict[str, Any]:
    return {
        "type": "BPE",
        "dropout": None,
        "unk_token": unk_token,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": byte_fallback,
        "ignore_merges": ignore_merges,
        "vocab": vocab,
        "merges": merges,
    }


def tokenizer_json_spec(
    model: dict[str, Any],
    *,
    added_tokens: list[dict[str, Any]] | None = None,
    normalizer: dict[str, Any] | None = None,
    pre_tokenizer: dict[str, Any] | None = None,
    decoder: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete tokenizer.json document around a model spec."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens or [],
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": decoder,
        "model": model,
    }
