"""Loaders: format detection from content, and the TokenizerView each format gives."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from auditor.core import TokenKind, UserError
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import LoadOptions, load_tokenizer
from auditor.loaders.tiktoken_file import parse_special
from tests.conftest import real_file

TEXTS = ["hello world", " hello", "Hello, World!\n", "naïve café ☃ 日本語", "", "  two  spaces"]
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


# --- builders -------------------------------------------------------------------------------


def _bl_spec() -> dict:
    return byte_level_bpe(
        ["hello", " hello", " world"],
        added=[{"content": "<|end|>", "special": True}, {"content": "<tag>", "special": False}],
    )


def _rank_lines(tokens: list[bytes], start: int = 0) -> list[str]:
    return [f"{base64.b64encode(t).decode()} {start + k}" for k, t in enumerate(tokens)]


def _rank_file(path: Path, merges: list[bytes] = (b" t", b" th", b" the", b"he", b"ll")) -> Path:
    """256 single bytes (ranks 0..255) then the merges, in order."""
    lines = _rank_lines([bytes([b]) for b in range(256)]) + _rank_lines(list(merges), 256)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def _corpus(path: Path) -> Path:
    rnd = random.Random(0)
    words = (
        "the quick brown fox jumps over lazy dog hello world tokenizer model training data "
        "sentence piece byte fallback unigram merge rank vocabulary special token language "
        "piece pieces running jumped jumping quickly slowly 2024 42 naïve café"
    ).split()
    lines = [" ".join(rnd.choice(words) for _ in range(rnd.randint(4, 14))) for _ in range(1500)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _train_sp(tmp_path: Path, name: str, **kwargs) -> Path:
    spm = pytest.importorskip("sentencepiece")
    corpus = _corpus(tmp_path / "corpus.txt")
    prefix = tmp_path / name
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
        hard_vocab_limit=False,
        **kwargs,
    )
    return prefix.with_suffix(".model")


# --- detection by content -------------------------------------------------------------------


def test_tokenizer_json_named_bin(write_tokenizer, tmp_path):
    path = tmp_path / "foo.bin"
    path.write_text(json.dumps(_bl_spec()), encoding="utf-8")
    view = load_tokenizer(path)
    assert view.format == "tokenizer.json"
    assert view.model_type == "bpe"


def test_tokenizer_json_with_bom(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_bl_spec()).encode("utf-8"))
    assert load_tokenizer(path).format == "tokenizer.json"


def test_sentencepiece_named_json(write_tokenizer):
    path = write_tokenizer(sentencepiece_bpe(["hello", "world"]), name="x.json")
    view = load_tokenizer(path)
    assert view.format == "sentencepiece"
    assert view.pieces[:3] == ["<unk>", "<s>", "</s>"]


def test_tiktoken_named_tokenizer_model(tmp_path):
    path = _rank_file(tmp_path / "tokenizer.model")
    view = load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN))
    assert view.format == "tiktoken"
    assert view.token_bytes[258] == b" the"


# --- tokenizer.json -------------------------------------------------------------------------


def test_byte_level_tokenizer_json(write_tokenizer):
    spec = _bl_spec()
    view = load_tokenizer(write_tokenizer(spec))
    vocab = spec["model"]["vocab"]
    end_id, tag_id = len(vocab), len(vocab) + 1
    assert view.byte_level is True
    assert view.vocab_size == len(vocab) + 2
    hello = vocab["Ġhello"]
    assert view.pieces[hello] == "Ġhello"
    assert view.token_bytes[hello] == b" hello"
    assert view.token_bytes[vocab["Ċ"]] == b"\n"
    assert view.token_bytes[vocab["Ġ"]] == b" "
    # every byte has its single-byte token
    assert sorted(tb for tb in view.token_bytes[:256]) == [bytes([b]) for b in range(256)]
    assert view.kinds[hello] == TokenKind.NORMAL
    assert view.kinds[end_id] == TokenKind.CONTROL and view.token_bytes[end_id] is None
    assert view.kinds[tag_id] == TokenKind.USER_DEFINED and view.token_bytes[tag_id] == b"<tag>"
    assert [(a.content, a.special) for a in view.added_tokens] == [("<|end|>", True), ("<tag>", False)]
    assert view.is_special(end_id) and not view.is_special(tag_id)

    merges = view.bpe_merges()
    assert len(merges) == len(spec["model"]["merges"])
    for (left, right), (a, b, c) in zip(spec["model"]["merges"], merges):
        assert (a, b, c) == (vocab[left], vocab[right], vocab[left + right])
        assert view.token_bytes[a] + view.token_bytes[b] == view.token_bytes[c]

    ids = view.encode_batch(TEXTS)
    assert view.decode_batch(ids) == TEXTS
    assert view.encode(" world") == [vocab["Ġworld"]]
    assert view.encode("hello<|end|><tag>") == [vocab["hello"], end_id, tag_id]
    assert view.describe()["format"] == "tokenizer.json"


def _metaspace_llama_style(tok) -> None:
    from tokenizers import decoders, normalizers

    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )


def _metaspace_pretokenizer(tok) -> None:
    from tokenizers import decoders, pre_tokenizers

    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])


@pytest.mark.parametrize("style", [_metaspace_llama_style, _metaspace_pretokenizer], ids=["llama", "metaspace"])
def test_byte_fallback_metaspace_tokenizer_json(tmp_path, style):
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import BPE

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    merges = [
        ("h", "e"),
        ("l", "l"),
        ("ll", "o"),
        ("he", "llo"),
        ("▁", "hello"),
        ("▁", "w"),
        ("o", "r"),
        ("▁w", "or"),
        ("▁wor", "l"),
        ("▁worl", "d"),
    ]
    for piece in ["▁", "h", "e", "l", "o", "w", "r", "d"] + [a + b for a, b in merges]:
        vocab[piece] = len(vocab)
    tok = Tokenizer(BPE(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    style(tok)
    tok.add_special_tokens([AddedToken("<s>", special=True), AddedToken("</s>", special=True)])
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str(), encoding="utf-8")

    view = load_tokenizer(path)
    assert view.facts.byte_fallback is True and view.facts.metaspace is True
    assert not view.byte_level
    assert view.kinds[0] == TokenKind.UNKNOWN and view.unk_id == 0
    assert view.kinds[1] == view.kinds[2] == TokenKind.CONTROL
    for b in (0x00, 0x0A, 0x41, 0xE2, 0xFF):
        tid = vocab[f"<0x{b:02X}>"]
        assert view.kinds[tid] == TokenKind.BYTE
        assert view.token_bytes[tid] == bytes([b])
    assert view.token_bytes[vocab["▁hello"]] == b" hello"
    assert view.token_bytes[vocab["▁"]] == b" "
    assert view.token_bytes[vocab["hello"]] == b"hello"
    assert view.kinds[vocab["▁hello"]] == TokenKind.NORMAL
    assert view.encode("hello") == [vocab["▁hello"]]
    # a character outside the vocabulary falls back to its UTF-8 bytes
    assert view.encode("hello☃")[1:] == [vocab[f"<0x{b:02X}>"] for b in "☃".encode()]
    assert view.decode(view.encode("hello world☃")) == "hello world☃"


def test_wordpiece_tokenizer_json(tmp_path):
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordPiece

    vocab = {"[UNK]": 0, "[CLS]": 1, "play": 2, "##ing": 3, "##ed": 4, "run": 5, "##s": 6, "##n": 7, "n": 8}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.add_special_tokens(["[CLS]"])
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str(), encoding="utf-8")

    view = load_tokenizer(path)
    assert view.model_type == "wordpiece"
    assert view.continuation_prefix == "##"
    assert view.token_bytes[vocab["##ing"]] == b"ing"
    assert view.token_bytes[vocab["play"]] == b"play"
    assert view.pieces[vocab["##ing"]] == "##ing"
    assert view.kinds[vocab["[UNK]"]] == TokenKind.UNKNOWN and view.unk_id == 0
    assert view.kinds[vocab["[CLS]"]] == TokenKind.CONTROL
    assert view.merges is None and view.bpe_merges() is None
    assert view.encode_batch(["playing runs", "zzz"]) == [[2, 3, 5, 6], [0]]


# --- SentencePiece --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sp_models(tmp_path_factory):
    """Three models trained once: BPE with byte fallback, unigram without, BPE with user symbols."""
    root = tmp_path_factory.mktemp("sp")
    return {
        "bpe": _train_sp(root, "bpe", model_type="bpe", vocab_size=400, byte_fallback=True),
        "unigram": _train_sp(
            root, "uni", model_type="unigram", vocab_size=200, add_dummy_prefix=False, remove_extra_whitespaces=False
        ),
        "user": _train_sp(root, "user", model_type="bpe", vocab_size=200, user_defined_symbols=["<sep>", "@@"]),
    }


def _check_against_sentencepiece(view, model_path: Path) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    assert view.vocab_size == sp.get_piece_size()
    assert view.pieces == [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert view.unk_id == sp.unk_id() == 0
    texts = TEXTS + ["the quick brown fox", "jumping 2024 Ω"]
    assert view.encode_batch(texts) == [sp.encode(t) for t in texts]
    for i in range(sp.get_piece_size()):
        expected = (
            TokenKind.UNKNOWN
            if sp.is_unknown(i)
            else TokenKind.CONTROL
            if sp.is_control(i)
            else TokenKind.BYTE
            if sp.is_byte(i)
            else view.kinds[i]
        )
        assert view.kinds[i] == expected, (i, sp.id_to_piece(i))


def test_sentencepiece_bpe_byte_fallback(sp_models):
    path = sp_models["bpe"]
    view = load_tokenizer(path)
    assert view.format == "sentencepiece" and view.model_type == "bpe"
    assert view.facts.byte_fallback is True
    assert view.facts.normalizer["add_dummy_prefix"] is True
    assert view.facts.normalizer["remove_extra_whitespaces"] is True
    assert view.kinds[:3] == [TokenKind.UNKNOWN, TokenKind.CONTROL, TokenKind.CONTROL]
    assert view.token_bytes[0] is None and view.token_bytes[1] is None
    byte_ids = [i for i, k in enumerate(view.kinds) if k == TokenKind.BYTE]
    assert len(byte_ids) == 256
    assert sorted(view.token_bytes[i] for i in byte_ids) == [bytes([b]) for b in range(256)]
    assert view.pieces[byte_ids[0x41]] == "<0x41>" and view.token_bytes[byte_ids[0x41]] == b"A"
    normal = [i for i, k in enumerate(view.kinds) if k == TokenKind.NORMAL]
    assert normal and all(view.token_bytes[i] == view.pieces[i].replace("▁", " ").encode() for i in normal)
    assert any(view.pieces[i].startswith("▁") for i in normal)
    _check_against_sentencepiece(view, path)
    # characters the model has not seen become bytes, and decode back
    assert view.decode(view.encode("hello ☃")) == "hello ☃"


def test_sentencepiece_unigram_without_fallback(sp_models):
    path = sp_models["unigram"]
    view = load_tokenizer(path)
    assert view.model_type == "unigram"
    assert view.facts.byte_fallback is False
    assert view.facts.normalizer["add_dummy_prefix"] is False
    assert view.facts.normalizer["remove_extra_whitespaces"] is False
    assert TokenKind.BYTE not in view.kinds
    assert view.kinds[0] == TokenKind.UNKNOWN and view.kinds[1] == view.kinds[2] == TokenKind.CONTROL
    assert all(k == TokenKind.NORMAL for k in view.kinds[3:])
    _check_against_sentencepiece(view, path)
    assert 0 in view.encode("☃")  # unseen character: <unk>


def test_sentencepiece_user_defined_symbols(sp_models):
    path = sp_models["user"]
    view = load_tokenizer(path)
    sep, at = view.pieces.index("<sep>"), view.pieces.index("@@")
    assert view.kinds[sep] == view.kinds[at] == TokenKind.USER_DEFINED
    assert view.token_bytes[sep] == b"<sep>"
    assert not view.is_special(sep)
    _check_against_sentencepiece(view, path)
    assert sep in view.encode("hello<sep>world")


# --- tiktoken -------------------------------------------------------------------------------


def test_tiktoken_with_pattern_and_special(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    view = load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN, specials={"<|end|>": 300}))
    assert view.format == "tiktoken" and view.byte_level and view.model_type == "bpe"
    assert view.vocab_size == 301
    assert view.kinds[300] == TokenKind.CONTROL and view.pieces[300] == "<|end|>" and view.token_bytes[300] is None
    assert view.kinds[0x41] == TokenKind.NORMAL and view.token_bytes[0x41] == b"A"
    assert view.pieces[ord(" ")] == "Ġ"
    assert view.token_bytes[258] == b" the" and view.pieces[258] == "Ġthe"
    assert all(k == TokenKind.UNUSED for k in view.kinds[261:300])
    assert view.facts.tiktoken_preset is None and view.facts.tiktoken_specials == {"<|end|>": 300}
    assert view.encode(" the") == [258]
    assert view.decode_batch(view.encode_batch(TEXTS)) == TEXTS
    # merges recovered from the ranks: " t" = " " + "t", " th" = " t" + "h", ...
    assert view.bpe_merges() == [(32, 116, 256), (256, 104, 257), (257, 101, 258), (104, 101, 259), (108, 108, 260)]


def test_tiktoken_preset_by_name(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    # the preset gives pattern and specials; the specials' ids lie far above these ranks
    view = load_tokenizer(path, LoadOptions(preset="r50k_base"))
    assert view.facts.tiktoken_preset == "r50k_base"
    assert view.kinds[50256] == TokenKind.CONTROL


def test_tiktoken_without_preset_or_pattern(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    with pytest.raises(UserError, match="--preset") as err:
        load_tokenizer(path)
    assert "small.tiktoken" in str(err.value) and "261 ranks" in str(err.value)


def test_tiktoken_unknown_preset(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    with pytest.raises(UserError, match="nope"):
        load_tokenizer(path, LoadOptions(preset="nope"))


def test_tiktoken_special_collides_with_rank(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    with pytest.raises(UserError, match="already a rank"):
        load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN, specials={"<|end|>": 258}))


def test_tiktoken_two_specials_one_id(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    with pytest.raises(UserError, match="300"):
        load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN, specials={"<|a|>": 300, "<|b|>": 300}))


def test_tiktoken_bad_pattern(tmp_path):
    path = _rank_file(tmp_path / "small.tiktoken")
    with pytest.raises(UserError, match="--pattern"):
        load_tokenizer(path, LoadOptions(pattern="("))


@pytest.mark.parametrize(
    ("merges", "problem"),
    [
        ([b" t", b" t"], "appear twice"),
        ([b" t", b" th"], None),
    ],
    ids=["duplicate-bytes", "fine"],
)
def test_tiktoken_rank_file_checks(tmp_path, merges, problem):
    path = _rank_file(tmp_path / "r.tiktoken", merges)
    if problem is None:
        assert load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN)).vocab_size == 258
    else:
        with pytest.raises(UserError, match=problem):
            load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN))


def test_parse_special():
    assert parse_special("<|x|>=5") == ("<|x|>", 5)
    assert parse_special("a=b=7") == ("a=b", 7)  # the last '=' separates the id


@pytest.mark.parametrize("spec", ["<|x|>", "<|x|>=", "=5", "<|x|>=five", "<|x|>=-1", ""])
def test_parse_special_bad(spec):
    with pytest.raises(UserError, match="TOKEN=ID"):
        parse_special(spec)


@pytest.mark.real
def test_real_r50k_guesses_preset():
    view = load_tokenizer(real_file("gpt2"))
    assert view.format == "tiktoken"
    assert view.facts.tiktoken_preset == "r50k_base"
    assert view.vocab_size == 50257
    assert view.pieces[50256] == "<|endoftext|>" and view.kinds[50256] == TokenKind.CONTROL
    assert view.encode(" hello world") == [23748, 995]


# --- HF folders -----------------------------------------------------------------------------


def test_folder_with_tokenizer_json(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(_bl_spec()), encoding="utf-8")
    (folder / "vocab.json").write_text("{}", encoding="utf-8")  # tokenizer.json wins over slow files
    view = load_tokenizer(folder)
    assert view.format == "tokenizer.json"
    assert view.path == str(folder / "tokenizer.json")


def test_folder_with_slow_files_only(tmp_path):
    pytest.importorskip("transformers")
    spec = byte_level_bpe(["hello", " hello", " world", " wor"])
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(spec["model"]["vocab"], ensure_ascii=False), encoding="utf-8")
    merges = "\n".join(f"{a} {b}" for a, b in spec["model"]["merges"])
    (folder / "merges.txt").write_text("#version: 0.2\n" + merges + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer"}), encoding="utf-8")

    view = load_tokenizer(folder)
    assert view.format == "hf-folder"
    assert view.byte_level is True
    vocab = spec["model"]["vocab"]
    assert view.pieces[vocab["Ġhello"]] == "Ġhello"
    assert view.token_bytes[vocab["Ġhello"]] == b" hello"

    original = tmp_path / "tokenizer.json"
    original.write_text(json.dumps(spec), encoding="utf-8")
    reference = load_tokenizer(original)
    texts = ["hello world", " hello  world", "world hello!", "héllo ☃"]
    assert view.encode_batch(texts) == reference.encode_batch(texts)
    assert view.decode_batch(view.encode_batch(texts)) == texts


def test_folder_with_two_rank_files(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    _rank_file(folder / "a.tiktoken")
    _rank_file(folder / "b.tiktoken")
    with pytest.raises(UserError, match="name the one") as err:
        load_tokenizer(folder, LoadOptions(pattern=GPT2_PATTERN))
    assert str(folder) in str(err.value)


def test_folder_with_one_rank_file(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    _rank_file(folder / "a.tiktoken")
    assert load_tokenizer(folder, LoadOptions(pattern=GPT2_PATTERN)).format == "tiktoken"


def test_slow_wordpiece_folder_is_analysed_like_its_tokenizer_json(tmp_path):
    """A folder with only vocab.txt: transformers converts it to a tokenizers pipeline,
    which keeps the WordPiece prefix, so "##ing" is analysed inside a word."""
    from auditor.analyses.vocabulary import analyze_vocabulary

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "play", "un", "q", "!", "##ing", "##s", "##!", "a", "b"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer", "do_lower_case": true}')
    view = load_tokenizer(tmp_path)
    assert view.format == "hf-folder"
    assert "converted by transformers" in view.implementation
    assert view.continuation_prefix == "##"
    result = analyze_vocabulary(view)
    assert result.categories[vocab.index("##ing")].reachable
    assert result.categories[vocab.index("##!")].unreachable


def test_tiktoken_presets_use_tiktoken_s_own_patterns():
    """The preset regexes must be the ones tiktoken ships (read from its source here)."""
    import inspect
    import re as _re

    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    from auditor.loaders.tiktoken_file import PRESETS

    source = inspect.getsource(openai_public)
    assert PRESETS["r50k_base"].pattern == openai_public.r50k_pat_str
    assert PRESETS["p50k_base"].pattern == openai_public.r50k_pat_str
    cl100k = _re.search(r'def cl100k_base\(\):.*?"pat_str": r"""(.*?)"""', source, _re.S)
    assert cl100k and PRESETS["cl100k_base"].pattern == cl100k.group(1)
    o200k = _re.search(r"def o200k_base\(\):.*?pat_str = \"\|\"\.join\(\s*\[(.*?)\]\s*\)", source, _re.S)
    parts = _re.findall(r'r"""(.*?)"""', o200k.group(1))
    assert PRESETS["o200k_base"].pattern == "|".join(parts)


@pytest.mark.real
def test_special_option_adds_to_the_guessed_preset():
    from tests.conftest import real_file

    view = load_tokenizer(real_file("gpt2"), LoadOptions(specials={"<|im_start|>": 50257}))
    assert view.pieces[50256] == "<|endoftext|>" and view.pieces[50257] == "<|im_start|>"
    assert view.kinds[50257] == TokenKind.CONTROL
    assert any("guessed" in n for n in view.notes)


def test_tiktoken_file_without_the_bytes_utf8_never_uses_loads(tmp_path):
    """0xC0, 0xC1 and 0xF5-0xFF cannot occur in text, so their absence is no reason to refuse."""
    never = {0xC0, 0xC1, *range(0xF5, 0x100)}
    lines = _rank_lines([bytes([b]) for b in range(256) if b not in never])
    path = tmp_path / "partial.tiktoken"
    path.write_text("\n".join(lines) + "\n")
    view = load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN))
    assert view.encode("héllo 🙂") and view.decode(view.encode("héllo 🙂")) == "héllo 🙂"


@pytest.mark.real
def test_tiktoken_merges_reproduce_tiktoken_encoding():
    """The merges recovered from a rank file, applied as classic BPE (lowest-rank pair
    first), encode like tiktoken itself: the merge trees the corpus scan counts are real."""
    import regex
    import tiktoken

    from auditor.loaders.tiktoken_file import PRESETS, _merges_from_ranks, parse_ranks
    from tests.conftest import real_file

    path = real_file("gpt2")
    ranks = parse_ranks(path, path.read_bytes())
    pair_rank = {(a, b): r for a, b, r in _merges_from_ranks(ranks)}
    enc = tiktoken.Encoding("r50k", pat_str=PRESETS["r50k_base"].pattern, mergeable_ranks=ranks, special_tokens={})

    def classic_bpe(chunk: bytes) -> list[int]:
        parts = [ranks[chunk[i : i + 1]] for i in range(len(chunk))]
        while True:
            best = min(((pair_rank[p], i) for i, p in enumerate(zip(parts, parts[1:])) if p in pair_rank), default=None)
            if best is None:
                return parts
            parts[best[1] : best[1] + 2] = [best[0]]

    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text += " SolidGoldMagikarp PsyNetMessage externalToEVA 3333+777 déjà-vu 日本語 😀👍🏽\r\n\t  x"
    chunks = regex.findall(PRESETS["r50k_base"].pattern, text)
    assert len(chunks) > 500
    assert [c for c in chunks if classic_bpe(c.encode()) != enc.encode_ordinary(c)] == []
