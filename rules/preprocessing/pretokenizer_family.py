from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


def _show(pieces: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{escape_text(p)}"' for p in pieces) + "]"


def _hand_written(regex: str) -> dict:
    """A byte-level BPE whose pre-tokenizer is one Split regex before a regex-less ByteLevel."""
    spec = byte_level_bpe([" hello", " world"])
    spec["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    return spec


class PreTokenizerFamily(Rule):
    """Pre-tokenizer that matches no known family: the nearest one, and where they differ.

    ## What it does
    For byte-level BPE tokenizers (tokenizer.json, GGUF, tiktoken rank files), runs the
    tokenizer's own pre-tokenizer and the regexes of every family llama.cpp knows
    (gpt2, llama3, qwen2, deepseek, o200k, ...) on fixed probe strings. When no family
    agrees on all of them, names the nearest family by the vocabulary (the one whose
    regexes cut the fewest learned tokens) and the probe strings on which the two differ.

    ## Why it matters
    Runtimes that re-implement tokenizers (llama.cpp, serving engines) recognise the
    pre-tokenizer by family; one they do not know is refused, or silently replaced by a
    default that splits text differently from training. Knowing the nearest family and the
    exact differences says what a converter must add.

    ## Example
    A hand-written regex that splits every digit and letter run into pieces of two.

    ## How to fix
    Use the regexes of a known family where possible; otherwise give the runtime the
    differences listed here.

    ## References
    docs/method.md (pre-tokenizer families); llama.cpp `tokenizer.ggml.pre`.
    """

    code = "P114"
    name = "pre-tokenizer-family"
    severity = Severity.INFO
    uses = ("pretokenizer_family",)
    valid = (Example("GPT-2's byte-level regex: the gpt2 family", byte_level_bpe([" hello", " world"])),)
    invalid = (
        Example(
            "a hand-written regex of two-character pieces",
            _hand_written(r"\p{L}{1,2}|\p{N}{1,2}|\s+|[^\s\p{L}\p{N}]+"),
            flagged=("",),
            message="matches no known pre-tokenizer family",
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        found = ctx.analysis("pretokenizer_family")
        if found is None or found.own_split_tokens is None or found.exact_families:
            return
        nearest = found.nearest
        diffs = found.differences
        shown = "; ".join(
            f'"{escape_text(d.probe)}": {_show(d.own)} here, {_show(d.family)} in {nearest.family}' for d in diffs[:2]
        )
        yield ctx.finding(
            f"the pre-tokenizer matches no known pre-tokenizer family; nearest by the vocabulary: {nearest.family}"
            f" (its regexes cut {nearest.split_tokens} of {found.checked_tokens} learned tokens, this one"
            f" {found.own_split_tokens}); they differ on {len(diffs)} probe strings" + (f": {shown}" if shown else ""),
            nearest=nearest.family,
            nearest_split_tokens=nearest.split_tokens,
            own_split_tokens=found.own_split_tokens,
            differing_probes=[d.probe for d in diffs],
        )


# Punctuation followed by a newline: one piece for llama3-style regexes, two for GPT-2's.
_PUNCT_NEWLINE = [c + "\n" for c in '!"#$%&()*+,-./:;<=>?@[]^_`{|}~']


class PreTokenizerVocabularyMismatch(Rule):
    """The vocabulary was learned with another pre-tokenizer than the one the tokenizer uses.

    ## What it does
    Counts the learned tokens (ordinary tokens of several bytes) that the tokenizer's own
    pre-tokenizer cuts in two, and the same for every known family's regexes. A BPE
    vocabulary is learned inside pre-tokenizer pieces, so the pre-tokenizer it was trained
    with cuts almost none. Flags a tokenizer whose own pre-tokenizer cuts `min-tokens` or
    more tokens than the best-fitting family does.

    ## Why it matters
    Tokens the pre-tokenizer cuts can never be produced: they are unreachable and their
    embeddings stay untrained, and text is split differently from training. This is the
    signature of a converter that guessed the pre-tokenizer (a GGUF with an unknown
    `tokenizer.ggml.pre`, where llama.cpp's default or GPT-2's regex stands in) or of a
    tokenizer.json edited by hand.

    ## Example
    A GPT-2 pre-tokenizer over a vocabulary holding punctuation-plus-newline tokens
    (`";\\n"`, `"{\\n"`), which only llama3-style regexes keep whole.

    ## How to fix
    Use the family's pre-tokenizer named in the finding (for a GGUF, the right
    `tokenizer.ggml.pre`; for tokenizer.json, its Split regexes).

    ## Options
    - `min-tokens` (20): flag when the own pre-tokenizer cuts at least this many more tokens than the nearest family.

    ## References
    docs/method.md (pre-tokenizer families); docs/defects.md (preprocessing mismatch).
    """

    code = "P115"
    name = "pre-tokenizer-vocabulary-mismatch"
    severity = Severity.WARNING
    uses = ("pretokenizer_family",)
    options = (Option("min-tokens", 20, "flag when the own pre-tokenizer cuts this many more tokens", minimum=1),)
    valid = (Example("GPT-2's regex over a GPT-2-style vocabulary", byte_level_bpe([" hello", " world", "!!"])),)
    invalid = (
        Example(
            "GPT-2's regex over tokens learned with punctuation and newline together",
            byte_level_bpe([" hello", *_PUNCT_NEWLINE]),
            flagged=("",),
            message="fits the",
            details={"own_split_tokens": len(_PUNCT_NEWLINE), "nearest_split_tokens": 0},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        found = ctx.analysis("pretokenizer_family")
        if found is None or found.own_split_tokens is None:
            return
        nearest = found.nearest
        if found.own_split_tokens - nearest.split_tokens < ctx.options["min-tokens"]:
            return
        examples = ", ".join(f'"{escape_text(t)}"' for t in found.own_examples[:4])
        yield ctx.finding(
            f"this pre-tokenizer cuts {found.own_split_tokens} of the {found.checked_tokens} learned tokens checked"
            f" (e.g. {examples}), the {nearest.family} family's regexes {nearest.split_tokens}: the vocabulary"
            f" fits the {nearest.family} pre-tokenizer better than its own, which leaves those tokens unreachable",
            nearest=nearest.family,
            nearest_split_tokens=nearest.split_tokens,
            own_split_tokens=found.own_split_tokens,
            checked_tokens=found.checked_tokens,
        )
