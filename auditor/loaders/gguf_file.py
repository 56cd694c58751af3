"""GGUF files (llama.cpp): the `tokenizer.ggml.*` vocabulary, rebuilt as a working tokenizer.

Only the metadata is read (`gguf.GGUFReader` memory-maps the file, so multi-GB models
cost no tensor reads). "llama" vocabularies become a SentencePiece BPE ModelProto (the
llama.cpp SPM tokenizer merges by piece score, as SentencePiece BPE does); "gpt2" and
"gemma4" vocabularies become a BPE `tokenizers.Tokenizer` whose pre-tokenizer uses the
regexes llama.cpp picks for `tokenizer.ggml.pre` (`auditor.loaders.pretokenizers`);
"bert" vocabularies become a WordPiece tokenizer (`auditor.loaders.gguf_wordpiece`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from auditor.core import (
    InputError,
    MissingExtraError,
    TokenizerView,
    TokenKind,
    first_line,
)
from auditor.loaders.pretokenizers import FAMILIES, family_for_gguf_pre
from auditor.loaders.sentencepiece_model import KIND_OF_TYPE
from auditor.loaders.view import BYTE_PIECE

# GGUF token types (llama.cpp / gguf.TokenType)
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6

_ID_KEYS = ("bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask")
_MODELS = ("llama", "gpt2", "gemma4", "bert")
_FILLER_TYPES = (_UNKNOWN, _USER_DEFINED, _UNUSED)


class _Truncated(Exception):
    """A read past the end of the file (the gguf reader would silently return fewer items)."""


def load_gguf(path: Path) -> TokenizerView:
    """Load the tokenizer of a GGUF file (vocab-only or full model; metadata only)."""
    try:
        import gguf
    except ImportError:
        raise MissingExtraError("GGUF files", "gguf", "gguf") from None

    reader = _open(path, gguf)
    meta = _Metadata(reader, path, gguf)
    if reader.get_field("tokenizer.ggml.tokens") is None:
        raise InputError(path, "GGUF file has no tokenizer vocabulary (no tokenizer.ggml.tokens)")
    tokens, bad_utf8 = meta.strings("tokenizer.ggml.tokens")
    if not tokens:
        raise InputError(path, "GGUF file has no tokenizer vocabulary (tokenizer.ggml.tokens is empty)")
    model = meta.scalar("tokenizer.ggml.model", str)
    if model is None:
        raise InputError(path, "GGUF file has tokens but no tokenizer.ggml.model: the tokenizer type is unknown")
    if model not in _MODELS:
        raise InputError(
            path,
            f"unsupported GGUF tokenizer model '{model}' (tokaudit reads {', '.join(repr(m) for m in _MODELS)} vocabularies)",
        )
    n = len(tokens)
    types = meta.numbers("tokenizer.ggml.token_type", n, int) or [_NORMAL] * n
    scores = meta.numbers("tokenizer.ggml.scores", n, float) or [0.0] * n

    # llama.cpp renames empty tokens; keep that, so pieces are what llama.cpp matches.
    empty = [i for i, t in enumerate(tokens) if not t]
    for i in empty:
        tokens[i] = f"[EMPTY_{i}]"
    first: dict[str, int] = {}
    duplicates: list[int] = []
    for i, t in enumerate(tokens):
        if first.setdefault(t, i) != i:
            duplicates.append(i)

    info: dict[str, Any] = {
        "model": model,
        "pre": meta.scalar("tokenizer.ggml.pre", str),
        "architecture": meta.scalar("general.architecture", str),
        "n_tokens": n,
        "add_space_prefix": meta.scalar("tokenizer.ggml.add_space_prefix", bool),
        "remove_extra_whitespaces": meta.scalar("tokenizer.ggml.remove_extra_whitespaces", bool),
        "add_bos_token": meta.scalar("tokenizer.ggml.add_bos_token", bool),
        "add_eos_token": meta.scalar("tokenizer.ggml.add_eos_token", bool),
        "chat_template": meta.scalar("tokenizer.chat_template", str),
        "has_scores": reader.get_field("tokenizer.ggml.scores") is not None,
        "has_token_types": reader.get_field("tokenizer.ggml.token_type") is not None,
        "empty_token_ids": empty,
        "duplicate_token_ids": duplicates,
        "invalid_utf8_token_ids": bad_utf8,
    }
    for key in _ID_KEYS:
        info[f"{key}_token_id"] = meta.scalar(f"tokenizer.ggml.{key}_token_id", int)
    padding = _padding_ids(tokens, types, info)
    info["padding_token_ids"] = padding
    for i in padding:
        types[i] = _UNUSED  # never matched in text, whatever type the converter wrote

    if model == "llama":
        view = _spm_view(path, tokens, scores, types, info)
    elif model == "bert":
        from auditor.loaders.gguf_wordpiece import wordpiece_view

        # llama.cpp: lowercase unless told otherwise, and accents go with the case unless told.
        lowercase = meta.scalar("tokenizer.ggml.normalizer.lowercase", bool)
        info["normalizer_lowercase"] = True if lowercase is None else lowercase
        strip = meta.scalar("tokenizer.ggml.normalizer.strip_accents", bool)
        info["normalizer_strip_accents"] = info["normalizer_lowercase"] if strip is None else strip
        view = wordpiece_view(path, tokens, types, first, info)
    else:
        info["has_merges"] = reader.get_field("tokenizer.ggml.merges") is not None
        merges, _bad = meta.strings("tokenizer.ggml.merges")
        view = _bpe_view(path, tokens, types, merges, first, info)
    return _mark_padding(view, padding)


def _padding_ids(tokens: list[str], types: list[int], info: dict) -> list[int]:
    """Fillers llama.cpp's converter writes for ids the tokenizer has no token for.

    The converter names a filler "[PAD{id}]" after its own id and types it unused (older
    converters: user-defined for BPE vocabularies, unknown for SentencePiece ones). A real
    token of that name elsewhere, typed normal or control, or named as one of the
    tokenizer's special ids (bos, eos, pad, ...) is not a filler.
    """
    declared = {info[f"{key}_token_id"] for key in _ID_KEYS}
    return [
        i
        for i, t in enumerate(tokens)
        if t.startswith("[PAD") and types[i] in _FILLER_TYPES and t == f"[PAD{i}]" and i not in declared
    ]


def _mark_padding(view: TokenizerView, padding: list[int]) -> TokenizerView:
    """Fillers are PADDING: no bytes, no added token, never the unknown token."""
    if not padding:
        return view
    kinds = list(view.kinds)
    token_bytes = list(view.token_bytes)
    for i in padding:
        kinds[i], token_bytes[i] = TokenKind.PADDING, None
    pad = set(padding)
    return dataclasses.replace(
        view,
        kinds=kinds,
        token_bytes=token_bytes,
        added_tokens=[a for a in view.added_tokens if a.id not in pad],
        unk_id=None if view.unk_id in pad else view.unk_id,
    )


# --- reading ---------------------------------------------------------------------------


def _open(path: Path, gguf: Any) -> Any:
    """A reader that refuses short reads, so truncated files fail instead of yielding partial values."""

    import numpy as np

    class StrictReader(gguf.GGUFReader):
        # The reader slices its memmap once per value; a plain ndarray view of the same
        # mapping skips numpy.memmap's per-slice Python hooks (several times faster).
        @property
        def data(self) -> Any:
            return self._plain

        @data.setter
        def data(self, value: Any) -> None:
            self._plain = value.view(np.ndarray) if isinstance(value, np.memmap) else value

        def _get(self, offset: int, dtype: Any, count: int = 1, *args: Any, **kwargs: Any) -> Any:
            size = itemsize.get(dtype) or itemsize.setdefault(dtype, np.dtype(dtype).itemsize)
            if int(offset) + size * int(count) > len(self._plain):
                raise _Truncated()
            return super()._get(offset, dtype, count, *args, **kwargs)

    itemsize: dict[Any, int] = {}

    try:
        return StrictReader(str(path), "r")
    except _Truncated:
        raise InputError(path, "truncated GGUF file (it ends inside its header, metadata or tensor data)") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # the reader raises ValueError/KeyError/IndexError on corrupt input
        first = (str(exc).splitlines() or [type(exc).__name__])[0].strip("'\"") or type(exc).__name__
        raise InputError(path, f"not a readable GGUF file ({first})") from None


class _Metadata:
    """Typed access to the reader's key/value fields, with InputErrors naming the key."""

    def __init__(self, reader: Any, path: Path, gguf: Any) -> None:
        self._reader = reader
        self._path = path
        self._t = gguf.GGUFValueType

    def _field(self, key: str) -> Any:
        return self._reader.get_field(key)

    def scalar(self, key: str, kind: type) -> Any:
        """A scalar value, or None when absent or of another shape (optional keys stay optional)."""
        field = self._field(key)
        if field is None or not field.types or field.types[0] == self._t.ARRAY:
            return None
        is_string = field.types[0] == self._t.STRING
        if (kind is str) != is_string:
            if kind is str:
                raise InputError(self._path, f"{key} is not a string")
            return None
        try:
            if is_string:
                return bytes(field.parts[-1]).decode("utf-8", "replace")
            value = field.parts[-1].tolist()[0]
        except (IndexError, ValueError):
            raise InputError(self._path, f"corrupt GGUF value for {key}") from None
        return kind(value)

    def _array(self, key: str) -> tuple[Any, Any]:
        field = self._field(key)
        if field is None:
            return None, None
        if not field.types or field.types[0] != self._t.ARRAY:
            raise InputError(self._path, f"{key} is not an array")
        sub = field.types[-1] if len(field.types) > 1 else None  # empty arrays carry no element type
        return field, sub

    def strings(self, key: str) -> tuple[list[str], list[int]]:
        """A string array; undecodable entries are decoded with U+FFFD and their indexes returned."""
        field, sub = self._array(key)
        if field is None:
            return [], []
        if sub is not None and sub != self._t.STRING:
            raise InputError(self._path, f"{key} is not an array of strings")
        raw = [bytes(field.parts[i]) for i in field.data]
        try:
            return [b.decode("utf-8") for b in raw], []
        except UnicodeDecodeError:
            out, bad = [], []
            for i, b in enumerate(raw):
                try:
                    out.append(b.decode("utf-8"))
                except UnicodeDecodeError:
                    out.append(b.decode("utf-8", "replace"))
                    bad.append(i)
            return out, bad

    def numbers(self, key: str, n: int, kind: type) -> list | None:
        """A numeric array with at least one entry per token (llama.cpp's own check), or None when absent."""
        field, sub = self._array(key)
        if field is None:
            return None
        if sub in (self._t.STRING, self._t.ARRAY):
            raise InputError(self._path, f"{key} is not a numeric array")
        values = field.contents()
        if len(values) < n:
            raise InputError(self._path, f"{key} has {len(values)} entries for {n} tokens")
        return [kind(v) for v in values[:n]]


