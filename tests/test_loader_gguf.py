"""The GGUF loader: vocabularies written with gguf.GGUFWriter must tokenize like their source."""

from __future__ import annotations

import functools
import importlib
import json
import random
import sys
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")

from auditor.core import InputError, MissingExtraError, TokenKind
from auditor.loaders import load_tokenizer
from tests.conftest import real_file, real_path

_WORDS = (
    "the quick brown fox jumps over lazy dog tokenizer vocabulary merges bytes model file "
    "we they it don't can't I'll you're parse encode decode café naïve Straße über résumé "
    "hello world data train test line code function return value 日本 語 東京"
).split()
_PUNCT = [".", ",", "!", "?", ":", ";", " -", "'s", "(x)", "\n", "\n\n", "\t"]

SAMPLES = [
    "Hello world",
    " leading space and trailing space ",
    "two  spaces   three",
    "line one\nline two\n\nline four\r\n",
    "tabs\tand\tmore\t\t tabs",
    "numbers 12345 and 3.14159 and 2024-06-01",
    "don't you're I'll it's",
    "naïve café, Straße über résumé",
    "日本語のテキスト 東京",
    "emoji 🙂🚀 and ✓ marks",
    "code: def f(x): return x**2  # done",
    "",
]


def _corpus(n: int = 400) -> list[str]:
    rng = random.Random(1234)
    out = []
    for _ in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 10))]
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 99999)))
        text = " ".join(words)
        out.append(text + rng.choice(_PUNCT))
    return out


def _write_gguf(path: Path, kv: dict) -> Path:
    """A vocab-only GGUF: header and key/values, no tensors."""
    w = gguf.GGUFWriter(str(path), arch="llama")
    for key, value in kv.items():
        if isinstance(value, str):
            w.add_string(key, value)
        elif isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        else:
            w.add_array(key, list(value))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path


# --- gpt2 / byte-level BPE ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    tok.add_tokens(["tokaudit"])  # a user-defined (non-special) added token
    return tok


def _bpe_kv(tok, pre: str | None = "gpt-2", model: str = "gpt2") -> dict:
    n = tok.get_vocab_size(with_added_tokens=True)
    tokens = [tok.id_to_token(i) for i in range(n)]
    added = tok.get_added_tokens_decoder()
    types = [(3 if added[i].special else 4) if i in added else 1 for i in range(n)]
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in merges]
    kv = {
        "tokenizer.ggml.model": model,
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.bos_token_id": 0,
        "tokenizer.ggml.eos_token_id": 0,
    }
    if pre is not None:
        kv["tokenizer.ggml.pre"] = pre
    return kv


def test_gpt2_gguf_encodes_like_source_tokenizer(tmp_path, bpe_tokenizer):
    tok = bpe_tokenizer
    path = _write_gguf(tmp_path / "bpe.gguf", _bpe_kv(tok))
    view = load_tokenizer(path)

    n = tok.get_vocab_size(with_added_tokens=True)
    assert view.format == "gguf"
    assert view.vocab_size == n
    assert view.byte_level and view.model_type == "bpe"
    assert view.pieces == [tok.id_to_token(i) for i in range(n)]
    user_id = tok.token_to_id("tokaudit")
    assert view.kinds[0] == TokenKind.CONTROL
    assert view.kinds[user_id] == TokenKind.USER_DEFINED
    assert all(k == TokenKind.NORMAL for i, k in enumerate(view.kinds) if i not in (0, user_id))
    assert view.token_bytes[tok.token_to_id("Ġthe")] == b" the"
    merges = view.bpe_merges()
    assert merges and len(merges) == len(json.loads(tok.to_str())["model"]["merges"])

    texts = SAMPLES + ["a <|endoftext|> b", "with tokaudit inside"]
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    got = view.encode_batch(texts)
    assert got == expected
    assert view.decode_batch(got) == tok.decode_batch(expected, skip_special_tokens=False)
    assert view.decode_batch(got[:-2]) == texts[:-2]  # byte-level round trip
    assert view.facts.gguf["model"] == "gpt2"
    assert view.facts.gguf["pre"] == "gpt-2"
    assert view.facts.pre_tokenizer_fallback is False


