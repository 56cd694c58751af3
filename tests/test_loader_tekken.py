"""Tekken files: detection, ids shifted past the special tokens, malformed files, real files
against mistral_common's Tekkenizer."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from auditor.analyses.vocabulary import analyze_vocabulary
from auditor.core import TokenKind, UserError
from auditor.loaders import LoadOptions, detect_format, load_tokenizer
from auditor.loaders.tekken import DEFAULT_SPECIALS, looks_like_tekken
from tests.conftest import real_path

PATTERN = r"""[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
MERGES = [b"he", b"ll", b"hell", b"hello", b" w", b" wo", b"<s"]
SPECIALS = ["<unk>", "<s>", "</s>"]


def _entry(rank: int, token: bytes) -> dict:
    return {"rank": rank, "token_bytes": base64.b64encode(token).decode(), "token_str": None}


def _spec(n_special: int = 5, extra_vocab: int = 0, specials: list[str] | None = SPECIALS, version: str = "v7") -> dict:
    tokens = [bytes([b]) for b in range(256)] + MERGES
    vocab = [_entry(k, t) for k, t in enumerate(tokens)]
    vocab += [_entry(len(vocab) + k, b"zz" + bytes([65 + k])) for k in range(extra_vocab)]
    spec: dict = {
        "config": {
            "pattern": PATTERN,
            "num_vocab_tokens": len(vocab),
            "default_vocab_size": len(tokens) + n_special,
            "default_num_special_tokens": n_special,
            "version": version,
        },
        "vocab": vocab,
    }
    if specials is not None:
        spec["special_tokens"] = [{"rank": k, "token_str": t, "is_control": True} for k, t in enumerate(specials)]
    return spec


def _write(tmp_path: Path, spec: dict | str, name: str = "tekken.json") -> Path:
    path = tmp_path / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec, indent=2), encoding="utf-8")
    return path


# --- detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "tekken"),
    [
        ('{\n  "config": {\n    "pattern": "x"', True),
        ('{"vocab": [{"rank": 0, "token_bytes": "AA=="', True),
        ('{"special_tokens": [{"rank": 0', True),
        ('{"version": 1, "type": "tekken", "config": {"pattern"', True),
        ('{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [', False),
        ('{"model": {"type": "BPE", "vocab": {"a": 0}}}', False),
        ('{"version": "1.0", "config": "not an object"}', False),
        ('{"a": "' + "x" * 5000, False),  # a value longer than the head decides nothing: tokenizer.json
        ("{}", False),
    ],
)
def test_looks_like_tekken(head, tekken):
    assert looks_like_tekken(head.encode()[:4096]) is tekken


def test_detect_format_tells_tekken_from_tokenizer_json(tmp_path):
    path = _write(tmp_path, _spec())
    assert detect_format(path, path.read_bytes()[:4096]) == "tekken"
    assert detect_format(path, b'\xef\xbb\xbf{"version": "1.0", "added_tokens": []}') == "tokenizer.json"


def test_folder_with_a_tekken_file(tmp_path):
    _write(tmp_path, _spec())
    assert load_tokenizer(tmp_path).format == "tekken"


# --- the view -----------------------------------------------------------------------------