# --- "llama": SentencePiece BPE ----------------------------------------------------------


def _spm_view(path: Path, tokens: list[str], scores: list[float], types: list[int], info: dict) -> TokenizerView:
    """A SentencePiece BPE model of the vocabulary; the proto is sanitised where sentencepiece is stricter."""
    import sentencepiece as spm

    from auditor.loaders.protobuf import SentencePieceModel, write_sentencepiece_model
    from auditor.loaders.sentencepiece_model import view_from_sentencepiece

    n = len(tokens)
    view_types = [t if t in KIND_OF_TYPE else _NORMAL for t in types]
    proto_pieces = list(tokens)
    proto_types = list(view_types)
    taken = set(tokens)

    def placeholder(i: int) -> str:
        name = f"<tokaudit:unreachable:{i}>"
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    # sentencepiece refuses duplicate pieces: later copies become unused placeholders.
    for i in info["duplicate_token_ids"]:
        proto_pieces[i], proto_types[i] = placeholder(i), _UNUSED
    # Byte pieces must be exactly <0x00>..<0xFF>, all 256 of them, or none.
    byte_ids = [i for i, t in enumerate(proto_types) if t == _BYTE]
    valid_bytes = {i for i in byte_ids if BYTE_PIECE.match(proto_pieces[i])}
    distinct = {int(proto_pieces[i][3:5], 16) for i in valid_bytes}  # "<0xNN>"
    byte_fallback = len(distinct) == 256 and len(valid_bytes) == 256
    for i in byte_ids:
        if not byte_fallback or i not in valid_bytes:
            proto_types[i] = _UNUSED
    # At most one unknown piece, and one is required without byte fallback: then
    # llama.cpp's unknown id (default 0) stands in when no token is typed unknown.
    unk_ids = [i for i, t in enumerate(proto_types) if t == _UNKNOWN]
    unk_id: int | None = info.get("unknown_token_id")
    if unk_id is None or not 0 <= unk_id < n:
        unk_id = 0
    if unk_ids:
        unk_id = unk_id if unk_id in unk_ids else unk_ids[0]
    elif byte_fallback:
        unk_id = None
    for i in unk_ids:
        if i != unk_id:
            proto_types[i] = _CONTROL
    if unk_id is not None:
        proto_types[unk_id] = _UNKNOWN

    add_prefix = info["add_space_prefix"]
    options: dict[str, Any] = dict(
        model_type="bpe",
        byte_fallback=byte_fallback,
        normalizer_name="identity",
        add_dummy_prefix=True if add_prefix is None else add_prefix,
        remove_extra_whitespaces=False,  # llama.cpp's SPM tokenizer does not collapse spaces
        escape_whitespaces=True,
    )
    proto = SentencePieceModel(pieces=list(zip(proto_pieces, scores, proto_types)), **options)
    model = SentencePieceModel(pieces=list(zip(tokens, scores, view_types)), **options)
    sp = spm.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(write_sentencepiece_model(proto))
    except Exception as exc:
        first = first_line(exc)
        raise InputError(path, f"sentencepiece cannot load this GGUF vocabulary: {first}") from None
    view = view_from_sentencepiece(sp, model, path=str(path), fmt="gguf")
    info["byte_fallback"] = byte_fallback
    view.facts = view.facts.with_facts(gguf=info, pre_tokenizer_fallback=False)
    view.unk_id = unk_id
    return view