@pytest.mark.parametrize(
    ("pre", "pieces", "fallback"),
    [
        ("gpt-2", ["x", "Ġ12345", "!!"], False),
        ("smollm", ["x", "Ġ", "1", "2", "3", "4", "5", "!!"], False),
        ("starcoder", ["x", "Ġ", "1", "2", "3", "4", "5", "!!"], False),
        ("refact", ["x", "Ġ", "1", "2", "3", "4", "5", "!!"], False),
        ("llama-bpe", ["x", "Ġ", "123", "45", "!!"], False),
        ("llama3", ["x", "Ġ", "123", "45", "!!"], False),
        ("no-such-pre-tokenizer", ["x", "Ġ12345", "!!"], True),
        (None, ["x", "Ġ", "123", "45", "!!"], False),  # missing key: llama.cpp's "default" regexes
    ],
)
def test_gpt2_pre_tokenizer_follows_llama_cpp_names(tmp_path, bpe_tokenizer, pre, pieces, fallback):
    path = _write_gguf(tmp_path / "pre.gguf", _bpe_kv(bpe_tokenizer, pre=pre))
    view = load_tokenizer(path)
    assert view.pre_tokenize("x 12345!!") == pieces
    assert view.facts.pre_tokenizer_fallback is fallback
    assert view.facts.gguf["pre"] == pre
    ids = view.encode("x 12345!! don't")
    assert view.decode(ids) == "x 12345!! don't"


def test_unknown_pre_tokenizer_warns_in_every_report(tmp_path, bpe_tokenizer):
    view = load_tokenizer(_write_gguf(tmp_path / "odd.gguf", _bpe_kv(bpe_tokenizer, pre="brand-new-pre")))
    assert view.facts.pre_tokenizer_fallback is True
    assert view.facts.gguf["pre_tokenizer_family"] is None
    assert view.pre_tokenize("x 12345!!") == ["x", "Ġ12345", "!!"]  # GPT-2's regex, guessed
    assert len(view.warnings) == 1
    warning = view.warnings[0]
    assert "'brand-new-pre'" in warning and "GPT-2" in warning and "not trustworthy" in warning
    known = load_tokenizer(_write_gguf(tmp_path / "known.gguf", _bpe_kv(bpe_tokenizer, pre="deepseek-coder")))
    assert known.warnings == [] and known.facts.gguf["pre_tokenizer_family"] == "deepseek-coder"
    assert known.pre_tokenize("a = b\tif") == ["a", "Ġ=", "Ġb", "ĉif"]


def _with_fillers(kv: dict, extra: list[tuple[str, int]]) -> dict:
    kv = dict(kv)
    kv["tokenizer.ggml.tokens"] = list(kv["tokenizer.ggml.tokens"]) + [t for t, _ in extra]
    kv["tokenizer.ggml.token_type"] = list(kv["tokenizer.ggml.token_type"]) + [ty for _, ty in extra]
    if "tokenizer.ggml.scores" in kv:
        kv["tokenizer.ggml.scores"] = list(kv["tokenizer.ggml.scores"]) + [-10000.0] * len(extra)
    return kv


