from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.vocabulary import is_reserved_name
from auditor.core import Finding, Severity, TokenKind
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.rulebase import Example, Rule, RuleContext


class ReservedToken(Rule):
    """Reserved or unused placeholder token.

    ## What it does
    Flags tokens the format declares unused (SentencePiece/GGUF type UNUSED) and
    placeholders by name: `<unusedN>`, `[unusedN]`, `<|reserved_special_token_N|>`.

    ## Why it matters
    Nothing produces these tokens before someone starts using them, so their
    embedding rows are never trained (Llama 3's reserved rows have norms of about
    1e-21). Fine-tuning data that suddenly uses one gives NaNs or garbage
    (docs/defects.md #17). The model audit also uses them as the reference set of
    known-untrained rows.

    ## Example
    `<|reserved_special_token_5|>` in Llama 3; `[unused12]` in BERT vocabularies.

    ## How to fix
    Nothing, unless you plan to use them: then initialise their rows (for example to
    the mean embedding) and train them before relying on them.

    ## References
    docs/defects.md #17; Land & Bartolo (2024) §2; docs/method.md §2.
    """

    code = "V106"
    name = "reserved-token"
    severity = Severity.INFO
    uses = ()
    valid = (Example("no placeholders", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "a reserved special token, by its name",
            byte_level_bpe([" hello"], added=[{"content": "<|reserved_special_token_0|>", "special": True}]),
            flagged=("<|reserved_special_token_0|>",),
            message="reserved placeholder",
            details={"reason": "name"},
        ),
        Example(
            "a SentencePiece piece of type UNUSED",
            sentencepiece_bpe(["hello"], extra_pieces=[("<pad_slot>", 5)]),
            flagged=("<pad_slot>",),
            message="declared unused by the tokenizer format",
            details={"reason": "type"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        for tid, piece in enumerate(view.pieces):
            if piece is None:
                continue
            if view.kinds[tid] == TokenKind.UNUSED:
                yield ctx.finding(
                    "declared unused by the tokenizer format: its embedding row is never trained",
                    token_id=tid,
                    reason="type",
                )
            elif is_reserved_name(piece):
                yield ctx.finding(
                    "reserved placeholder: its embedding row is not trained until it is used",
                    token_id=tid,
                    reason="name",
                )
