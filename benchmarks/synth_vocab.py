"""A large, deterministic, realistic byte-level BPE tokenizer.json for benchmarks.

`build_spec(size, seed)` returns a GPT-2-style tokenizer.json spec (as a dict) with
exactly `size` ids: the 256 byte tokens, merges whose results are the prefixes of many
distinct synthetic "words", and a few added tokens at the end. Every merge joins two
existing tokens into a new one (as `auditor.fixtures.byte_level_bpe` does).

The words look like a real vocabulary: syllable-built lowercase words with and without
a leading space ("Ġ"), Capitalised and UPPER words, numbers, punctuation runs,
whitespace runs, and words in Latin-with-accents, Cyrillic, Greek and CJK. Multi-byte
characters are first built as character tokens (byte merges, so a few partial-UTF-8
tokens exist, as in GPT-2), then chained. Groups are emitted in an order that keeps
most tokens reachable; the later groups' merges (words without a leading space) do
collide with each other, so a realistic minority of tokens is unreachable.
"""

from __future__ import annotations

import random
from typing import Any

from auditor.loaders.bytelevel import byte_to_char

ONSETS = (
    "b c d f g h j k l m n p r s t v w y z bl br ch cl cr dr fl fr gl gr kl kr ph pl pr "
    "qu sc sh sk sl sm sn sp st str sw th tr tw wh wr"
).split()
VOWELS = "a e i o u y ai au ea ee ie io oa oo ou ue".split()
CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "nd", "nt", "ng", "ck", "st", "rs", "th", "x", "ss")
PUNCT = list('!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~')
# letters of other scripts: 2-byte (Latin-1, Latin Extended, Greek, Cyrillic) and 3-byte (CJK, kana)
LATIN_ACC = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýþÿœšžł"
GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴"
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテト"
SPECIAL_ADDED = (
    {"content": "<|endoftext|>", "special": True},
    {"content": "<|padding|>", "special": True},
    {"content": "<|im_start|>", "special": True},
    {"content": "<|im_end|>", "special": True},
    {"content": "<|reserved_special_token_0|>", "special": True},
    {"content": "<|reserved_special_token_1|>", "special": True},
    {"content": "<|reserved_special_token_2|>", "special": True},
    # a non-special added token that shadows the vocabulary entry "ĠĠ" (as GPT-NeoX-20B does)
    {"content": "  ", "special": False},
)


def _syllable_word(rng: random.Random, lo: int = 1, hi: int = 4) -> str:
    out = []
    for _ in range(rng.randint(lo, hi)):
        out.append(rng.choice(ONSETS) if rng.random() < 0.85 else "")
        out.append(rng.choice(VOWELS))
        out.append(rng.choice(CODAS))
    return "".join(out)


def _word(rng: random.Random, group: str) -> str:
    if group == "sp_lower":
        return " " + _syllable_word(rng)
    if group == "sp_cap":
        return " " + _syllable_word(rng).capitalize()
    if group == "sp_upper":
        return " " + _syllable_word(rng, 1, 2).upper()
    if group == "cap":
        return _syllable_word(rng).capitalize()
    if group == "lower":
        return _syllable_word(rng, 1, 3)
    if group == "sp_digits":
        return " " + str(rng.randint(0, 10 ** rng.randint(1, 4)))
    if group == "digits":
        return str(rng.randint(0, 10 ** rng.randint(1, 3)))
    if group == "punct":
        return (" " if rng.random() < 0.5 else "") + "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 3)))
    if group == "space":
        return (
            rng.choice([" ", "\n", "\t"]) * rng.randint(2, 12)
            if rng.random() < 0.7
            else "\n" + " " * rng.randint(1, 16)
        )
    if group == "sp_latin":
        return " " + "".join(rng.choice("abcdefghilmnoprstu" + LATIN_ACC) for _ in range(rng.randint(2, 9)))
    if group == "sp_cyrillic":
        return " " + "".join(rng.choice(CYRILLIC) for _ in range(rng.randint(2, 9)))
    if group == "sp_greek":
        return " " + "".join(rng.choice(GREEK) for _ in range(rng.randint(2, 8)))
    if group == "cjk":
        return "".join(rng.choice(CJK) for _ in range(rng.randint(1, 3)))
    if group == "kana":
        return "".join(rng.choice(KANA) for _ in range(rng.randint(1, 4)))
    raise ValueError(group)


# (group, share of the merges). Emitted in this order: earlier groups get higher merge priority.
GROUPS = (
    ("sp_lower", 0.6145),
    ("sp_cap", 0.12),
    ("sp_upper", 0.02),
    ("sp_digits", 0.015),
    ("punct", 0.01),
    ("space", 0.0005),
    ("sp_latin", 0.04),
    ("sp_cyrillic", 0.05),
    ("sp_greek", 0.02),
    ("cjk", 0.03),
    ("kana", 0.01),
    ("cap", 0.06),
    ("digits", 0.005),
    ("lower", 0.005),  # the rest: fills up to the requested size
)


def build_spec(size: int = 256_000, seed: int = 1234) -> dict[str, Any]:
    """A byte-level BPE tokenizer.json spec with exactly `size` ids."""
    rng = random.Random(seed)
    table = byte_to_char()
    vocab: dict[str, int] = {}
    for b in range(256):
        vocab[table[b]] = len(vocab)
    merges: list[list[str]] = []
    target = size - len(SPECIAL_ADDED)
    if target <= 256:
        raise ValueError("size too small")

    def add(left: str, right: str) -> bool:
        merged = left + right
        if merged in vocab:
            return True
        if len(vocab) >= target:
            return False
        merges.append([left, right])
        vocab[merged] = len(vocab)
        return True

    def char_token(ch: str) -> str:
        """The token of one character: its UTF-8 bytes merged left to right."""
        bl = [table[b] for b in ch.encode("utf-8")]
        cur = bl[0]
        for nxt in bl[1:]:
            add(cur, nxt)
            cur += nxt
        return cur

    # the characters of the other scripts first, as real BPE learns them early
    for ch in LATIN_ACC + GREEK + CYRILLIC + CJK + KANA:
        char_token(ch)

    budget_left = target - len(vocab)
    quotas = [(g, int(budget_left * share)) for g, share in GROUPS]
    for group, quota in quotas:
        stop_at = min(target, len(vocab) + quota) if group != "lower" else target
        misses = 0
        while len(vocab) < stop_at and misses < 20_000:
            before = len(vocab)
            word = _word(rng, group)
            pieces = [char_token(ch) for ch in word]
            cur = pieces[0]
            for p in pieces[1:]:
                if len(vocab) >= stop_at:
                    break
                add(cur, p)
                cur += p
            misses = misses + 1 if len(vocab) == before else 0
    # top up with longer lowercase words if a group ran dry
    while len(vocab) < target:
        pieces = [table[b] for b in _syllable_word(rng, 3, 6).encode()]
        cur = pieces[0]
        for p in pieces[1:]:
            add(cur, p)
            cur += p

    added_tokens = []
    for k, spec in enumerate(SPECIAL_ADDED):
        added_tokens.append(
            {
                "id": target + k,
                "content": spec["content"],
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": not spec["special"],
                "special": spec["special"],
            }
        )
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens,
        "normalizer": None,
        "pre_tokenizer": dict(bl),
        "post_processor": dict(bl),
        "decoder": dict(bl),
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
