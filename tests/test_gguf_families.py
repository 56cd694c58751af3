"""llama.cpp's pre-tokenizer families (auditor/loaders/pretokenizers.py) against the tokenizers they came from.

Three checks per family: the pure-Python `split` agrees with the `tokenizers` pre-tokenizer
the GGUF loader builds from the same regexes (two regex engines, one answer); it agrees
with the source model's own pre-tokenizer (tiktoken's pattern, or the tokenizer.json
pre-tokenizer the model's repository ships, written below as test data) except where
llama.cpp is known to split differently; and the real ggml-vocab files encode like
llama.cpp itself when llama-cpp-python is installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from unittest import mock

import pytest

from auditor.loaders.pretokenizers import FAMILIES, PreTokenizerFamily, family_for_gguf_pre, split
from tests.conftest import REAL_MATERIAL, real_path

PROBES: tuple[str, ...] = (
    "Hello world",
    "don't you're I'll it's WE'RE THEY'VE she'd",
    "numbers 1 12 123 1234 12345 1234567 3.14159",
    "v1234abc x2024-06-01",
    "日本語のテキスト 東京タワー",
    "中文分词测试，你好！",
    "한국어 텍스트",
    "two  spaces   three    four",
    "line one\nline two\n\nline four\r\n",
    "tabs\tand\t\tmore \t tabs",
    "   leading spaces",
    "trailing spaces   ",
    "end.\n",
    "stop!!\n\nnext?\n",
    "naïve café, Straße über résumé ÀÉÎÕÜ",
    "emoji 🙂🚀 and ✓ marks",
    "a = b + c",
    "\tif x == 1:\n\t\treturn y",
    "code: def f(x): return x**2  # done",
    "HelloWorld CamelCase XMLHttpRequest",
    "Привет, мир! Ελληνικά",
    "हिन्दी पाठ",
    "$100 + 50% = <html>",
    '{"key": [1, 2, 3]}',
    "https://example.com/path?q=1&r=2",
)

# --- the source tokenizers ------------------------------------------------------------


def _tiktoken_pattern(encoding: str) -> str:
    """tiktoken's own pattern for an encoding, without downloading its ranks."""
    try:
        import tiktoken_ext.openai_public as openai_public
    except ImportError:
        from auditor.loaders.tiktoken_file import PRESETS

        return PRESETS[encoding].pattern
    if encoding == "r50k_base":
        return openai_public.r50k_pat_str
    with mock.patch.object(openai_public, "load_tiktoken_bpe", lambda *a, **k: {}):
        return openai_public.ENCODING_CONSTRUCTORS[encoding]()["pat_str"]


def _tiktoken(encoding: str) -> Callable[[str], list[bytes]]:
    import regex

    pattern = regex.compile(_tiktoken_pattern(encoding))
    return lambda text: [p.encode() for p in pattern.findall(text)]


def _split(pattern: str, behavior: str = "Isolated") -> dict:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": behavior, "invert": False}


_BYTES = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
_GPT2_BYTES = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
_O200K_LETTERS = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+CONTR"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*CONTR"
)
_DEEPSEEK_CJK = "[一-龥ࠀ-一가-퟿]+"
_DEEPSEEK3 = (
    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
    r"| ?[\p{P}\p{S}]+TAIL|\s+(?!\S)|\s+"
)