def test_padding_fillers_are_padding_and_never_matched(tmp_path, bpe_tokenizer):
    """ "[PAD{id}]" at its own id, typed as converters write fillers; look-alikes elsewhere stay tokens."""
    from auditor.analyses.vocabulary import analyze_vocabulary

    kv = _bpe_kv(bpe_tokenizer)
    n = len(kv["tokenizer.ggml.tokens"])
    extra = [
        (f"[PAD{n}]", 4),  # user-defined: what older converters wrote
        (f"[PAD{n + 1}]", 5),  # unused: what today's converter writes
        (f"[PAD{n + 5}]", 4),  # a user token named after another id
        (f"[PAD{n + 3}]", 3),  # a control token
        (f"[PAD{n + 4}]", 4),  # declared as the padding token below
    ]
    kv = _with_fillers(kv, extra)
    kv["tokenizer.ggml.padding_token_id"] = n + 4
    view = load_tokenizer(_write_gguf(tmp_path / "pad.gguf", kv))
    assert view.facts.gguf["padding_token_ids"] == [n, n + 1]
    assert view.kinds[n : n + 5] == [TokenKind.PADDING, TokenKind.PADDING] + [
        TokenKind.USER_DEFINED,
        TokenKind.CONTROL,
        TokenKind.USER_DEFINED,
    ]
    assert view.token_bytes[n] is None and view.token_bytes[n + 1] is None
    added = {a.id for a in view.added_tokens}
    assert n not in added and n + 1 not in added and {n + 2, n + 3, n + 4} <= added
    assert n not in view.encode(f"x [PAD{n}] y")  # a filler is not matched in text
    assert view.encode(f"[PAD{n + 5}]") == [n + 2]
    counts = analyze_vocabulary(view).paper_counts()
    assert counts["padding"] == 2


