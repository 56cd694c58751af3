"""`tokaudit encode`: the ids and offsets of each loader agree with the tokenizer's own library."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.loaders import load_tokenizer
from auditor.preprocessing.encoding import tokenize_texts
from tests.conftest import REPO, real_file

DEMO = REPO / "sample_corpora" / "demo" / "tokenizer.json"
TEXTS = ["Hello world", "naïve café 🙂", "  two spaces\nand a newline", ""]
runner = CliRunner()


def _spans_cover_the_text(tokenization) -> None:
    data = tokenization.text.encode("utf-8")
    assert tokenization.offsets is not None
    for (a, b), tid in zip(tokenization.offsets, tokenization.ids):
        assert 0 <= a <= b <= len(data), (tid, a, b)


def test_json_lists_text_ids_pieces_offsets_in_order():
    res = runner.invoke(app, ["encode", str(DEMO), "Hello world", "", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [o["text"] for o in out] == ["Hello world", ""]
    assert set(out[0]) == {"text", "ids", "pieces", "offsets", "decoded"}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(DEMO))
    expected = tok.encode("Hello world", add_special_tokens=False)
    assert out[0]["ids"] == expected.ids
    assert out[0]["pieces"] == expected.tokens
    assert out[1] == {"text": "", "ids": [], "pieces": [], "offsets": [], "decoded": ""}


def test_text_output_shows_each_id_with_its_bytes():
    res = runner.invoke(app, ["encode", str(DEMO), "Hello world"])
    assert res.exit_code == 0, res.output
    assert '"Hello world": ' in res.stdout and "bytes 0-" in res.stdout


def test_file_is_one_text_read_exactly(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"line one\r\nline two\n")
    res = runner.invoke(app, ["encode", str(DEMO), "--file", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["text"] == "line one\r\nline two\n"


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give a TEXT"),
        (["x", "--format", "sarif"], "tokaudit encode renders text, json"),
        (["--file", "/nonexistent/file.txt"], "cannot read"),
    ],
)
def test_user_errors_are_one_line_and_exit_two(args, message):
    res = runner.invoke(app, ["encode", str(DEMO), *args])
    assert res.exit_code == 2
    assert message in res.output and len(res.output.strip().splitlines()) == 1


def test_not_utf8_file_is_refused(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"\xff\xfe")
    res = runner.invoke(app, ["encode", str(DEMO), "--file", str(f)])
    assert res.exit_code == 2 and "not UTF-8" in res.output


@pytest.mark.real
def test_tiktoken_ids_and_offsets_match_tiktoken():
    import tiktoken.load

    path = real_file("gpt2")
    view = load_tokenizer(path)
    from auditor.loaders.tiktoken_file import PRESETS

    enc = tiktoken.Encoding(
        "r50k",
        pat_str=PRESETS["r50k_base"].pattern,
        mergeable_ranks=tiktoken.load.load_tiktoken_bpe(str(path)),
        special_tokens={},
    )
    result = tokenize_texts(view, TEXTS)
    for t in result.texts:
        assert list(t.ids) == enc.encode_ordinary(t.text)
        assert t.round_trips
        _spans_cover_the_text(t)
        assert b"".join(t.text.encode("utf-8")[a:b] for a, b in t.offsets) == t.text.encode("utf-8")


@pytest.mark.real
def test_sentencepiece_offsets_come_from_sentencepiece():
    import sentencepiece as spm

    path = real_file("llama2")
    sp = spm.SentencePieceProcessor(model_file=str(path))
    result = tokenize_texts(load_tokenizer(path), TEXTS[:3])
    for t in result.texts:
        assert list(t.ids) == sp.encode(t.text)
        _spans_cover_the_text(t)
        # the dummy prefix "▁" covers no byte of the text: the first span starts at 0
        assert t.offsets[0][0] == 0


@pytest.mark.real
def test_tokenizers_offsets_are_bytes_not_characters():
    result = tokenize_texts(load_tokenizer(real_file("neox")), ["naïve café"])
    t = result.texts[0]
    assert t.offsets[-1][1] == len("naïve café".encode())