# The pre_tokenizer node of each family's source tokenizer.json, as its repository
# states it (the model named in the comment; llama.cpp's comments quote the same strings).
HF_CHAINS: dict[str, list[dict]] = {
    # meta-llama/Llama-3.2-1B-Instruct
    "llama3": [
        _split(
            _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # Qwen/Qwen3-0.6B
    "qwen2": [
        _split(_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        _BYTES,
    ],
    # Qwen/Qwen3.5-9B
    "qwen35": [
        _split(
            _CONTRACTIONS
            + r"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # deepseek-ai/deepseek-coder-6.7b-instruct
    "deepseek-coder": [
        _split("[\r\n]"),
        _split(r"\s?\p{L}+"),
        _split(r"\s?\p{P}+"),
        _split(_DEEPSEEK_CJK),
        {"type": "Digits", "individual_digits": True},
        _BYTES,
    ],
    # deepseek-ai/DeepSeek-V3.2
    "deepseek-v3": [
        _split(r"\p{N}{1,3}"),
        _split("[一-龥぀-ゟ゠-ヿ]+"),
        _split(_DEEPSEEK3.replace("TAIL", r"[\r\n]*|\s*[\r\n]+")),
        _BYTES,
    ],
    # XHToken/Spark-X2.5-4B-GGUF's source
    "spark2_5": [
        _split(r"\p{N}{1,3}"),
        _split("[一-龥぀-ゟ゠-ヿ]+"),
        _split(_DEEPSEEK3.replace("TAIL", r"|[\r\n]")),
        {"type": "Digits", "individual_digits": True},
        _BYTES,
    ],
    # HuggingFaceTB/SmolLM2-135M (starcoder's split: single digits, then GPT-2's regex)
    "starcoder": [{"type": "Digits", "individual_digits": True}, _GPT2_BYTES],
    # tiiuae/falcon-7b
    "falcon": [
        {"type": "Punctuation", "behavior": "Contiguous"},
        _GPT2_BYTES,
        {"type": "Digits", "individual_digits": False},
        _split("[0-9][0-9][0-9]"),
    ],
    # bigscience/bloom-560m
    "bloom": [_split(" ?[^(\\s|[.,!?…。，、।۔،])]+"), _BYTES],
    # mistralai/Mistral-Nemo-Base-2407 (tekken)
    "tekken": [
        _split(_O200K_LETTERS.replace("CONTR", "") + r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        _BYTES,
    ],
    # moonshotai/Kimi-K2-Base (tokenization_kimi.py's pattern)
    "kimi-k2": [
        _split(
            r"[\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
            + _CONTRACTIONS
            + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*"
            + _CONTRACTIONS
            + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # trl-internal-testing/tiny-Cohere2ForCausalLM (Tiny Aya)
    "tiny_aya": [
        _split(r"\d{1,3}(?=(?:\d{3})*\b)"),
        _split(
            _O200K_LETTERS.replace("CONTR", _CONTRACTIONS + "?")
            + r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # GSAI-ML/LLaDA-8B-Instruct (bailingmoe)
    "bailingmoe": [
        _split(
            r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # ByteDance-Seed/Seed-Coder-8B
    "seed-coder": [
        _split(_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"),
        _BYTES,
    ],
    # openbmb/MiniCPM5-1B
    "minicpm5": [
        _split(r"\p{N}{1,3}"),
        _split(_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        _BYTES,
    ],
    # poolside/Laguna-XS.2
    "laguna": [
        _split(r"(?:\r?\n)+(?!\r?\n)", "MergedWithNext"),
        _split(_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        _BYTES,
    ],
    # inceptionai/Jais-2-8B-Chat
    "jais-2": [
        _split(
            _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
            r"|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)"
            r"|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}"
        ),
        _BYTES,
    ],
    # LGAI-EXAONE/K-EXAONE-236B-A23B
    "exaone-moe": [
        _split(
            _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?"
            r"|\s*[\r\n]|\s+(?!\S)|\s+"
        ),
        _BYTES,
    ],
    # facebook/chameleon-7b
    "chameleon": [
        _split("<sentinel:[0-9]+>"),
        _split("(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"),
        _split("([\\t\\n]|    |  )"),
        {"type": "Digits", "individual_digits": True},
        _split(r"[\p{P}!-/:-@\[-`{-~]"),
        _GPT2_BYTES,
    ],
    # google/gemma-4-26B-A4B-it (after its Replace(" ", "▁") normaliser: no split at all)
    "gemma4": [{"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False}],
    # sarvamai/sarvam-30b
    "sarvam-moe": [_split(" ", "MergedWithPrevious")],
}

TIKTOKEN = {"gpt2": "r50k_base", "dbrx": "cl100k_base", "gpt-4o": "o200k_base"}

# Families whose source pre-tokenizer is not at hand: only the engines are compared.
NO_SOURCE = {
    "default": "llama.cpp's own choice for a GGUF without tokenizer.ggml.pre",
    "deepseek-llm": "deepseek-llm-7b's tokenizer.json is not at hand",
    "youtu": "Youtu-LLM's tokenizer.json is not at hand",
    "viking": "Viking's tokenizer.json is not at hand",
    "granite-embed-multi": "llama.cpp's rewrite of an o200k-style regex; the source is not at hand",
    "superbpe": "SuperBPE's tokenizer.json is not at hand",
    "ufakzeka": "ufakzeka's tokenizer.json is not at hand",
    "afmoe": "Trinity's tokenizer.json is not at hand",
    "whitespace": "jina-embeddings-v2-base-zh's tokenizer.json is not at hand",
}

# Probes on which llama.cpp splits otherwise than the source tokenizer: the family states
# what llama.cpp does, so these stay different (and are checked to).
LLAMA_CPP_DIFFERS: dict[str, dict[str, str]] = {
    # llama.cpp's splitter has no upper/lower case split and tests Han by fixed blocks.
    "kimi-k2": {"HelloWorld CamelCase XMLHttpRequest": "no case split", "हिन्दी पाठ": "marks"},
    # llama.cpp's rewrite of o200k's letter classes ("a letter not a-z") leaves marks out of words.
    "gpt-4o": {"हिन्दी पाठ": "marks"},
    "tekken": {"हिन्दी पाठ": "marks"},
    # llama.cpp groups every digit run by threes, also one a letter follows (no \b test).
    "tiny_aya": {"v1234abc x2024-06-01": "digits before letters"},
    # llama.cpp cuts lines from newline runs; Laguna glues the newlines to the next line.
    "laguna": {
        "line one\nline two\n\nline four\r\n": "newlines",
    },
    # llama.cpp cuts lines from newline runs (merges may not cross a newline); Gemma does not split.
    "gemma4": {
        "line one\nline two\n\nline four\r\n": "newlines",
        "end.\n": "newlines",
        "stop!!\n\nnext?\n": "newlines",
        "\tif x == 1:\n\t\treturn y": "newlines",
    },
    "sarvam-moe": {
        "line one\nline two\n\nline four\r\n": "newlines",
        "end.\n": "newlines",
        "stop!!\n\nnext?\n": "newlines",
        "\tif x == 1:\n\t\treturn y": "newlines",
    },
    # falcon-7b splits digits from what precedes them, and does it after ByteLevel, on byte
    # characters: "¹²³¼½¾" stand for bytes of many letters. llama.cpp splits the text.
    "falcon": {
        "numbers 1 12 123 1234 12345 1234567 3.14159": "digits after a space",
        "\tif x == 1:\n\t\treturn y": "digits after a space",
        "$100 + 50% = <html>": "digits after a symbol",
        '{"key": [1, 2, 3]}': "digits after a space",
        "日本語のテキスト 東京タワー": "byte characters",
        "中文分词测试，你好！": "byte characters",
        "naïve café, Straße über résumé ÀÉÎÕÜ": "byte characters",
        "Привет, мир! Ελληνικά": "byte characters",
        "हिन्दी पाठ": "byte characters",
    },
}


def _hf(chain: list[dict]) -> Callable[[str], list[bytes]]:
    from auditor.loaders.bytelevel import piece_to_bytes

    tok = _tokenizer_with({"type": "Sequence", "pretokenizers": chain})
    byte_level = any(step.get("type") == "ByteLevel" for step in chain)

    def run(text: str) -> list[bytes]:
        pieces = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        return [(piece_to_bytes(p) if byte_level else None) or p.encode() for p in pieces]

    return run


def _tokenizer_with(pre_tokenizer: dict):
    """A `tokenizers.Tokenizer` holding this pre-tokenizer (the library parses it from JSON)."""
    from tokenizers import Tokenizer

    from auditor.loaders.hf_json import bpe_model_spec, tokenizer_json_spec

    spec = tokenizer_json_spec(bpe_model_spec({"a": 0}, []), pre_tokenizer=pre_tokenizer)
    return Tokenizer.from_str(json.dumps(spec))


def _source(name: str) -> Callable[[str], list[bytes]]:
    if name in TIKTOKEN:
        return _tiktoken(TIKTOKEN[name])
    return _hf(HF_CHAINS[name])


def _llama_split(family: PreTokenizerFamily, text: str) -> list[bytes]:
    """`split` on the text as llama.cpp hands it to the regexes, piece by piece in UTF-8."""
    return [p.encode() for p in split(family, text.replace(" ", "▁") if family.escape_whitespaces else text)]


def _source_split(name: str, family: PreTokenizerFamily) -> Callable[[str], list[bytes]]:
    run = _source(name)
    return (lambda t: run(t.replace(" ", "▁"))) if family.escape_whitespaces else run


# --- the table --------------------------------------------------------------------------


def test_every_family_has_a_source_or_a_reason():
    sources = set(HF_CHAINS) | set(TIKTOKEN)
    assert sources.isdisjoint(NO_SOURCE)
    assert set(FAMILIES) == sources | set(NO_SOURCE)
    assert set(LLAMA_CPP_DIFFERS) <= sources


def test_gguf_names_map_to_one_family_each():
    names = [n for f in FAMILIES.values() for n in f.gguf_names]
    assert len(names) == len(set(names))
    for family in FAMILIES.values():
        for name in family.gguf_names:
            assert family_for_gguf_pre(name) is family
    assert family_for_gguf_pre(None) is FAMILIES["default"]
    assert family_for_gguf_pre("") is FAMILIES["default"]
    assert family_for_gguf_pre("no-such-pre-tokenizer") is None


@pytest.mark.parametrize(
    ("pre", "family", "ignore_merges"),
    [
        ("deepseek-coder", "deepseek-coder", False),
        ("deepseek-llm", "deepseek-llm", False),
        ("deepseek-v3", "deepseek-v3", False),
        ("qwen35", "qwen35", False),
        ("llama-bpe", "llama3", True),
        ("dbrx", "dbrx", False),
        ("command-r", "starcoder", False),
        ("grok-2", "qwen2", False),
        ("tekken", "tekken", True),
        ("llama4", "gpt-4o", False),
        ("poro-chat", "bloom", False),
        ("granite-embed-multi-311m", "gemma4", False),
    ],
)
def test_names_llama_cpp_maps_together(pre, family, ignore_merges):
    found = family_for_gguf_pre(pre)
    assert found is not None and found.name == family
    assert found.ignore_merges is ignore_merges


def test_split_keeps_unmatched_text_and_cuts_at_empty_matches():
    superbpe = FAMILIES["superbpe"]
    assert split(superbpe, "ab 1234567 x12") == ["ab ", "1", "234", "567", " x", "12"]
    assert "".join(split(FAMILIES["deepseek-coder"], PROBES[17])) == PROBES[17]
    assert split(FAMILIES["deepseek-coder"], "a = b\tif") == ["a", " =", " b", "\tif"]
    assert split(FAMILIES["gpt2"], "") == []


# --- the probes ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_split_agrees_with_the_loaders_tokenizers_pre_tokenizer(name):
    """`split` (Python `regex`) and the Split sequence the GGUF loader builds (Oniguruma) cut alike."""
    family = FAMILIES[name]
    chain = [_split(r) for r in family.regexes]
    tok = _tokenizer_with({"type": "Sequence", "pretokenizers": chain})
    for probe in PROBES:
        text = probe.replace(" ", "▁") if family.escape_whitespaces else probe
        assert split(family, text) == [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)], probe


@pytest.mark.parametrize("name", sorted(set(HF_CHAINS) | set(TIKTOKEN)))
def test_split_agrees_with_the_source_tokenizer(name):
    family = FAMILIES[name]
    source = _source_split(name, family)
    differs = LLAMA_CPP_DIFFERS.get(name, {})
    for probe in PROBES:
        ours, theirs = _llama_split(family, probe), source(probe)
        assert b"".join(ours) == b"".join(theirs)
        if probe in differs:
            assert ours != theirs, f"{name}: llama.cpp no longer differs on {probe!r} ({differs[probe]})"
        else:
            assert ours == theirs, probe


# --- real ggml-vocab files against llama.cpp ------------------------------------------------

_VOCABS = sorted(p.name for p in (REAL_MATERIAL / "gguf_vocab").glob("ggml-vocab-*.gguf"))
_ENCODE_PROBES = PROBES + (
    "x=1;y = 2 ;",
    "print('hi')\n    ",
    "   ",
    "\n\n\n",
    "\n\n  \n\t\n",
    "a\u00a0b\u2009c\u3000d",
    "x\r\ny\rz",
    "ÅÄÖ åäö ÆØ æø İstanbul ß",
    "ﬁ ① ½ Ⅻ",
    "العربية نص ไทย ภาษา",
    "👨‍👩‍👧 family",
)


@pytest.fixture(scope="module")
def llama_cpp():
    return pytest.importorskip("llama_cpp")


@pytest.mark.real
@pytest.mark.parametrize("file", _VOCABS or ["ggml-vocab-gpt-2.gguf"])
def test_real_vocab_encodes_like_llama_cpp(file, llama_cpp):
    from auditor.core import InputError
    from auditor.loaders import load_tokenizer

    path = real_path(f"gguf_vocab/{file}")
    try:
        view = load_tokenizer(path)
    except InputError as exc:
        assert "unsupported GGUF tokenizer model 't5'" in str(exc)  # UGM vocabularies are not read
        pytest.skip(str(exc))
    lcpp = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    for text in _ENCODE_PROBES:
        assert view.encode(text) == lcpp.tokenize(text.encode(), add_bos=False, special=False), text
