from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


def _with_gap() -> dict:
    spec = byte_level_bpe([" hello"])
    vocab = spec["model"]["vocab"]
    vocab[max(vocab, key=vocab.get)] += 3
    return spec


class VocabularyIdGap(Rule):
    """Token ids with no token: holes in the id space.

    ## What it does
    Reports ranges of ids below the largest id that have no vocabulary entry
    (common in tiktoken files, where special tokens sit after gaps, and in merged
    vocabularies).

    ## Why it matters
    An embedding matrix has a row for every id up to the largest: the rows of the
    holes are never trained, and anything that samples from the full output
    distribution can produce an id that decodes to nothing.

    ## Example
    cl100k_base has no tokens at ids 100256 and 100261-100275.

    ## How to fix
    Renumber the special tokens to close the gap, or mask the hole ids in the
    output layer.
    """

    code = "V107"
    name = "vocabulary-id-gap"
    severity = Severity.INFO
    uses = ()
    valid = (Example("contiguous ids", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "the last merge result numbered 3 ids too high",
            _with_gap(),
            flagged=("",),
            message="3 id(s) below 264 have no token: 260-262",
            details={"holes": [[260, 262]]},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        holes = [tid for tid, piece in enumerate(ctx.view.pieces) if piece is None]
        if not holes:
            return
        ranges: list[list[int]] = []
        for tid in holes:
            if ranges and ranges[-1][1] == tid - 1:
                ranges[-1][1] = tid
            else:
                ranges.append([tid, tid])
        shown = ", ".join(f"{first}" if first == last else f"{first}-{last}" for first, last in ranges[:10])
        more = f" and {len(ranges) - 10} more ranges" if len(ranges) > 10 else ""
        yield ctx.finding(
            f"{len(holes)} id(s) below {ctx.view.vocab_size} have no token: {shown}{more}",
            holes=ranges,
        )
