from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class ZeroEmbeddingRow(Rule):
    """Token whose embedding row is all zero or nearly so.

    ## What it does
    Flags tokens whose input-embedding row (or, for untied models, output row) has a
    norm of zero or below a millionth of the median row norm.

    ## Why it matters
    Such a row was never updated in training (Llama 3's reserved tokens: norms of
    about 1e-21). Text that contains the token gives the model nothing to work with;
    fine-tuning that starts using it can produce NaNs, because normalising a zero
    vector divides by zero.

    ## Example
    `<|reserved_special_token_5|>` in Llama 3 8B.

    ## How to fix
    Before using the token, initialise its row (the mean of the trained rows is a
    common choice) and train it; otherwise keep it out of your data.

    ## References
    docs/defects.md #17 (unsloth #658, #1056; meta-llama/llama3 #77).
    """

    code = "M103"
    name = "zero-embedding-row"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "model"})
    uses = ("embeddings",)
    valid = (Example("no zero rows", byte_level_bpe([" hello"]), model={}),)
    invalid = (
        Example(
            "a reserved token with an all-zero row",
            byte_level_bpe([" hello"], added=[{"content": "<|reserved_special_token_0|>", "special": True}]),
            flagged=("<|reserved_special_token_0|>",),
            model={"zero": ("<|reserved_special_token_0|>",)},
            message="input embedding row is zero (or nearly): never trained",
            details={"matrix": "input"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        embeddings = ctx.analysis("embeddings")
        with_rows = min(embeddings.vocab_size, embeddings.rows)  # ids that have a token and a row
        where = {tid: "input" for tid in embeddings.zero_ids if tid < with_rows}
        for tid in embeddings.zero_output_ids:
            if tid < with_rows:
                where[tid] = "input and output" if tid in where else "output"
        for tid in sorted(where):
            if ctx.view.pieces[tid] is None:
                continue
            yield ctx.finding(
                f"{where[tid]} embedding row is zero (or nearly): never trained", token_id=tid, matrix=where[tid]
            )
