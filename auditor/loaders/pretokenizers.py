"""llama.cpp's pre-tokenizer families: how text is cut into words before BPE, per `tokenizer.ggml.pre`.

llama.cpp maps every `tokenizer.ggml.pre` name it accepts to a pre-tokenizer type, and
every type to a list of regexes. Each regex in turn splits the pieces the previous one
left, keeping matched and unmatched spans alike; BPE then runs on every piece alone. A
name llama.cpp does not know makes it refuse the file, so a wrong guess here changes
which entries are reachable (DeepSeek-Coder: " = " and "\\tif" are one word each).

A family is one behaviour: several llama.cpp types share their regexes and flags, and
one family lists every name that selects any of them. Where llama.cpp runs a hand-written
splitter instead of its regex (Kimi-K2, the digit grouping of AFMoE and Tiny Aya), the
regex here states what that splitter does, so the `tokenizers` library and `split` agree
with llama.cpp rather than with the regex llama.cpp names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class PreTokenizerFamily:
    """One way llama.cpp cuts text into words, and the `tokenizer.ggml.pre` names that select it."""

    name: str
    regexes: tuple[str, ...]  # applied in sequence, each splits the pieces the previous left
    ignore_merges: bool = False  # a word that is a token is emitted whole, merges or not
    gguf_names: tuple[str, ...] = ()
    # False: the pieces are raw UTF-8 (SPM-style BPE with <0xNN> byte tokens), not GPT-2 byte characters
    byte_level: bool = True
    escape_whitespaces: bool = False  # spaces become "▁" before splitting


def _ranges(*spans: tuple[int, ...]) -> str:
    """A character-class body from code point ranges ((first, last) or (single,))."""
    return "".join(chr(s[0]) if len(s) == 1 else f"{chr(s[0])}-{chr(s[1])}" for s in spans)


# The building blocks llama.cpp's regexes share. `(?i:...)` is written out as classes
# because llama.cpp's std::regex has no inline flags; the meaning is the same.
_CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
_SPACE_TAIL = r"|\s*[\r\n]+|\s+(?!\S)|\s+"


def _cl100k_like(digits: str, letters: str = r"\p{L}+", punct: str = r" ?[^\s\p{L}\p{N}]+[\r\n]*") -> str:
    """Llama 3 / Qwen 2 shape: contractions, letter runs with one leading non-letter, digits, punctuation, spaces."""
    return _CONTRACTIONS + rf"|[^\r\n\p{{L}}\p{{N}}]?{letters}|{digits}|{punct}" + _SPACE_TAIL


_LLAMA3 = _cl100k_like(r"\p{N}{1,3}")
_QWEN2 = _cl100k_like(r"\p{N}")

# o200k's upper/lower letter classes, as llama.cpp writes them: "a letter that is not a-z"
# stands for upper case, "a letter that is not A-Z" for lower case (exact for ASCII; any
# other letter counts as both, as in llama.cpp).
_UPPER = r"((?=[\p{L}])([^a-z]))"
_LOWER = r"((?=[\p{L}])([^A-Z]))"


def _o200k_like(upper: str, lower: str, contractions: str, digits: str) -> str:
    word = r"[^\r\n\p{L}\p{N}]?"
    return (
        f"{word}{upper}*{lower}+{contractions}|{word}{upper}+{lower}*{contractions}"
        rf"|{digits}| ?[^\s\p{{L}}\p{{N}}]+[\r\n/]*" + _SPACE_TAIL
    )


_GPT4O = _o200k_like(_UPPER, _LOWER, _CONTRACTIONS + "?", r"\p{N}{1,3}")
_TEKKEN = _o200k_like(_UPPER, _LOWER, "", r"\p{N}")
_GRANITE_MULTI = _o200k_like(
    r"((?=[\p{L}\p{M}])([^a-z]))", r"((?=[\p{L}\p{M}])([^A-Z]))", _CONTRACTIONS + "?", r"\p{N}{1,3}"
)
_CASED_UPPER = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"
_CASED_LOWER = r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"
_TINY_AYA = _o200k_like(_CASED_UPPER, _CASED_LOWER, _CONTRACTIONS + "?", r"\p{N}{1,3}")

# Digit runs cut into groups of three counted from the right ("1234567" -> 1, 234, 567):
# llama.cpp's hand-written splitter for AFMoE and Tiny Aya.
_DIGITS_FROM_RIGHT = r"\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))"

# CJK and other scripts by code point, as llama.cpp lists them.
_DEEPSEEK_CJK = "[" + _ranges((0x4E00, 0x9FA5), (0x0800, 0x4E00), (0xAC00, 0xD7FF)) + "]+"
_KANA_HAN = "[" + _ranges((0x4E00, 0x9FA5), (0x3040, 0x309F), (0x30A0, 0x30FF)) + "]+"
_DEEPSEEK_LETTERS = _ranges(
    *[(0x41, 0x5A), (0x61, 0x7A), (0xB5,), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA), (0x1BC, 0x1BF)],
    *[(0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376,), (0x377,), (0x37B, 0x37D), (0x37F,)],
    *[(0x386,), (0x388, 0x38A), (0x38C,), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F)],
    *[(0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA)],
    *[(0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15)],
    *[(0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59,), (0x1F5B,)],
    *[(0x1F5D,), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE,), (0x1FC2, 0x1FC4)],
    *[(0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4)],
    *[(0x1FF6, 0x1FFC), (0x2102,), (0x2107,), (0x210A, 0x2113), (0x2115,), (0x2119, 0x211D), (0x2124,)],
    *[(0x2126,), (0x2128,), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139,), (0x213C, 0x213F)],
    *[(0x2145, 0x2149), (0x214E,), (0x2183,), (0x2184,), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4)],
    *[(0x2CEB, 0x2CEE), (0x2CF2,), (0x2CF3,), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F)],
    *[(0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17)],
    *[(0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB)],
    *[(0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943)],
)
_DEEPSEEK_PUNCT = _ranges((0x21, 0x2F), (0x3A, 0x7E), (0xFF01, 0xFF0F), (0xFF1A, 0xFF5E), (0x2018, 0x201F))
_DEEPSEEK_PUNCT += _ranges((0x3000, 0x3002))


def _deepseek3_words(punct_tail: str) -> str:
    """DeepSeek-V3's words: ASCII punctuation before a Latin word, letter runs with marks, symbols, spaces."""
    return (
        r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
        r"| ?[\p{P}\p{S}]+" + punct_tail + r"|\s+(?!\S)|\s+"
    )


