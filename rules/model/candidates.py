from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext

_WORDS = [" hello", " world", " token", " audit", " model", " train", " data", " text"]


class UnderTrainedCandidate(Rule):
    """Token that the embedding indicator marks as possibly under-trained.

    ## What it does
    Computes the under-trained indicator of every token (untied models: the norm of
    its input embedding; tied models: the cosine distance, after removing the first
    principal component, to the mean of rows known to be unused) and flags the
    reachable tokens at or below the 2nd percentile, most suspicious first
    (Land & Bartolo 2024, §2). Thresholds are analysis options: `tokaudit audit
    --candidates-percent/--candidates-count/--threshold/--indicator`.

    ## Why it matters
    A token the tokenizer produces but the model barely saw in training behaves
    unpredictably when it appears ("SolidGoldMagikarp"): hallucinations, refusals,
    garbage. The indicator needs no generation, so it is cheap, but it only ranks:
    `--verify` confirms candidates by prompting (rule M105).

    ## Example
    In GPT-2, " SolidGoldMagikarp" and " TheNitromeFan" are among the lowest by
    indicator.

    ## How to fix
    Verify the candidates (`tokaudit audit --verify`); for confirmed ones, remove the
    token from the tokenizer before training, or add text containing it to the data.

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024), §2; docs/method.md §2; docs/defects.md #21.
    """

    code = "M104"
    name = "under-trained-candidate"
    severity = Severity.INFO
    requires = frozenset({"tokenizer", "model"})
    uses = ("indicators",)
    valid = (
        Example(
            "every word trained: no word is within 0.2 of the unused bytes",
            byte_level_bpe(_WORDS),
            model={"options": {"threshold": 0.2}},
        ),
    )
    invalid = (
        Example(
            "two planted never-trained words are the two lowest (tied: cosine after PC removal)",
            byte_level_bpe(_WORDS),
            flagged=(" audit", " model"),
            model={"untrained": (" audit", " model"), "options": {"candidates_count": 2}},
            message="cosine-pc indicator",
            details=({"rank": 1}, {"rank": 2}),
        ),
        Example(
            "untied: the lowest input-embedding norm",
            byte_level_bpe(_WORDS),
            flagged=(" data",),
            model={"untrained": (" data",), "tied": False, "options": {"candidates_count": 1}},
            message="input-norm indicator",
            details={"rank": 1},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        indicators = ctx.analysis("indicators").indicators
        for rank, tid in enumerate(indicators.candidates, 1):
            value = float(indicators.values[tid])
            yield ctx.finding(
                f"{indicators.name} indicator {value:.4g} (rank {rank} of {len(indicators.candidates)} candidates, "
                f"cutoff {indicators.cutoff:.4g})",
                token_id=tid,
                indicator=round(value, 7),
                rank=rank,
            )
