from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class UnreachableToken(Rule):
    """Vocabulary entry that no input text can produce.

    ## What it does
    Decodes every token on its own, encodes the text again and flags tokens whose
    round trip does not give the token back (the method of Land & Bartolo, 2024, §1).
    Byte-fallback pieces and special-looking tokens are left out, as in the paper's
    counts. Each finding says why: an added token matched first, the normaliser or
    pre-tokenizer changing or splitting the text, a lossy decoder, unknown characters,
    or BPE merges that segment the text differently (or never build the token).

    ## Why it matters
    An unreachable token never appears in training data, so its embedding stays at
    its initial value. The model still has a row for it and may emit it, with
    unpredictable results (GPT-NeoX-20B has 221 such tokens).

    ## Example
    GPT-NeoX-20B adds tokens made of 2..24 spaces that are matched before BPE, so the
    vocabulary entries holding such runs ("ĠĠĠĠ", "ĠĠĠĠĠĠĠĠ=") can never form.

    ## How to fix
    Remove the entry (and its merges) or the rule that shadows it; retrain the
    tokenizer with the same preprocessing as the model's data.

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024); docs/method.md §1; docs/defects.md #3, #11, #15.
    """

    code = "V101"
    name = "unreachable-token"
    severity = Severity.ERROR
    uses = ("vocabulary",)
    valid = (Example("every token is built by a merge chain", byte_level_bpe([" hello", " world"])),)
    invalid = (
        Example(
            "an entry that no merge produces",
            byte_level_bpe([" hello"], orphans=["xyzzy"]),
            flagged=("xyzzy",),
            message="unreachable: no BPE merge produces it",
            details={"cause": "no-merge", "category": "UNREACHABLE_MULTI_TOKEN"},
        ),
        Example(
            "an added token shadows a vocabulary entry",
            byte_level_bpe([" hello", "  "], added=[{"content": "  ", "special": False}]),
            flagged=("  ",),
            message='unreachable: added token "  " (id 262) is matched first',
            details={"cause": "added-token-shadow", "reencoded": [262]},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        vocab = ctx.analysis("vocabulary")
        for tid in vocab.paper_unreachable():
            cause = vocab.causes.get(tid)
            reencoded = vocab.reencoded.get(tid, ())
            yield ctx.finding(
                f"unreachable: {cause.message}" if cause else "unreachable",
                token_id=tid,
                category=vocab.categories[tid].value,
                cause=cause.code if cause else None,
                reencoded=list(reencoded),
            )
