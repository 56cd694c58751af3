"""Tekken files (Mistral NeMo, Small 3, Pixtral): mistral_common's JSON around tiktoken ranks.

A tekken file holds `config` (pattern, default_vocab_size, default_num_special_tokens,
version), `vocab` (rank, base64 token_bytes, token_str) and, in newer files,
`special_tokens` (rank, token_str, is_control). The special tokens take ids
0..n_special-1 and rank r becomes id r + n_special; only the first
default_vocab_size - n_special ranks are used. mistral_common encodes with the inner
tiktoken encoding alone, so no text ever yields a special id; decoding one gives its
text (its `SpecialTokenPolicy.KEEP`, tokaudit's "without skipping special tokens").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from auditor.core import InputError, TokenizerFacts, TokenizerView, TokenKind, first_line, is_error_or_panic
from auditor.loaders.bytelevel import bytes_to_piece
from auditor.loaders.tiktoken_file import TiktokenBackend, _chunked, _merges_from_ranks, b64_token
from auditor.loaders.view import check_id_space

# Files without a `special_tokens` list (tokenizer versions up to v7) get these 20, in this
# order, then "<SPECIAL_{id}>" fillers (mistral_common's Tekkenizer.DEPRECATED_SPECIAL_TOKENS).
DEFAULT_SPECIALS = (
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[AVAILABLE_TOOLS]",
    "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]",
    "[TOOL_CALLS]",
    "[IMG]",
    "<pad>",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[PREFIX]",
    "[MIDDLE]",
    "[SUFFIX]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]",
)
_LAST_VERSION_WITHOUT_LIST = 7

# Top-level keys: tekken's, with the character its value opens with, and tokenizer.json's.
_TEKKEN_KEYS = {"config": "{", "vocab": "[", "special_tokens": "["}
_TOKENIZER_JSON_KEYS = frozenset(
    {"truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"}
)
_WS = re.compile(r"[ \t\r\n]*")


def looks_like_tekken(head: bytes) -> bool:
    """True when the first top-level key the head decides on is tekken's (`config`, `vocab`,
    `special_tokens`), not tokenizer.json's.

    Reads the top-level keys in the first bytes only, skipping small values such as a
    version: a 19 MB tekken file is parsed once, by the loader.
    """
    text = head.decode("utf-8", "ignore")
    start = text.find("{")
    if start < 0:
        return False
    decoder = json.JSONDecoder()
    i = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    while text[i : i + 1] == '"':
        try:
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        except ValueError:
            return False
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if text[i : i + 1] != ":":
            return False
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        if key in _TEKKEN_KEYS:
            return text[i : i + 1] == _TEKKEN_KEYS[key]
        if key in _TOKENIZER_JSON_KEYS:
            return False
        try:
            _, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):  # a value longer than the head, or nested too deeply
            return False
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if text[i : i + 1] != ",":
            return False
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    return False


class TekkenBackend(TiktokenBackend):
    """The inner encoding's ids shifted past the special tokens; specials decode to their text."""

    def __init__(self, enc: Any, pattern: str, specials: Sequence[str]) -> None:
        super().__init__(enc, pattern)
        self._specials = list(specials)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        encode = self._enc.encode_ordinary
        n = len(self._specials)
        return _chunked(lambda chunk: [[t + n for t in encode(s)] for s in chunk], list(texts), self._threads)

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        return _chunked(lambda chunk: [self._decode(s) for s in chunk], list(seqs), self._threads)

    def _decode(self, ids: Sequence[int]) -> str:
        # like mistral_common: each run of normal ids is decoded on its own, so bytes never
        # join across a special token
        n = len(self._specials)
        parts: list[str] = []
        for special, run in groupby(ids, lambda i: i < n):
            if special:
                parts.extend(self._specials[i] for i in run)
            else:
                parts.append(self._enc.decode_bytes([i - n for i in run]).decode("utf-8", "replace"))
        return "".join(parts)


