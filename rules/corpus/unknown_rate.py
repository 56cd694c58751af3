from __future__ import annotations

from typing import Iterator

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
    real-bugs #11, #12; SentencePiece `character_coverage` and `byte_fallback`.
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
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.analysis("corpus_stats")
        unk, dropped = stats.unk_char_total(), stats.dropped_char_total()
        if not stats.n_chars or not (unk + dropped):
            return
        rate = (unk + dropped) / stats.n_chars
        if rate <= ctx.options["max-rate"]:
            return
        bad = [(c, n, "unknown") for c, n in stats.unk_chars.items()] + [
            (c, n, "dropped") for c, n in stats.dropped_chars.items()
        ]
        bad.sort(key=lambda x: (-x[1], x[0]))
        shown = bad[: ctx.options["max-examples"]]
        listed = ", ".join(f"\"{escape_text(c)}\" U+{ord(c):04X} x{n} ({how})" for c, n, how in shown)
        yield ctx.finding(
            f"{rate:.4%} of {stats.n_chars} characters are lost ({unk} unknown, {dropped} dropped; "
            f"{stats.unk_tokens} unknown tokens): {listed}",
            rate=round(rate, 6),
            characters=stats.n_chars,
            unknown_characters=unk,
            dropped_characters=dropped,
            unknown_tokens=stats.unk_tokens,
            causes=[
                {"char": escape_text(c), "codepoint": f"U+{ord(c):04X}", "count": n, "effect": how,
                 "first_document": stats.char_first_doc.get(c)}
                for c, n, how in shown
            ],
        )