def test_tekken_view(tmp_path):
    view = load_tokenizer(_write(tmp_path, _spec(n_special=5)))
    assert view.format == "tekken" and view.byte_level and view.model_type == "bpe"
    assert view.vocab_size == 5 + 256 + len(MERGES)
    # specials first, then the file's fillers; ranks shifted by the number of specials
    assert view.pieces[:5] == [*SPECIALS, "<SPECIAL_3>", "<SPECIAL_4>"]
    assert all(view.kinds[i] == TokenKind.CONTROL and view.token_bytes[i] is None for i in range(5))
    assert view.token_bytes[5 + ord("A")] == b"A" and view.kinds[5 + ord("A")] == TokenKind.NORMAL
    hello = 5 + 256 + MERGES.index(b"hello")
    assert view.pieces[hello] == "hello" and view.pieces[5 + 256 + MERGES.index(b" w")] == "Ġw"
    assert view.encode("hello") == [hello]
    # special texts are never parsed: "<s>" is ordinary text (the pattern splits off ">")
    assert view.encode("<s>") == [5 + 256 + MERGES.index(b"<s"), 5 + ord(">")]
    assert all(i >= 5 for i in view.encode("</s><unk><SPECIAL_3>"))
    assert view.decode([1, hello, 2]) == "<s>hello</s>"
    # a special id between bytes keeps them apart, as mistral_common decodes each run alone
    euro = "€".encode()
    assert view.decode([5 + euro[0], 5 + euro[1], 5 + euro[2]]) == "€"
    assert view.decode([5 + euro[0], 0, 5 + euro[1], 5 + euro[2]]) == "\ufffd<unk>\ufffd\ufffd"
    texts = ["hello world", "  two  spaces\n", "naïve café ☃ 日本語", ""]
    assert view.decode_batch(view.encode_batch(texts)) == texts
    assert view.facts.tiktoken_pattern == PATTERN
    assert view.facts.tiktoken_preset == "tekken v7"
    assert view.facts.tiktoken_specials == {t: i for i, t in enumerate(view.pieces[:5])}
    merges = view.bpe_merges()
    assert (5 + ord("h"), 5 + ord("e"), 5 + 256) in merges  # "he" = "h" + "e", shifted
    vocab = analyze_vocabulary(view)
    assert vocab.paper_counts()["special"] == 5 and vocab.paper_counts()["single_byte"] == 256


def test_vocab_is_cut_to_the_default_vocab_size(tmp_path):
    view = load_tokenizer(_write(tmp_path, _spec(extra_vocab=3)))
    assert view.vocab_size == 5 + 256 + len(MERGES)
    assert any("ranks are used" in note for note in view.notes)


def test_file_without_special_tokens_gets_the_default_names(tmp_path):
    view = load_tokenizer(_write(tmp_path, _spec(n_special=25, specials=None, version="v3")))
    assert view.pieces[:20] == list(DEFAULT_SPECIALS)
    assert view.pieces[20:25] == [f"<SPECIAL_{i}>" for i in range(20, 25)]
    assert view.pieces[1] == "<s>" and view.pieces[3] == "[INST]"
    assert any("default names" in note for note in view.notes)


def test_tiktoken_options_are_ignored_with_a_note(tmp_path):
    view = load_tokenizer(_write(tmp_path, _spec()), LoadOptions(preset="qwen", normalize="nfc"))
    assert any("ignored" in note for note in view.notes)
    assert view.normalize("\u1f77") == "\u1f77"


def _set(spec: dict, change) -> dict:
    change(spec)
    return spec


BROKEN = [
    ("not-json", '{\n  "config": {oops', "not valid JSON"),
    ("top-list", None, None),
    ("no-config", _set(_spec(), lambda s: s.pop("config")), "'config'"),
    ("pattern-type", _set(_spec(), lambda s: s["config"].update(pattern=3)), "'pattern'"),
    ("bad-pattern", _set(_spec(), lambda s: s["config"].update(pattern="(")), "regular expression"),
    ("bad-version", _set(_spec(), lambda s: s["config"].update(version="latest")), "version"),
    ("size-negative", _set(_spec(), lambda s: s["config"].update(default_vocab_size=-1)), "default_vocab_size"),
    ("vocab-short", _set(_spec(), lambda s: s["config"].update(default_vocab_size=10**6)), "the vocab has"),
    ("no-vocab", _set(_spec(), lambda s: s.pop("vocab")), "'vocab'"),
    ("rank-order", _set(_spec(), lambda s: s["vocab"][260].update(rank=7)), "vocab[260]"),
    ("not-base64", _set(_spec(), lambda s: s["vocab"][260].update(token_bytes="@@")), "not base64"),
    ("bytes-first", _set(_spec(), lambda s: s["vocab"][65].update(token_bytes="Qg==")), "single bytes"),
    ("dup-bytes", _set(_spec(), lambda s: s["vocab"][257].update(token_bytes="aGU=")), "already at rank 256"),
    ("special-rank", _set(_spec(), lambda s: s["special_tokens"][1].update(rank=5)), "special_tokens[1]"),
    ("special-twice", _spec(specials=["<s>", "<s>"]), "appears twice"),
    ("too-many-specials", _spec(n_special=2), "more than default_num_special_tokens"),
    ("filler-clash", _spec(specials=["<SPECIAL_2>"]), "appears twice"),
    ("new-without-list", _spec(specials=None, version="v11"), "without its 'special_tokens'"),
]


