from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class PaddingEmbeddingRows(Rule):
    """Embedding rows beyond the tokenizer's vocabulary (padding rows).

    ## What it does
    Reports, as one finding, the embedding rows whose index is at or beyond the
    tokenizer's vocabulary size (rows padded to a multiple of 64 or 128, or left by a
    larger tokenizer), and whether they are all-zero.

    ## Why it matters
    No text ever produces these ids, so their rows are never trained. The model can
    still sample them unless their logits are masked, and code that sizes tensors from
    `config.vocab_size` disagrees with code that sizes them from the tokenizer.
    The audit uses them as reference rows of untrained tokens.

    ## Example
    Qwen3's tokenizer has 151,646 tokens and its embedding 151,936 rows: 290 rows are
    never trained.

    ## How to fix
    Nothing, when the padding is deliberate: mask those logits at generation time
    (`suppress_tokens` / a logits processor). Otherwise give the tokenizer and the
    config the same size.

    ## References
    docs/defects.md #20 (Qwen3 #29, transformers #19301).
    """

    code = "M102"
    name = "padding-embedding-rows"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "model"})
    uses = ("embeddings",)
    valid = (Example("one row per token", byte_level_bpe([" hello"]), model={}),)
    invalid = (
        Example(
            "64 rows beyond the vocabulary",
            byte_level_bpe([" hello"]),
            flagged=("",),
            model={"extra_rows": 64},
            message="64 embedding rows (261..324) lie beyond the tokenizer's 261 ids and are never trained",
            details={"first_row": 261, "last_row": 324, "rows": 64},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        embeddings = ctx.analysis("embeddings")
        padding = embeddings.padding_rows()
        if not len(padding):
            return
        zero = sum(1 for row in embeddings.zero_ids if row >= embeddings.vocab_size)
        state = "all of them zero" if zero == len(padding) else f"{zero} of them zero"
        # Padding rounds up to a multiple of 64..1024; far more rows than that is another tokenizer.
        hint = (
            ": far more than padding, is this the model's own tokenizer?"
            if len(padding) > max(1024, embeddings.rows // 10)
            else ""
        )
        yield ctx.finding(
            f"{len(padding)} embedding rows ({padding.start}..{padding.stop - 1}) lie beyond the tokenizer's "
            f"{embeddings.vocab_size} ids and are never trained ({state}){hint}",
            first_row=padding.start,
            last_row=padding.stop - 1,
            rows=len(padding),
            zero_rows=zero,
        )
