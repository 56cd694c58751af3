from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.rulebase import Example, Rule, RuleContext

TINY_MODEL = "sample_corpora/tiny_model/model"  # trained by sample_corpora/tiny_model/train.py


class VerifiedUnderTrained(Rule):
    """Token verified under-trained by prompting the model.

    ## What it does
    Prompts the model to repeat each indicator candidate (three prompt templates,
    the candidate substituted at the id level, three greedy steps) and flags the
    candidates whose highest probability over all steps and prompts stays below
    0.01 (Land & Bartolo 2024, §3). The grade says how sure: strong-verified below
    0.001, weak-verified below 0.01. Runs with `tokaudit audit --verify`; by default
    the candidates are verified in indicator order until recent ones stop yielding
    (`--budget full` verifies all of them), and tokens found by the recall sample
    (`--sample N`) are flagged too.

    ## Why it matters
    The model cannot even repeat the token when told to: it has no usable
    representation of it. Text containing it gets unpredictable output, and such
    tokens are the classic vector for glitch behaviour.

    ## Example
    " SolidGoldMagikarp" in GPT-2; tokens ending in "\\r" in Mistral 7B (docs/defects.md #16).

    ## How to fix
    Remove or merge the token in the next tokenizer; until then keep it out of
    prompts, or fine-tune on text that contains it.

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024), §3; docs/method.md §3; docs/defects.md #16, #21.
    """

    code = "M105"
    name = "verified-under-trained"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "model", "generation"})
    uses = ("verification",)
    valid = (
        Example(
            "words the tiny model saw in training: it repeats them",
            None,
            model={"path": TINY_MODEL, "options": {"verify_ids": (" the", " farmer", " found", " river")}},
            generation=True,
        ),
    )
    invalid = (
        Example(
            "a planted token the tiny model never saw in training, next to a word it saw",
            None,
            flagged=(" harbourfieldfield",),
            model={"path": TINY_MODEL, "options": {"verify_ids": (" harbourfieldfield", " river")}},
            generation=True,
            message="the model cannot repeat it: max probability",
            details={"max_prob": lambda prob: prob < 0.01, "grade": "weak-verified"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        verification = ctx.analysis("verification")
        for result in verification.under_trained():
            origin = (
                "; found by the recall sample, outside the verified candidates"
                if result.token_id in verification.sampled_ids
                else ""
            )
            yield ctx.finding(
                f"the model cannot repeat it: max probability {result.max_prob:.2e} < {verification.threshold:g}"
                f" ({result.grade}){origin}",
                token_id=result.token_id,
                max_prob=float(f"{result.max_prob:.7g}"),
                grade=result.grade,
            )
