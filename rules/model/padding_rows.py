from __future__ import annotations

from typing import Iterator

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
    real-bugs #20 (Qwen3 #29, transformers #19301).
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
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        emb = ctx.analysis("embeddings")
        pad = emb.padding_rows()
        if not len(pad):
            return
        zero = sum(1 for i in emb.zero_ids if i >= emb.vocab_size)
        state = "all of them zero" if zero == len(pad) else f"{zero} of them zero"
        # Padding rounds up to a multiple of 64..1024; far more rows than that is another tokenizer.
        hint = (
            ": far more than padding, is this the model's own tokenizer?"
            if len(pad) > max(1024, emb.rows // 10)
            else ""
        )
        yield ctx.finding(
            f"{len(pad)} embedding rows ({pad.start}..{pad.stop - 1}) lie beyond the tokenizer's "
            f"{emb.vocab_size} ids and are never trained ({state}){hint}",
            first_row=pad.start,
            last_row=pad.stop - 1,
            rows=len(pad),
            zero_rows=zero,
        )
