"""The analysis' fast paths must give exactly what the plain library calls give.

encode_flat (pre-tokenized words), decode_each (bytes of a lone ByteLevel decoder) and
pieces_to_bytes (one translate for the whole vocabulary) are shortcuts; these tests
compare them with the slow, obvious way on every id.
"""

from __future__ import annotations

import random

import pytest

from auditor.core import FlatEncodings
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer
from auditor.loaders.bytelevel import byte_to_char, piece_to_bytes, pieces_to_bytes
from tests.conftest import real_file

TEXTS = [
    "",
    " ",
    "  ",
    "hello",
    " hello world",
    "\n\n",
    "a\r\nb",
    "中文",
    "🙂",
    "<|end|>",
    "x<|end|>y",
    "\x00",
    "  =  ",
]


def _check_view(view, texts):
    flat = view.encode_flat(texts)
    plain = view.encode_batch(texts)
    assert [flat.get(k) for k in range(len(texts))] == plain
    ids = view.ids
    assert view.decode_each(ids) == view.decode_batch([[i] for i in ids])


def test_byte_level_fast_paths_match_the_library(write_tokenizer):
    spec = byte_level_bpe(
        [" hello", " world", "中".encode()[:2], "  "],
        added=[{"content": "<|end|>", "special": True}, {"content": "  ", "special": False}],
    )
    view = load_tokenizer(write_tokenizer(spec))
    decoded = view.decode_batch([[i] for i in view.ids])
    _check_view(view, TEXTS + decoded)


def test_sentencepiece_paths_match(write_tokenizer):
    view = load_tokenizer(write_tokenizer(sentencepiece_bpe(["hello", "world"]), "sp.model"))
    _check_view(view, TEXTS)


def test_encode_flat_handles_many_chunks(write_tokenizer):
    view = load_tokenizer(write_tokenizer(byte_level_bpe([" hello", " world"])))
    rng = random.Random(0)
    texts = ["".join(rng.choice(" helowrd\n中") for _ in range(rng.randint(0, 12))) for _ in range(9000)]
    _check_view(view, texts)


def test_flat_encodings_helpers():
    flat = FlatEncodings.from_lists([[1], [], [2, 3], [4]])
    assert [flat.get(k) for k in range(4)] == [[1], [], [2, 3], [4]]
    assert flat.is_exactly([1, 0, 2, 5]).tolist() == [True, False, False, False]
    empty = FlatEncodings.from_lists([])
    assert len(empty) == 0 and empty.is_exactly([]).tolist() == []


def test_pieces_to_bytes_matches_per_piece():
    chars = list(byte_to_char().values())
    rng = random.Random(1)
    pieces = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    pieces[10] = None  # holes
    assert pieces_to_bytes(pieces) == [None if p is None else piece_to_bytes(p) for p in pieces]
    odd = ["Ġa", "not-in-alphabet ☃", None]
    assert pieces_to_bytes(odd) == [b" a", None, None]


@pytest.mark.real
def test_fast_paths_on_gpt_neox():
    view = load_tokenizer(real_file("neox"))
    _check_view(view, TEXTS + view.decode_batch([[i] for i in view.ids]))
    assert pieces_to_bytes(view.pieces) == [None if p is None else piece_to_bytes(p) for p in view.pieces]
