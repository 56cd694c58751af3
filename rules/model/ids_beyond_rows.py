from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class TokenIdBeyondEmbedding(Rule):
    """Token id with no embedding row.

    ## What it does
    Flags every token id of the tokenizer that is at or beyond the number of rows of
    the model's input embedding matrix.

    ## Why it matters
    Encoding text that produces such an id makes the model index past its embedding
    table: an index error at best, a silent read of another tensor's memory in some
    runtimes. It almost always means the tokenizer is not the model's (a newer
    tokenizer with added tokens, or another model's tokenizer).

    ## Example
    A tokenizer with 32,005 tokens (5 added tokens) next to a model whose embedding
    has 32,000 rows.

    ## How to fix
    Use the tokenizer the model was trained with, or resize the embeddings
    (`model.resize_token_embeddings(len(tokenizer))`) and train the new rows.

    ## References
    docs/defects.md #20 (the opposite direction: rows beyond the vocabulary).
    """

    code = "M101"
    name = "token-id-beyond-embedding"
    severity = Severity.ERROR
    requires = frozenset({"tokenizer", "model"})
    uses = ("embeddings",)
    valid = (Example("one row per token", byte_level_bpe([" hello"]), model={}),)
    invalid = (
        Example(
            "the added token has no row",
            byte_level_bpe([" hello"], added=[{"content": "<|new|>", "special": True}]),
            flagged=("<|new|>",),
            message="token id 261 has no embedding row: the model has 261 rows",
            details={"rows": 261},
            model={"missing_rows": 1},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        embeddings = ctx.analysis("embeddings")
        rows = embeddings.rows
        for tid in embeddings.ids_beyond_rows():
            if ctx.view.pieces[tid] is None:
                continue
            yield ctx.finding(
                f"token id {tid} has no embedding row: the model has {rows} rows", token_id=tid, rows=rows
            )
