"""tiktoken rank files: presets (patterns, specials, normalisers), the empty token, real files."""

from __future__ import annotations

import base64
import unicodedata
from pathlib import Path

import pytest

from auditor.analyses.vocabulary import analyze_vocabulary
from auditor.core import TokenKind, UserError
from auditor.loaders import LoadOptions, load_tokenizer
from auditor.loaders.tiktoken_file import NORMALIZE_CHOICES, PRESETS
from tests.conftest import real_path

GPT2_PATTERN = PRESETS["r50k_base"].pattern
OXIA = "\u1f77"  # GREEK SMALL LETTER IOTA WITH OXIA: not NFC, which makes it U+03AF (with TONOS)
TONOS = "\u03af"


def _rank_file(path: Path, merges: list[bytes], extra: list[str] = ()) -> Path:
    """256 single bytes (ranks 0..255), the merges after them, then raw extra lines."""
    tokens = [bytes([b]) for b in range(256)] + merges
    lines = [f"{base64.b64encode(t).decode()} {k}" for k, t in enumerate(tokens)] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def _accent_file(tmp_path: Path) -> Path:
    # 256: TONOS, 257: the first two bytes of OXIA, 258: OXIA
    return _rank_file(tmp_path / "accent.tiktoken", [TONOS.encode(), OXIA.encode()[:2], OXIA.encode()])


# --- presets against tiktoken's own definitions ------------------------------------------


@pytest.mark.parametrize("name", ["r50k_base", "p50k_base", "cl100k_base", "o200k_base"])
def test_preset_matches_tiktoken_openai_public(name, monkeypatch):
    """Pattern and special tokens as tiktoken_ext.openai_public defines them (its rank files
    are not fetched: the loader it calls is replaced)."""
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *args, **kwargs: {})
    spec = getattr(openai_public, name)()
    assert PRESETS[name].pattern == spec["pat_str"]
    assert PRESETS[name].specials == spec["special_tokens"]


def test_llama4_pattern_is_o200k(monkeypatch):
    """llama-models' Llama 4 tokenizer uses o200k's pattern, written out in one string."""
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *args, **kwargs: {})
    assert PRESETS["llama4"].pattern == openai_public.o200k_base()["pat_str"]


def test_preset_special_tables():
    llama4 = PRESETS["llama4"].specials
    assert len(llama4) == len(set(llama4.values())) == 2048
    assert sorted(llama4.values()) == list(range(200000, 202048))
    assert llama4["<|begin_of_text|>"] == 200000 and llama4["<|header_start|>"] == 200005
    assert llama4["<|eot|>"] == 200008 and llama4["<|finetune_right_pad|>"] == 200018
    assert llama4["<|image_start|>"] == 200080 and llama4["<|patch|>"] == 200092
    assert llama4["<|reasoning_thinking_end|>"] == 201143 and llama4["<|reserved_special_token_903|>"] == 202047

    whisper = PRESETS["whisper"].specials
    assert sorted(whisper.values()) == list(range(50257, 51865))
    assert whisper["<|startoftranscript|>"] == 50258 and whisper["<|en|>"] == 50259 and whisper["<|su|>"] == 50357
    assert whisper["<|notimestamps|>"] == 50363 and whisper["<|0.00|>"] == 50364 and whisper["<|30.00|>"] == 51864
    assert "<|yue|>" not in whisper
    v3 = PRESETS["whisper_large_v3"].specials
    assert v3["<|yue|>"] == 50358 and v3["<|0.00|>"] == 50365 and len(v3) == 1609

    qwen = PRESETS["qwen"]
    assert qwen.normalize == "nfc" and qwen.n_ranks == 151643
    assert qwen.specials["<|endoftext|>"] == 151643 and qwen.specials["<|im_end|>"] == 151645
    assert qwen.specials["<|extra_204|>"] == 151850 and len(qwen.specials) == 208


def test_rank_counts_guess_one_preset_each():
    counts = [p.n_ranks for p in PRESETS.values() if p.n_ranks is not None]
    assert len(counts) == len(set(counts))


# --- normalisation -----------------------------------------------------------------------


def test_normalize_nfc_applies_before_encoding(tmp_path):
    view = load_tokenizer(_accent_file(tmp_path), LoadOptions(pattern=GPT2_PATTERN, normalize="nfc"))
    assert view.encode(OXIA) == [256]
    assert view.normalize(OXIA) == TONOS
    assert view.facts.normalizer == {"type": "NFC"}
    assert view.facts.identity()["normalizer"] == {"type": "NFC"}
    vocab = analyze_vocabulary(view)
    assert vocab.categories[258].unreachable
    assert vocab.causes[258].code == "normalizer"
    assert vocab.categories[256].reachable


def test_no_normalizer_by_default(tmp_path):
    view = load_tokenizer(_accent_file(tmp_path), LoadOptions(pattern=GPT2_PATTERN))
    assert view.encode(OXIA) == [258]
    assert view.normalize(OXIA) == OXIA
    assert "normalizer" not in view.facts.identity()


@pytest.mark.parametrize("form", ["nfkc", "nfd", "nfkd", "NFKC"])
def test_normalize_forms(tmp_path, form):
    view = load_tokenizer(_accent_file(tmp_path), LoadOptions(pattern=GPT2_PATTERN, normalize=form))
    assert view.normalize("é\ufb01") == unicodedata.normalize(form.upper(), "é\ufb01")
    assert view.facts.normalizer == {"type": form.upper()}