def test_padding_fillers_of_sentencepiece_vocabularies(tmp_path, spm_model):
    """Older converters typed SentencePiece fillers unknown: they must not become the unknown token."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    kv = _spm_kv(spm_model)
    n = len(kv["tokenizer.ggml.tokens"])
    kv = _with_fillers(kv, [(f"[PAD{n}]", 2), (f"[PAD{n + 1}]", 2)])
    view = load_tokenizer(_write_gguf(tmp_path / "spmpad.gguf", kv))
    assert view.kinds[n:] == [TokenKind.PADDING, TokenKind.PADDING]
    assert view.unk_id == sp.unk_id()
    assert view.facts.gguf["padding_token_ids"] == [n, n + 1]
    assert view.encode_batch(SAMPLES) == sp.encode(SAMPLES, out_type=int)


def test_gpt2_duplicate_and_unused_tokens_keep_every_id(tmp_path, bpe_tokenizer):
    kv = _bpe_kv(bpe_tokenizer)
    tokens = list(kv["tokenizer.ggml.tokens"]) + ["Ġthe", "[PAD401]"]  # a duplicate, an unused pad
    kv["tokenizer.ggml.tokens"] = tokens
    kv["tokenizer.ggml.token_type"] = list(kv["tokenizer.ggml.token_type"]) + [1, 5]
    view = load_tokenizer(_write_gguf(tmp_path / "dup.gguf", kv))
    assert view.vocab_size == len(tokens)
    assert view.pieces[-2:] == ["Ġthe", "[PAD401]"]
    assert view.kinds[-1] == TokenKind.UNUSED
    assert view.token_bytes[-2] == b" the"
    assert view.facts.gguf["duplicate_token_ids"] == [len(tokens) - 2]
    assert view.encode(" the") == [bpe_tokenizer.token_to_id("Ġthe")]


# --- llama / SentencePiece ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    import sentencepiece as spm

    folder = tmp_path_factory.mktemp("spm")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus()),
        model_prefix=str(folder / "sp"),
        vocab_size=360,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        user_defined_symbols=["<tool>"],
        minloglevel=2,
    )
    return folder / "sp.model"


def _spm_kv(model_path: Path) -> dict:
    from auditor.loaders.protobuf import parse_sentencepiece_model

    model = parse_sentencepiece_model(model_path.read_bytes())
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": [p for p, _, _ in model.pieces],
        "tokenizer.ggml.scores": [float(s) for _, s, _ in model.pieces],
        "tokenizer.ggml.token_type": [t for _, _, t in model.pieces],
        "tokenizer.ggml.add_space_prefix": True,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
    }


def test_llama_gguf_encodes_like_source_sentencepiece(tmp_path, spm_model):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    path = _write_gguf(tmp_path / "spm.gguf", _spm_kv(spm_model))
    view = load_tokenizer(path)

    assert view.format == "gguf"
    assert view.model_type == "bpe" and not view.byte_level
    assert view.vocab_size == sp.get_piece_size()
    assert view.pieces == [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert view.kinds[sp.unk_id()] == TokenKind.UNKNOWN and view.unk_id == sp.unk_id()
    assert view.kinds[sp.bos_id()] == TokenKind.CONTROL and view.kinds[sp.eos_id()] == TokenKind.CONTROL
    assert view.kinds[sp.piece_to_id("<tool>")] == TokenKind.USER_DEFINED
    byte_ids = [i for i, k in enumerate(view.kinds) if k == TokenKind.BYTE]
    assert len(byte_ids) == 256 and all(sp.is_byte(i) for i in byte_ids)
    assert view.token_bytes[sp.piece_to_id("<0x41>")] == b"A"
    assert view.facts.byte_fallback is True
    assert view.facts.gguf["model"] == "llama"

    texts = SAMPLES + ["call <tool> now"]
    expected = sp.encode(texts, out_type=int)
    got = view.encode_batch(texts)
    assert got == expected
    assert any(i in byte_ids for seq in got for i in seq)  # the byte fallback was exercised
    assert view.decode_batch(got) == sp.decode(expected)


def test_llama_gguf_without_space_prefix(tmp_path, spm_model):
    kv = _spm_kv(spm_model)
    kv["tokenizer.ggml.add_space_prefix"] = False
    view = load_tokenizer(_write_gguf(tmp_path / "noprefix.gguf", kv))
    assert view.facts.normalizer["add_dummy_prefix"] is False
    first = view.pieces[view.encode("hello")[0]]
    assert not first.startswith("▁")


def test_llama_gguf_sentencepiece_would_refuse(tmp_path, spm_model):
    """Duplicates, empty tokens and a missing unknown type are llama.cpp-loadable: so must they be here."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    kv = _spm_kv(spm_model)
    n = len(kv["tokenizer.ggml.tokens"])
    kv["tokenizer.ggml.tokens"] = list(kv["tokenizer.ggml.tokens"]) + ["▁the", ""]
    kv["tokenizer.ggml.scores"] = list(kv["tokenizer.ggml.scores"]) + [0.0, 0.0]
    types = list(kv["tokenizer.ggml.token_type"]) + [1, 1]
    types[0] = 3  # <unk> typed as control: no UNKNOWN token left
    kv["tokenizer.ggml.token_type"] = types
    view = load_tokenizer(_write_gguf(tmp_path / "odd.gguf", kv))
    assert view.vocab_size == n + 2
    assert view.pieces[n:] == ["▁the", f"[EMPTY_{n + 1}]"]
    assert view.kinds[0] == TokenKind.CONTROL and view.unk_id is None  # byte fallback: no unk needed
    assert view.facts.gguf["duplicate_token_ids"] == [n]
    assert view.facts.gguf["empty_token_ids"] == [n + 1]
    assert view.encode_batch(SAMPLES) == sp.encode(SAMPLES, out_type=int)


def test_llama_gguf_without_bytes_or_unknown_type(tmp_path):
    """Without byte fallback sentencepiece needs an unknown piece: llama.cpp's unknown id stands in."""
    tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab"]
    kv = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -0.5, -0.6, -0.4],
        "tokenizer.ggml.token_type": [3, 3, 3, 1, 1, 1, 1, 1, 1],
    }
    view = load_tokenizer(_write_gguf(tmp_path / "nobytes.gguf", kv))
    assert view.kinds[:3] == [TokenKind.CONTROL] * 3
    assert view.unk_id == 0 and view.facts.byte_fallback is False
    assert view.encode("ab a") == [8, 6]
    assert view.decode([8, 6]) == "ab a"