_DEEPSEEK3_WORDS = _deepseek3_words(r"[\r\n]*|\s*[\r\n]+")
_BLOOM = " ?[^(\\s|.,!?" + _ranges((0x2026,), (0x3002,), (0xFF0C,), (0x3001,), (0x964,), (0x6D4,), (0x60C,)) + ")]+"
# llama.cpp's own Han test (fixed blocks, not the Unicode script property).
_HAN = (
    "["
    + _ranges((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))
    + _ranges((0x2A700, 0x2EBEF), (0x2F800, 0x2FA1F))
    + "]"
)
# Kimi-K2 as llama.cpp's splitter runs it: Han runs, then letter runs without Han (no
# case split, unlike the tokenizer's own regex), digits by three, punctuation, spaces.
_KIMI_K2 = (
    f"{_HAN}+|[^\\r\\n\\p{{L}}\\p{{N}}]?(?:(?!{_HAN})\\p{{L}})+{_CONTRACTIONS}?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*" + _SPACE_TAIL
)
_AFMOE_SCRIPTS = (
    "["
    + _ranges(
        *[(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x8C48, 0xFAFF), (0x3040, 0x309F), (0x30A0, 0x30FF)],
        *[(0xFF65, 0xFF9F), (0x2F00, 0x2FDF), (0x0E40, 0x0E7F), (0x0E80, 0x0EFF), (0x1780, 0x17FF)],
        *[(0x1000, 0x109F), (0xAA60, 0xAA7F), (0xA9E0, 0xA9FF), (0xAC00, 0xD7AF), (0x1100, 0x11FF)],
    )
    + "]+"
)
_YOUTU_SCRIPTS = (
    "[" + _ranges((0xAC00, 0xD7A3), (0x3131, 0x318E)) + "]+"
    "|["
    + _ranges((0xFF01,), (0x2026,), (0x201C,), (0x201D,), (0x2018,), (0x2019,), (0x2014,))
    + _ranges((0xFF1A,), (0xFF1B,), (0xFF0C,), (0x3001, 0x303F), (0xFE30, 0xFE4F))
    + "]+"
    "|[" + _ranges((0x3105, 0x312F)) + "]+|" + _KANA_HAN
)
_YOUTU_WORDS = (
    rf"[^\r\n\p{{L}}\p{{N}}]?{_CASED_UPPER}*{_CASED_LOWER}+{_CONTRACTIONS}?"
    rf"|[^\r\n\p{{L}}\p{{N}}]?{_CASED_UPPER}+{_CASED_LOWER}*{_CONTRACTIONS}?"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*" + _SPACE_TAIL
)
_LINES = r"[^\n]+|[\n]+"