def test_normalize_option_overrides_the_preset(tmp_path):
    path = _accent_file(tmp_path)
    preset = load_tokenizer(path, LoadOptions(preset="qwen"))
    assert preset.facts.normalizer == {"type": "NFC"} and preset.encode(OXIA) == [256]
    assert any("NFC" in note for note in preset.notes)
    off = load_tokenizer(path, LoadOptions(preset="qwen", normalize="none"))
    assert off.encode(OXIA) == [258] and "normalizer" not in off.facts.identity()
    nfd = load_tokenizer(path, LoadOptions(preset="qwen", normalize="nfd"))
    assert nfd.normalize(TONOS) == "\u03b9\u0301" and nfd.facts.normalizer == {"type": "NFD"}


def test_unknown_normalize_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--normalize") as err:
        load_tokenizer(_accent_file(tmp_path), LoadOptions(pattern=GPT2_PATTERN, normalize="nfx"))
    assert all(choice in str(err.value) for choice in NORMALIZE_CHOICES)


def test_normalize_is_ignored_with_a_note_for_other_formats(write_tokenizer):
    from auditor.fixtures import byte_level_bpe

    view = load_tokenizer(write_tokenizer(byte_level_bpe(["hello"])), LoadOptions(normalize="nfc"))
    assert any("--normalize" in note for note in view.notes)


# --- the empty token ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=", "=="])
def test_padding_alone_is_the_empty_token(tmp_path, text):
    """What tiktoken's loader and Whisper read for Whisper's multilingual.tiktoken rank 50256."""
    path = _rank_file(tmp_path / "empty.tiktoken", [b" t"], extra=[f"{text} 257"])
    view = load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN))
    assert view.token_bytes[257] == b"" and view.pieces[257] == "" and view.kinds[257] == TokenKind.NORMAL
    assert view.decode([257]) == "" and view.decode([116, 257, 116]) == "tt"
    assert analyze_vocabulary(view).categories[257].unreachable


@pytest.mark.parametrize("text", ["=A", "A=A=", "!!"])
def test_other_bad_base64_is_refused(tmp_path, text):
    path = _rank_file(tmp_path / "bad.tiktoken", [b" t"], extra=[f"{text} 257"])
    with pytest.raises(UserError, match="line 258: .* is not base64"):
        load_tokenizer(path, LoadOptions(pattern=GPT2_PATTERN))


# --- real files ---------------------------------------------------------------------------

REAL_COUNTS = {
    # file: (preset guessed, ids, (single_byte, special, unreachable, partial_utf8))
    "tiktoken/r50k_base.tiktoken": ("r50k_base", 50257, (256, 1, 0, 216)),
    "tiktoken/p50k_base.tiktoken": ("p50k_base", 50281, (256, 1, 0, 216)),
    "tiktoken/o200k_base.tiktoken": ("o200k_base", 200019, (256, 2, 12, 1434)),
    "tiktoken/qwen.tiktoken": ("qwen", 151851, (256, 211, 1906, 1320)),
    "tiktoken/llama4_tokenizer.model": ("llama4", 202048, (256, 2048, 7, 1700)),
    # the 1,501 timestamps hold no letter, so they count as unreachable, with the empty token
    "tiktoken/whisper_multilingual.tiktoken": ("whisper", 51865, (256, 107, 1507, 1348)),
}


@pytest.mark.real
@pytest.mark.parametrize("relative", sorted(REAL_COUNTS))
def test_real_rank_files_load_by_guess(relative):
    preset, size, (single, special, unreachable, partial) = REAL_COUNTS[relative]
    view = load_tokenizer(real_path(relative))
    assert view.facts.tiktoken_preset == preset
    assert view.vocab_size == size
    assert analyze_vocabulary(view).paper_counts() == {
        "single_byte": single,
        "special": special,
        "unreachable": unreachable,
        "partial_utf8": partial,
    }


@pytest.mark.real
def test_qwen_nfc_explains_the_published_unreachable_count():
    """1,906 unreachable with NFC; the 236 more than without it are tokens whose text is not NFC."""
    path = real_path("tiktoken/qwen.tiktoken")
    view = load_tokenizer(path)
    assert view.facts.normalizer == {"type": "NFC"}
    nfc = analyze_vocabulary(view)
    raw = analyze_vocabulary(load_tokenizer(path, LoadOptions(normalize="none")))
    with_nfc, without = set(nfc.paper_unreachable()), set(raw.paper_unreachable())
    assert (len(with_nfc), len(without)) == (1906, 1670)
    extra = with_nfc - without
    assert len(extra) == 236 and without <= with_nfc
    for tid in extra:
        text = view.token_bytes[tid].decode("utf-8")
        assert unicodedata.normalize("NFC", text) != text
        assert nfc.causes[tid].code == "normalizer"
    assert nfc.decoded[145341] == OXIA
    assert nfc.reencoded[145341] == (54141,)
    assert view.encode(OXIA) == view.encode(TONOS) == [54141]


@pytest.mark.real
def test_whisper_multilingual_specials_and_empty_token():
    view = load_tokenizer(real_path("tiktoken/whisper_multilingual.tiktoken"))
    assert view.token_bytes[50256] == b"" and view.decode([50256]) == ""
    assert view.pieces[50257] == "<|endoftext|>" and view.pieces[50258] == "<|startoftranscript|>"
    assert view.pieces[50364] == "<|0.00|>" and view.kinds[51864] == TokenKind.CONTROL
    assert view.decode(view.encode(" Hello, wörld! 日本語")) == " Hello, wörld! 日本語"


@pytest.mark.real
def test_llama4_specials_are_never_parsed_from_text():
    view = load_tokenizer(real_path("tiktoken/llama4_tokenizer.model"))
    assert view.pieces[200008] == "<|eot|>" and view.kinds[200008] == TokenKind.CONTROL
    assert all(i < 200000 for i in view.encode("<|begin_of_text|>hi<|eot|>"))
    assert view.decode([200000]) == "<|begin_of_text|>"
