from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.rulebase import Example, Rule, RuleContext


class SpecialTokenInText(Rule):
    """Special/control token that plain input text turns into its control id.

    ## What it does
    Encodes the literal text of every special or control token as ordinary input
    and flags those that come out as the control id itself.

    ## Why it matters
    If user text containing "<|endoftext|>" or "<s>" becomes the real control token,
    users can end a document, fake a chat turn or inject a system prompt. tiktoken
    refuses special-token text by default; HF tokenizers parse it unless told not
    to (docs/defects.md #19).

    ## Example
    An HF tokenizer.json whose "<|end|>" is an added special token encodes the user
    string "<|end|>" to that token's id.

    ## How to fix
    Encode untrusted text with special-token parsing off (`split_special_tokens=True`
    in transformers, `encode_ordinary` in tiktoken), or escape the literals first.

    ## References
    docs/defects.md #19; tokenizers issue 1347.
    """

    code = "V104"
    name = "special-token-in-text"
    severity = Severity.WARNING
    uses = ("vocabulary",)
    valid = (
        Example(
            "SentencePiece never parses control tokens from text",
            sentencepiece_bpe(["hello"]),
        ),
    )
    invalid = (
        Example(
            "an added special token is matched in plain text",
            byte_level_bpe([" hello"], added=[{"content": "<|end|>", "special": True}]),
            flagged=("<|end|>",),
            message='plain text "<|end|>" becomes control token 261',
            details={"kind": "control"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        vocab = ctx.analysis("vocabulary")
        view = ctx.view
        for tid, category in enumerate(vocab.categories):
            if category is None or category.value != "OK_SPECIAL":
                continue
            text = vocab.decoded[tid] or ""
            yield ctx.finding(
                f'plain text "{escape_text(text)}" becomes control token {tid}: user input can inject it',
                token_id=tid,
                kind=view.kinds[tid].value,
            )