def _families() -> list[PreTokenizerFamily]:
    F = PreTokenizerFamily
    return [
        F(
            "default",
            (r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", "[0-9][0-9][0-9]"),
            gguf_names=("default",),
        ),
        F(
            "gpt2",
            (_GPT2,),
            gguf_names=(
                *("gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0"),
                *("mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt"),
                *("olmo", "jais", "trillion", "granite-docling"),
            ),
        ),
        F(
            "llama3",
            (_LLAMA3,),
            ignore_merges=True,
            gguf_names=("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2")
            + ("jina-v5-nano", "glm4", "glm5"),
        ),
        # Llama 3's regex with ordinary merges (DBRX is cl100k_base).
        F("dbrx", (_LLAMA3,), gguf_names=("dbrx", "smaug-bpe", "chatglm-bpe")),
        F(
            "jais-2",
            (
                _CONTRACTIONS
                + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
                + "".join(rf"|\s{{{n}}}(?!\S)" for n in (512, 256, 128, 64, 32, 16, 8, 4))
                + r"|\s{1,2}(?!\S)|\s{1}",
            ),
            gguf_names=("jais-2",),
        ),
        F(
            "deepseek-llm",
            ("[\r\n]", rf"\s?[{_DEEPSEEK_LETTERS}]+", rf"\s?[{_DEEPSEEK_PUNCT}]+", r"\s+$", _DEEPSEEK_CJK, r"\p{N}+"),
            gguf_names=("deepseek-llm",),
        ),
        F(
            "deepseek-coder",
            ("[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", _DEEPSEEK_CJK, r"\p{N}"),
            gguf_names=("deepseek-coder",),
        ),
        F(
            "deepseek-v3",
            (r"\p{N}{1,3}", _KANA_HAN, _DEEPSEEK3_WORDS),
            gguf_names=("deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"),
        ),
        F(
            "spark2_5",
            (r"\p{N}{1,3}", _KANA_HAN, _deepseek3_words(r"|[\r\n]"), r"\p{N}"),
            gguf_names=("spark2_5",),
        ),
        F("youtu", (_YOUTU_SCRIPTS, _YOUTU_WORDS), ignore_merges=True, gguf_names=("youtu",)),
        F("falcon", (r"[\p{P}\$\+<=>\^~\|`]+", _GPT2, "[0-9][0-9][0-9]"), gguf_names=("falcon",)),
        F(
            "starcoder",
            (r"\p{N}", _GPT2),
            gguf_names=("starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"),
        ),
        F(
            "qwen2",
            (_QWEN2,),
            gguf_names=("qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan")
            + ("solar-open", "grok-2"),
        ),
        F(
            "qwen35",
            (_cl100k_like(r"\p{N}", r"[\p{L}\p{M}]+", r" ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"),),
            gguf_names=("qwen35",),
        ),
        F("bloom", (_BLOOM,), gguf_names=("bloom", "poro-chat", "gpt3-finnish")),
        F("viking", (_BLOOM, r"\p{N}"), gguf_names=("viking",)),
        F("tekken", (_TEKKEN,), ignore_merges=True, gguf_names=("tekken",)),
        F(
            "chameleon",
            (
                "<sentinel:[0-9]+>",
                "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                "([\\t\\n]|    |  )",
                r"\p{N}",
                r"[\p{P}!-/:-@\[-`{-~]",
                _GPT2,
            ),
            gguf_names=("chameleon",),
        ),
        F("gpt-4o", (_GPT4O,), gguf_names=("gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2")),
        F("granite-embed-multi", (_GRANITE_MULTI,), ignore_merges=True, gguf_names=("granite-embed-multi-97m",)),
        F("tiny_aya", (_DIGITS_FROM_RIGHT, _TINY_AYA), gguf_names=("tiny_aya", "cohere2moe")),
        F("kimi-k2", (_KIMI_K2,), gguf_names=("kimi-k2",)),
        F("superbpe", (r"\p{N}+", r"(?=(\d{3})+(?!\d))"), gguf_names=("superbpe",)),
        F(
            "bailingmoe",
            (
                r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+",
            ),
            gguf_names=("bailingmoe", "bailingmoe2", "llada-moe"),
        ),
        F(
            "seed-coder",
            (_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+" + _SPACE_TAIL,),
            gguf_names=("seed-coder",),
        ),
        F(
            "ufakzeka",
            (r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*" + _SPACE_TAIL,),
            gguf_names=("ufakzeka",),
        ),
        F("afmoe", (_DIGITS_FROM_RIGHT, _AFMOE_SCRIPTS, _DEEPSEEK3_WORDS), gguf_names=("afmoe",)),
        F("laguna", (_LINES, _QWEN2), gguf_names=("laguna",)),
        F(
            "exaone-moe",
            (
                _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+",
            ),
            gguf_names=("exaone-moe",),
        ),
        F(
            "minicpm5",
            (r"\p{N}{1,3}", _cl100k_like(r"\p{N}+")),
            ignore_merges=True,
            gguf_names=("minicpm5",),
        ),
        # SPM-style BPE: spaces are "▁", merges run over whole lines on raw UTF-8.
        F(
            "gemma4",
            (_LINES,),
            byte_level=False,
            escape_whitespaces=True,
            gguf_names=("gemma4", "granite-embed-multi-311m"),
        ),
        F("sarvam-moe", (_LINES,), byte_level=False, escape_whitespaces=True, gguf_names=("sarvam-moe",)),
        F("whitespace", (r"\S+",), byte_level=False, gguf_names=("whitespace",)),
    ]


FAMILIES: dict[str, PreTokenizerFamily] = {f.name: f for f in _families()}
_BY_NAME: dict[str, PreTokenizerFamily] = {n: f for f in FAMILIES.values() for n in f.gguf_names}


def family_for_gguf_pre(pre: str | None) -> PreTokenizerFamily | None:
    """The family llama.cpp uses for a `tokenizer.ggml.pre` value: "default" when the key is
    missing or empty, None for a name llama.cpp does not know (it refuses such files)."""
    if not pre:
        return FAMILIES["default"]
    return _BY_NAME.get(pre)


@cache
def _compiled(regexes: tuple[str, ...]) -> list[Any]:
    import regex

    return [regex.compile(r) for r in regexes]


def split(family: PreTokenizerFamily, text: str) -> list[str]:
    """The words llama.cpp's unicode_regex_split makes of `text` (before the byte mapping).

    Each regex cuts every piece the previous one left: matches and the text between them
    both become pieces. Empty matches (lookahead-only regexes) only mark a cut. Families
    that escape whitespaces do so before splitting; `text` is taken as it comes.
    """
    pieces = [text] if text else []
    for pattern in _compiled(family.regexes):
        out: list[str] = []
        for piece in pieces:
            start = 0
            for m in pattern.finditer(piece):
                if m.start() > start:
                    out.append(piece[start : m.start()])
                if m.end() > m.start():
                    out.append(m.group())
                start = max(start, m.end())
            if start < len(piece):
                out.append(piece[start:])
        pieces = out
    return pieces