def load_tekken(path: Path, data: bytes) -> TokenizerView:
    import regex
    import tiktoken

    try:
        spec = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(path, "tekken file is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(spec, dict):
        raise InputError(path, "tekken file: the top level is not an object")
    config = spec.get("config")
    if not isinstance(config, dict):
        raise InputError(path, "tekken file without a 'config' object")
    pattern = _config(path, config, "pattern", str)
    vocab_size = _config(path, config, "default_vocab_size", int)
    n_special = _config(path, config, "default_num_special_tokens", int)
    version = _config(path, config, "version", str)
    if not re.fullmatch(r"v\d+", version):
        raise InputError(path, f"tekken config: version {version[:20]!r} is not 'v<number>'")
    try:
        regex.compile(pattern)
    except Exception as exc:
        raise InputError(path, f"tekken config: pattern is not a valid regular expression: {exc}") from None

    notes: list[str] = []
    specials = _specials(path, spec.get("special_tokens"), n_special, version, notes)
    vocab = spec.get("vocab")
    if not isinstance(vocab, list):
        raise InputError(path, "tekken file without a 'vocab' list")
    inner = vocab_size - n_special
    if inner < 256 or inner > len(vocab):
        raise InputError(
            path,
            f"tekken config: default_vocab_size {vocab_size} - {n_special} special tokens = {inner} ranks, "
            f"but the vocab has {len(vocab)} (at least 256 needed)",
        )
    if inner < len(vocab):
        notes.append(
            f"tekken: the first {inner} of {len(vocab)} ranks are used "
            f"(default_vocab_size {vocab_size} - {n_special} special tokens), as mistral_common does"
        )
    ranks = _ranks(path, vocab[:inner])

    size = n_special + inner
    check_id_space(path, size, size)
    try:
        enc = tiktoken.Encoding(name=path.stem, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    except BaseException as exc:  # a Rust panic (pyo3 PanicException) is a BaseException
        if not is_error_or_panic(exc):
            raise
        raise InputError(path, f"tiktoken rejects these ranks: {first_line(exc)}") from None

    pieces: list[str | None] = [*specials, *([None] * inner)]
    token_bytes: list[bytes | None] = [None] * size
    kinds = [TokenKind.CONTROL] * n_special + [TokenKind.NORMAL] * inner
    for tb, rank in ranks.items():
        pieces[n_special + rank] = bytes_to_piece(tb)
        token_bytes[n_special + rank] = tb
    return TokenizerView(
        path=str(path),
        format="tekken",
        backend=TekkenBackend(enc, pattern, specials),
        pieces=pieces,
        token_bytes=token_bytes,
        kinds=kinds,
        byte_level=True,
        model_type="bpe",
        merges_factory=lambda: [(a + n_special, b + n_special, m + n_special) for a, b, m in _merges_from_ranks(ranks)],
        facts=TokenizerFacts.of(
            tiktoken_preset=f"tekken {version}",
            tiktoken_pattern=pattern,
            tiktoken_specials={text: i for i, text in enumerate(specials)},
        ),
        notes=notes,
    )


def _config(path: Path, config: dict[str, Any], key: str, kind: type) -> Any:
    value: Any = config.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise InputError(path, f"tekken config: {key!r} is missing or not a {'number' if kind is int else 'string'}")
    return value


def _specials(path: Path, listed: Any, n_special: int, version: str, notes: list[str]) -> list[str]:
    """The n_special token texts by id: the file's list (or the defaults), then fillers."""
    if listed is None:
        if int(version[1:]) > _LAST_VERSION_WITHOUT_LIST:
            raise InputError(path, f"tekken file of version {version} without its 'special_tokens' list")
        texts = list(DEFAULT_SPECIALS[:n_special])
        notes.append(f"tekken {version} file without a special_tokens list: mistral_common's default names used")
    else:
        if not isinstance(listed, list):
            raise InputError(path, "tekken file: 'special_tokens' is not a list")
        texts = []
        for k, entry in enumerate(listed):
            if not isinstance(entry, dict) or not isinstance(entry.get("token_str"), str):
                raise InputError(path, f"tekken special_tokens[{k}]: expected an object with a token_str")
            if entry.get("rank") != k:
                raise InputError(path, f"tekken special_tokens[{k}]: rank {entry.get('rank')!r}, expected {k}")
            texts.append(entry["token_str"])
        if len(texts) > n_special:
            raise InputError(
                path, f"tekken file lists {len(texts)} special tokens, more than default_num_special_tokens {n_special}"
            )
    texts += [f"<SPECIAL_{i}>" for i in range(len(texts), n_special)]
    seen: set[str] = set()
    for text in texts:
        if text in seen:
            raise InputError(path, f"tekken special token {text!r} appears twice")
        seen.add(text)
    return texts


def _ranks(path: Path, vocab: list[Any]) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for k, entry in enumerate(vocab):
        if not isinstance(entry, dict) or entry.get("rank") != k or not isinstance(entry.get("token_bytes"), str):
            raise InputError(path, f"tekken vocab[{k}]: expected {{rank: {k}, token_bytes: base64}}")
        tb = b64_token(entry["token_bytes"].encode("ascii", "replace"))
        if tb is None:
            raise InputError(path, f"tekken vocab[{k}]: token_bytes {entry['token_bytes'][:40]!r} is not base64")
        if k < 256 and tb != bytes([k]):
            raise InputError(path, f"tekken vocab[{k}]: the first 256 ranks must be the single bytes, got {tb!r}")
        if tb in ranks:
            raise InputError(path, f"tekken vocab[{k}]: token bytes {tb!r} already at rank {ranks[tb]}")
        ranks[tb] = k
    return ranks