# --- "gpt2": byte-level BPE -------------------------------------------------------------


def _bpe_view(
    path: Path, tokens: list[str], types: list[int], merges: list[str], first: dict[str, int], info: dict
) -> TokenizerView:
    """A BPE `tokenizers.Tokenizer` built from its tokenizer.json spec, split as llama.cpp splits."""
    from tokenizers import Tokenizer

    from auditor.loaders.bytelevel import piece_to_bytes
    from auditor.loaders.hf_json import (
        added_token_spec,
        bpe_model_spec,
        tokenizer_json_spec,
        view_from_tokenizer,
    )

    pre = info["pre"]
    # llama.cpp ignores tokenizer.ggml.pre for "gemma4" vocabularies: they always split its way.
    found = FAMILIES["gemma4"] if info["model"] == "gemma4" else family_for_gguf_pre(pre)
    fallback = found is None
    family = found or FAMILIES["gpt2"]
    info["pre_tokenizer_family"] = None if fallback else family.name
    info["pre_tokenizer_regexes"] = list(family.regexes)
    info["ignore_merges"] = family.ignore_merges

    vocab = dict(first)
    pairs: list[list[str]] = []
    skipped = 0
    for m in merges:
        pos = m.find(" ", 1)  # llama.cpp splits at the first space after the first character
        left, right = (m[:pos], m[pos + 1 :]) if pos != -1 else (m, "")
        if left in vocab and right in vocab and left + right in vocab:
            pairs.append([left, right])
        else:
            skipped += 1
    info["skipped_merges"] = skipped

    added = []
    for i, t in enumerate(types):
        if t in (_CONTROL, _UNKNOWN, _USER_DEFINED) and first[tokens[i]] == i:
            added.append(added_token_spec(i, tokens[i], special=t != _USER_DEFINED, normalized=False))
    # "a b" strings when unambiguous (every tokenizers version reads them), else pairs.
    merge_spec: list[Any] = pairs if any(" " in a or " " in b for a, b in pairs) else [f"{a} {b}" for a, b in pairs]
    splits: list[dict[str, Any]] = [
        {"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": False} for r in family.regexes
    ]
    normalizer = None
    if family.byte_level:
        byte_fallback = False
        splits.append({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False})
        decoder: dict[str, Any] = {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": True,
            "use_regex": True,
        }
    else:
        # Raw UTF-8 pieces: characters no token covers fall back to their <0xNN> tokens.
        byte_fallback = any(t == _BYTE for t in types)
        steps: list[dict[str, Any]] = []
        if family.escape_whitespaces:
            normalizer = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
            steps.append({"type": "Replace", "pattern": {"String": "▁"}, "content": " "})
        steps += [{"type": "ByteFallback"}, {"type": "Fuse"}]
        decoder = {"type": "Sequence", "decoders": steps}
    spec = tokenizer_json_spec(
        bpe_model_spec(vocab, merge_spec, ignore_merges=family.ignore_merges, byte_fallback=byte_fallback),
        added_tokens=added,
        normalizer=normalizer,
        pre_tokenizer={"type": "Sequence", "pretokenizers": splits},
        decoder=decoder,
    )
    try:
        tok = Tokenizer.from_str(json.dumps(spec))
    except Exception as exc:
        raise InputError(path, f"cannot build a tokenizer from this GGUF vocabulary: {first_line(exc)}") from None
    view = view_from_tokenizer(tok, spec, path=str(path), fmt="gguf")

    # Cover every GGUF id: duplicates are holes in the tokenizer's vocabulary; GGUF types
    # say what `tokenizers` cannot (unknown, unused).
    n = len(tokens)
    pieces: list[str | None] = list(tokens)
    kinds: list[TokenKind] = []
    token_bytes: list[bytes | None] = []
    for i, t in enumerate(types):
        if i < view.vocab_size and view.pieces[i] is not None:
            kind, data = view.kinds[i], view.token_bytes[i]
        else:
            kind = KIND_OF_TYPE.get(t, TokenKind.NORMAL)
            if kind == TokenKind.BYTE and family.byte_level:
                kind = TokenKind.NORMAL
            if kind in (TokenKind.CONTROL, TokenKind.UNKNOWN):
                data = None
            elif kind == TokenKind.USER_DEFINED or not family.byte_level:
                data = tokens[i].replace("▁", " ").encode("utf-8")
            else:
                data = piece_to_bytes(tokens[i])
        if t == _UNKNOWN:
            kind, data = TokenKind.UNKNOWN, None
        elif t == _UNUSED:
            kind = TokenKind.UNUSED
        kinds.append(kind)
        token_bytes.append(data)
    unk_ids = [i for i, t in enumerate(types) if t == _UNKNOWN]
    facts = view.facts.with_facts(gguf=info, pre_tokenizer_fallback=fallback)
    notes = list(view.notes)
    warnings = list(view.warnings)
    if fallback:
        notes.append(f"unknown tokenizer.ggml.pre {pre!r}: the GPT-2 pre-tokenizer regex was used")
        warnings.append(
            f"tokenizer.ggml.pre {pre!r} is not a pre-tokenizer llama.cpp knows (llama.cpp refuses this file): "
            "the GPT-2 regex was guessed, so counts that depend on pre-tokenization are not trustworthy"
        )
    elif not pre and info["model"] == "gpt2":
        notes.append("no tokenizer.ggml.pre: llama.cpp's default pre-tokenizer regexes were used")
    return dataclasses.replace(
        view,
        pieces=pieces[:n],
        kinds=kinds,
        token_bytes=token_bytes,
        unk_id=unk_ids[0] if unk_ids else None,
        facts=facts,
        notes=notes,
        warnings=warnings,
    )