# --- bad inputs ---------------------------------------------------------------------------


def _tiny_bpe_kv(model: str = "gpt2") -> dict:
    from auditor.loaders.bytelevel import byte_to_char

    tokens = ["<|endoftext|>"] + [byte_to_char()[b] for b in range(256)] + ["Ġt", "he", "Ġthe"]
    return {
        "tokenizer.ggml.model": model,
        "tokenizer.ggml.pre": "gpt-2",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3] + [1] * (len(tokens) - 1),
        "tokenizer.ggml.merges": ["Ġ t", "h e", "Ġt he"],
    }


def test_tiny_gguf_loads(tmp_path):
    view = load_tokenizer(_write_gguf(tmp_path / "tiny.gguf", _tiny_bpe_kv()))
    assert view.encode(" the") == [259]
    assert view.vocab_size == 260


def test_llama3_names_ignore_merges(tmp_path):
    """llama.cpp emits a whole pre-tokenized word when it is a token (Llama 3), merges or not."""
    kv = _tiny_bpe_kv()
    kv["tokenizer.ggml.tokens"] = list(kv["tokenizer.ggml.tokens"]) + ["xyz"]  # no merges lead to it
    kv["tokenizer.ggml.token_type"] = list(kv["tokenizer.ggml.token_type"]) + [1]
    x, y, z = (1 + ord(c) for c in "xyz")
    gpt2 = load_tokenizer(_write_gguf(tmp_path / "gpt2.gguf", kv))
    assert gpt2.encode("xyz") == [x, y, z]
    kv["tokenizer.ggml.pre"] = "llama-bpe"
    llama3 = load_tokenizer(_write_gguf(tmp_path / "llama3.gguf", kv))
    assert llama3.encode("xyz") == [260]
    assert llama3.facts.gguf["ignore_merges"] is True


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.9, "last-byte", "header"])
def test_truncated_gguf_is_an_input_error(tmp_path, fraction):
    full = _write_gguf(tmp_path / "full.gguf", _tiny_bpe_kv()).read_bytes()
    if fraction == "last-byte":
        cut = len(full) - 1
    elif fraction == "header":
        cut = 10
    else:
        cut = int(len(full) * fraction)
    path = tmp_path / "cut.gguf"
    path.write_bytes(full[:cut])
    with pytest.raises(InputError) as exc:
        load_tokenizer(path)
    assert str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_gguf_without_tokenizer_keys(tmp_path):
    path = _write_gguf(tmp_path / "weights.gguf", {"general.name": "no vocab here", "llama.context_length": 128})
    with pytest.raises(InputError) as exc:
        load_tokenizer(path)
    assert str(path) in str(exc.value)
    assert "no tokenizer vocabulary" in str(exc.value)


def test_unsupported_tokenizer_model(tmp_path):
    path = _write_gguf(tmp_path / "rwkv.gguf", _tiny_bpe_kv(model="rwkv"))
    with pytest.raises(InputError) as exc:
        load_tokenizer(path)
    assert str(path) in str(exc.value)
    assert "'rwkv'" in str(exc.value) and "unsupported" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_bad_version_and_short_arrays(tmp_path):
    path = tmp_path / "v99.gguf"
    path.write_bytes(b"GGUF" + (99).to_bytes(4, "little") + bytes(16))
    with pytest.raises(InputError) as exc:
        load_tokenizer(path)
    assert str(path) in str(exc.value)

    kv = _tiny_bpe_kv()
    kv["tokenizer.ggml.token_type"] = [1, 1, 1]
    path = _write_gguf(tmp_path / "short.gguf", kv)
    with pytest.raises(InputError, match="token_type has 3 entries"):
        load_tokenizer(path)


