from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import char_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class UnknownTokenRate(Rule):
    """Share of the corpus text that becomes the unknown token or is dropped.

    ## What it does
    Counts, over the corpus, the characters that the tokenizer turns into its unknown
    token or drops (they encode to nothing), and reports their share of all characters
    when it is above `max-rate`, with the characters responsible (most frequent
    first), their counts and the first document holding each. Whitespace that a
    pre-tokenizer uses as a separator is not counted as dropped.

    ## Why it matters
    Text that becomes `<unk>` is invisible to the model: a script or emoji set missing
    from the vocabulary collapses into one token that means "something". Text that is
    dropped is worse: the model never learns it is there.

    ## Example
    A character-level BPE over a Latin alphabet without byte fallback reading Japanese.

    ## How to fix
    Enable byte fallback (SentencePiece `byte_fallback`, byte-level BPE), raise the
    character coverage, or add the missing characters to the initial alphabet.

    ## Options
    - `max-rate` (0.0): largest acceptable share of characters that are unknown or dropped.
    - `max-examples` (10): characters listed in the finding.

    ## References
    docs/method.md §5.3; docs/defects.md #11, #12; SentencePiece `character_coverage` and `byte_fallback`.
    """

    code = "C105"
    name = "unknown-token-rate"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "corpus"})
    uses = ("corpus_stats",)
    options = (
        Option("max-rate", 0.0, "acceptable share of unknown or dropped characters", minimum=0.0, maximum=1.0),
        Option("max-examples", 10, "characters listed in the finding", minimum=1),
    )
    valid = (Example("every character is in the alphabet", char_bpe("abc", ["abc"]), corpus=("abc cab", "bca")),)
    invalid = (
        Example(
            "characters outside the alphabet become [UNK]",
            char_bpe("abc", ["abc"]),
            flagged=("",),
            corpus=("abc xyz", "abc"),
            message='of 10 characters are lost (3 unknown, 0 dropped; 3 unknown tokens): "x" U+0078 x1 (unknown)',
            details={"characters": 10, "unknown_characters": 3, "dropped_characters": 0, "rate": 0.3},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.analysis("corpus_stats")
        unknown, dropped = stats.unk_char_total(), stats.dropped_char_total()
        if not stats.n_chars or not (unknown + dropped):
            return
        rate = (unknown + dropped) / stats.n_chars
        if rate <= ctx.options["max-rate"]:
            return
        lost = [(char, count, "unknown") for char, count in stats.unk_chars.items()] + [
            (char, count, "dropped") for char, count in stats.dropped_chars.items()
        ]
        lost.sort(key=lambda cause: (-cause[1], cause[0]))
        shown = lost[: ctx.options["max-examples"]]
        listed = ", ".join(
            f'"{escape_text(char)}" U+{ord(char):04X} x{count} ({effect})' for char, count, effect in shown
        )
        yield ctx.finding(
            f"{rate:.4%} of {stats.n_chars} characters are lost ({unknown} unknown, {dropped} dropped; "
            f"{stats.unk_tokens} unknown tokens): {listed}",
            rate=round(rate, 6),
            characters=stats.n_chars,
            unknown_characters=unknown,
            dropped_characters=dropped,
            unknown_tokens=stats.unk_tokens,
            causes=[
                {
                    "char": escape_text(char),
                    "codepoint": f"U+{ord(char):04X}",
                    "count": count,
                    "effect": effect,
                    "first_document": stats.char_first_doc.get(char),
                }
                for char, count, effect in shown
            ],
        )