@pytest.mark.parametrize(("name", "spec", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_malformed_tekken_files(tmp_path, name, spec, problem):
    if spec is None:  # a JSON list is no tokenizer at all
        path = _write(tmp_path, "[1, 2]")
        with pytest.raises(UserError, match="unknown format"):
            load_tokenizer(path)
        return
    path = _write(tmp_path, spec)
    with pytest.raises(UserError) as err:
        load_tokenizer(path)
    message = str(err.value)
    assert problem in message and "\n" not in message and str(path) in message


# --- real files ---------------------------------------------------------------------------

REAL = ["tekken/tekken_240718.json", "tekken/tekken_240911.json"]


@pytest.mark.real
@pytest.mark.parametrize("relative", REAL)
def test_real_tekken_counts(relative):
    view = load_tokenizer(real_path(relative))
    assert view.format == "tekken" and view.vocab_size == 131072
    assert analyze_vocabulary(view).paper_counts() == {
        "single_byte": 256,
        "special": 1000,
        "unreachable": 0,
        "partial_utf8": 1307,
    }


def _probes() -> list[str]:
    fixed = [
        "Hello, world!",
        " leading space and trailing  ",
        "def f(x):\n\treturn x ** 2  # square\r\n",
        '{"key": [1, 2.5e-3, null]}',
        "日本語のテキストと中文文本，한국어",
        "🙂👍🏽👨‍👩‍👧 emoji and ZWJ",
        "<s>[INST] What is 2+2? [/INST] 4</s>",
        "[IMG][IMG_BREAK][IMG_END]<pad><unk><SPECIAL_999>[TOOL_CALLS]",
        "ί ί e\u0301 é ﬁ",
        "1234567890 ١٢٣ Ⅻ",
        "\u200b\u00a0\ufeff\u2028",
        "",
    ]
    rng = random.Random(13)
    ranges = [(32, 126), (0xA0, 0x24F), (0x370, 0x52F), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF)]
    rnd = []
    for _ in range(300):
        chars = []
        for _ in range(rng.randint(1, 30)):
            lo, hi = rng.choice(ranges + [(9, 13)])
            chars.append(chr(rng.randint(lo, hi)))
        rnd.append("".join(chars))
    return fixed + rnd


@pytest.mark.real
@pytest.mark.parametrize("relative", REAL)
def test_real_tekken_agrees_with_mistral_common(relative):
    tekken = pytest.importorskip("mistral_common.tokens.tokenizers.tekken")
    from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy

    path = real_path(relative)
    reference = tekken.Tekkenizer.from_file(path)
    view = load_tokenizer(path)
    probes = _probes()
    assert view.encode_batch(probes) == [reference.encode(p, bos=False, eos=False) for p in probes]
    assert all(i >= 1000 for p in probes for i in view.encode(p))  # no text yields a special id

    keep = SpecialTokenPolicy.KEEP
    ids = list(range(0, view.vocab_size, 7)) + list(range(1000))
    singles = view.decode_each(ids)
    assert singles == [reference.decode([i], special_token_policy=keep) for i in ids]
    rng = random.Random(5)
    seqs = [
        [rng.randrange(1000) if rng.random() < 0.2 else rng.randrange(1000, view.vocab_size) for _ in range(20)]
        for _ in range(200)
    ]
    assert view.decode_batch(seqs) == [reference.decode(s, special_token_policy=keep) for s in seqs]
    assert view.decode_batch(view.encode_batch(probes)) == [
        reference.decode(reference.encode(p, False, False)) for p in probes
    ]