def test_missing_gguf_package(tmp_path, monkeypatch):
    path = _write_gguf(tmp_path / "tiny.gguf", _tiny_bpe_kv())
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf now raises ImportError
    monkeypatch.delitem(sys.modules, "auditor.loaders.gguf_file", raising=False)
    module = importlib.import_module("auditor.loaders.gguf_file")  # imports without gguf
    with pytest.raises(MissingExtraError, match="gguf"):
        module.load_gguf(path)


# --- a real model ------------------------------------------------------------------------


@pytest.mark.real
def test_real_smollm2_gguf():
    """$TOKAUDIT_REAL_MATERIAL/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf (metadata only)."""
    view = load_tokenizer(real_file("smollm2"))
    assert view.vocab_size == 49152
    assert view.byte_level
    ids = view.encode("Hello world")
    assert len(ids) == 2
    assert view.decode(ids) == "Hello world"
    assert view.facts.gguf["pre"] == "smollm"
    assert view.facts.pre_tokenizer_fallback is False
    assert view.kinds[view.pieces.index("<|im_start|>")] == TokenKind.CONTROL
    assert view.encode("2024") == [view.pieces.index(d) for d in "2024"]  # smollm splits digits


# --- bert (WordPiece) and gemma4 ------------------------------------------------------------


@pytest.fixture(scope="module")
def wordpiece_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    return tok


def _bert_kv(tok) -> dict:
    """What llama.cpp's converter writes: "▁" before word-initial pieces, "##" dropped, controls as they are."""
    n = tok.get_vocab_size()
    pieces = [tok.id_to_token(i) for i in range(n)]
    special = {tok.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    tokens = [p if i in special else p[2:] if p.startswith("##") else "▁" + p for i, p in enumerate(pieces)]
    return {
        "tokenizer.ggml.model": "bert",
        "tokenizer.ggml.pre": "default",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3 if i in special else 1 for i in range(n)],
        "tokenizer.ggml.unknown_token_id": tok.token_to_id("[UNK]"),
        "tokenizer.ggml.seperator_token_id": tok.token_to_id("[SEP]"),
        "tokenizer.ggml.padding_token_id": tok.token_to_id("[PAD]"),
    }


