"""Tiny tokenizers built from a few words, for rule examples, tests and benchmarks.

Rule examples must be declarative and small: these helpers turn a list of words into a
valid tokenizer.json spec (or SentencePiece model bytes) in which every listed word is
one reachable token, so that an example can plant exactly one defect next to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auditor.loaders.bytelevel import byte_to_char
from auditor.loaders.hf_json import (
    added_token_spec,
    bpe_model_spec,
    tokenizer_json_spec,
)


def _bl(text: str | bytes) -> str:
    table = byte_to_char()
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return "".join(table[b] for b in data)


def _merge_chain(symbols: str, vocab: dict[str, int], merges: list[list[str]]) -> None:
    """Add the left-to-right merges that build `symbols` as one token (skipping known ones)."""
    cur = symbols[0]
    for ch in symbols[1:]:
        if cur + ch not in vocab:
            merges.append([cur, ch])
            vocab[cur + ch] = len(vocab)
        cur = cur + ch


def byte_level_bpe(
    words: Iterable[str | bytes] = (),
    *,
    orphans: Iterable[str | bytes] = (),
    added: Sequence[Mapping[str, Any]] = (),
    drop_bytes: Iterable[int] = (),
    normalizer: Mapping[str, Any] | None = None,
    use_regex: bool = True,
) -> dict[str, Any]:
    """A GPT-2-style byte-level BPE: 256 byte tokens, one merge chain per word.

    `orphans` become vocabulary entries that no merge produces (unreachable);
    `added` are HF added tokens ({"content": ..., "special": bool}); `drop_bytes`
    removes byte tokens to break byte coverage.
    """
    dropped = set(drop_bytes)
    vocab: dict[str, int] = {}
    for b, ch in byte_to_char().items():
        if b not in dropped:
            vocab[ch] = len(vocab)
    merges: list[list[str]] = []
    for word in words:
        _merge_chain(_bl(word), vocab, merges)
    for orphan in orphans:
        vocab.setdefault(_bl(orphan), len(vocab))
    added_tokens = [
        added_token_spec(
            len(vocab) + k,
            spec["content"],
            special=bool(spec.get("special", False)),
            normalized=spec.get("normalized"),
            lstrip=bool(spec.get("lstrip", False)),
            rstrip=bool(spec.get("rstrip", False)),
        )
        for k, spec in enumerate(added)
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}
    return tokenizer_json_spec(
        bpe_model_spec(vocab, merges),
        added_tokens=added_tokens,
        normalizer=dict(normalizer) if normalizer else None,
        pre_tokenizer=byte_level,
        decoder=dict(byte_level),
    )


def char_bpe(alphabet: str, words: Iterable[str] = (), *, unk: str = "[UNK]") -> dict[str, Any]:
    """A BPE over characters (not bytes) with an unknown token: anything outside
    `alphabet` becomes [UNK]. Whitespace splits words and is dropped."""
    vocab: dict[str, int] = {unk: 0}
    for ch in alphabet:
        vocab.setdefault(ch, len(vocab))
    merges: list[list[str]] = []
    for word in words:
        _merge_chain(word, vocab, merges)
    return tokenizer_json_spec(
        bpe_model_spec(vocab, merges, unk_token=unk),
        added_tokens=[added_token_spec(0, unk, special=True)],
        pre_tokenizer={"type": "WhitespaceSplit"},
    )


def sentencepiece_bpe(
    words: Iterable[str] = (),
    *,
    byte_fallback: bool = True,
    add_dummy_prefix: bool = True,
    extra_pieces: Sequence[tuple[str, int]] = (),
    drop_bytes: Iterable[int] = (),
    remove_extra_whitespaces: bool = False,
) -> bytes:
    """SentencePiece BPE model bytes: <unk> <s> </s>, byte pieces, characters, words.

    Pieces get decreasing scores in list order, so earlier merges win. `extra_pieces`
    are (piece, type) with SentencePiece type numbers (4 user-defined, 5 unused, ...).
    """
    from auditor.loaders.protobuf import SentencePieceModel

    pieces: list[tuple[str, float, int]] = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    if byte_fallback:
        dropped = set(drop_bytes)
        pieces += [(f"<0x{b:02X}>", 0.0, 6) for b in range(256) if b not in dropped]
    seen = {p[0] for p in pieces}
    score = -1.0
    chars: list[str] = []
    # With the dummy prefix every word starts with "▁", as SentencePiece sees it.
    words = [("▁" + w if add_dummy_prefix else w).replace(" ", "▁") for w in words]
    # The leading-space sentinel of the vocabulary analysis needs "«" as one token.
    words = words + ["▁«"]
    for w in words:
        for ch in w:
            if ch not in seen and ch not in chars:
                chars.append(ch)
    for w in words:
        for k in range(2, len(w) + 1):
            sub = w[:k]
            if sub not in seen:
                pieces.append((sub, score, 1))
                seen.add(sub)
                score -= 1.0
    for ch in chars:
        pieces.append((ch, score, 1))
        seen.add(ch)
        score -= 1.0
    for piece, ptype in extra_pieces:
        if piece not in seen:
            pieces.append((piece, 0.0, ptype))
            seen.add(piece)
    model = SentencePieceModel(
        pieces=pieces,
        model_type="bpe",
        byte_fallback=byte_fallback,
        normalizer_name="identity",
        add_dummy_prefix=add_dummy_prefix,
        remove_extra_whitespaces=remove_extra_whitespaces,
    )
    from auditor.loaders.protobuf import write_sentencepiece_model

    return write_sentencepiece_model(model)
