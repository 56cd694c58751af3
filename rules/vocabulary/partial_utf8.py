from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class PartialUtf8Token(Rule):
    """Token whose bytes are not valid UTF-8 on their own.

    ## What it does
    Flags multi-byte tokens that decode to U+FFFD when decoded alone: fragments of
    UTF-8 characters (for example the first two bytes of a three-byte CJK character).
    Single byte tokens are left out, as in the paper's counts.

    ## Why it matters
    Byte-level BPE learns such fragments by design, so this is information, not an
    error. They matter downstream: they cannot be put in a prompt on their own, a
    strict streaming detokenizer crashes on them, and a model may leave them
    under-trained (docs/defects.md #18).

    ## Example
    GPT-2 (r50k_base) has 216 partial-UTF-8 tokens.

    ## How to fix
    Nothing to fix in a byte-level tokenizer; make streaming decoders buffer
    incomplete characters. If your tokenizer should have none, lint with
    `--fail-on info --select V102`.

    ## References
    Land & Bartolo (2024) §1; docs/method.md §1; docs/defects.md #18.
    """

    code = "V102"
    name = "partial-utf8-token"
    severity = Severity.INFO
    uses = ("vocabulary",)
    valid = (Example("ASCII words only: every token is whole characters", byte_level_bpe([" hello", " world"])),)
    invalid = (
        Example(
            "the first two bytes of 中 merged into one token",
            byte_level_bpe([" hello", "中".encode()[:2]]),
            flagged=("\\xe4\\xb8",),
            message="decoding it alone gives U+FFFD",
            details={"category": "PARTIAL_UTF8"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        vocab = ctx.analysis("vocabulary")
        for tid in vocab.paper_partial_utf8():
            yield ctx.finding(
                "not valid UTF-8 on its own: decoding it alone gives U+FFFD",
                token_id=tid,
                category=vocab.categories[tid].value,
            )