def test_bert_gguf_encodes_like_source_wordpiece(tmp_path, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    view = load_tokenizer(_write_gguf(tmp_path / "bert.gguf", _bert_kv(tok)))
    n = tok.get_vocab_size()
    assert view.model_type == "wordpiece" and view.continuation_prefix == "##"
    assert view.pieces == [tok.id_to_token(i) for i in range(n)]  # the source's spelling
    assert view.unk_id == tok.token_to_id("[UNK]") and view.kinds[view.unk_id] == TokenKind.UNKNOWN
    assert view.kinds[tok.token_to_id("[CLS]")] == TokenKind.CONTROL
    texts = [s for s in SAMPLES if "日本" not in s] + ["Don't PARSE the café", "tokaudit!!"]
    assert view.encode_batch(texts) == [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    ids = view.encode("Hello World")
    assert view.decode(ids) == "hello world"
    assert view.facts.gguf["model"] == "bert" and view.facts.gguf["normalizer_lowercase"] is True


def test_bert_gguf_normalises_as_llama_cpp(tmp_path, wordpiece_tokenizer):
    """llama.cpp's NFD keeps one code point: a Hangul syllable becomes its leading jamo, and every mark is an accent."""
    kv = _bert_kv(wordpiece_tokenizer)
    kv["tokenizer.ggml.tokens"] = list(kv["tokenizer.ggml.tokens"]) + ["▁ᄒ", "▁한", "▁क", "ि"]
    kv["tokenizer.ggml.token_type"] = list(kv["tokenizer.ggml.token_type"]) + [1, 1, 1, 1]
    n = len(kv["tokenizer.ggml.tokens"])
    view = load_tokenizer(_write_gguf(tmp_path / "bert.gguf", kv))
    assert view.encode("한") == [n - 4]
    assert view.encode("कि") == [n - 2]  # the vowel sign (a spacing mark) is stripped
    kv["tokenizer.ggml.normalizer.lowercase"] = False
    cased = load_tokenizer(_write_gguf(tmp_path / "cased.gguf", kv))
    assert cased.encode("한") == [n - 3] and cased.encode("कि") == [n - 2, n - 1]
    assert cased.facts.gguf["normalizer_strip_accents"] is False


def _gemma_kv() -> dict:
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<start>"] + [f"<0x{b:02X}>" for b in range(256)]
    words = ["▁", "a", "b", "▁a", "ab", "▁ab", "\n", "\n\n", "é"]
    tokens += words
    types = [3, 3, 3, 3, 4] + [6] * 256 + [1] * len(words)
    return {
        "tokenizer.ggml.model": "gemma4",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.scores": [0.0] * len(tokens),
        "tokenizer.ggml.merges": ["▁ a", "a b", "▁a b", "\n \n"],
        "tokenizer.ggml.bos_token_id": 2,
        "tokenizer.ggml.eos_token_id": 1,
        "tokenizer.ggml.unknown_token_id": 3,
    }


def test_gemma4_gguf_is_raw_utf8_bpe_with_byte_fallback(tmp_path):
    kv = _gemma_kv()
    view = load_tokenizer(_write_gguf(tmp_path / "gemma.gguf", kv))
    ids = {t: i for i, t in enumerate(kv["tokenizer.ggml.tokens"])}
    assert not view.byte_level and view.facts.gguf["pre_tokenizer_family"] == "gemma4"
    assert view.encode("ab a\n\nb") == [ids["ab"], ids["▁a"], ids["\n\n"], ids["b"]]
    assert view.encode("ü") == [ids["<0xC3>"], ids["<0xBC>"]]  # no token: its UTF-8 bytes
    assert view.encode("é <start>") == [ids["é"], ids["▁"], ids["<start>"]]
    assert view.kinds[ids["<0xC3>"]] == TokenKind.BYTE and view.token_bytes[ids["<0xC3>"]] == b"\xc3"
    assert view.token_bytes[ids["▁ab"]] == b" ab"
    assert view.decode(view.encode("ab a\n\nbü")) == "ab a\n\nbü"


# --- the ggml-vocab files of llama.cpp --------------------------------------------------------


@functools.cache
def _real_vocab(name: str):
    from auditor.analyses.vocabulary import analyze_vocabulary

    view = load_tokenizer(real_path(f"gguf_vocab/ggml-vocab-{name}.gguf"))
    return view, analyze_vocabulary(view).paper_counts()


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deepseek-coder", {"unreachable": 53, "padding": 234}),
        ("command-r", {"special": 37, "padding": 971}),
        ("phi-3", {"padding": 53, "unreachable": 0}),
        ("gpt-2", {"single_byte": 256, "unreachable": 0, "partial_utf8": 216, "special": 1}),
    ],
)
def test_real_ggml_vocab_counts(name, expected):
    view, counts = _real_vocab(name)
    assert {k: counts.get(k, 0) for k in expected} == expected
    assert len(view.facts.gguf["padding_token_ids"]) == expected.get("padding", 0)
    assert view.warnings == []


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "text", "decoded"),
    [
        ("bert-bge", "Hello World, naïve café!", "hello world, naive cafe!"),
        ("gemma-4", "Hello World,\n\n  naïve café! 日本語", "Hello World,\n\n  naïve café! 日本語"),
    ],
)
def test_real_bert_and_gemma4_vocabularies_round_trip(name, text, decoded):
    view = load_tokenizer(real_path(f"gguf_vocab/ggml-vocab-{name}.gguf"))
    ids = view.encode(text)
    assert ids and view.unk_id not in ids
    assert view.decode(ids) == decoded
