from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from auditor.core import Finding, Severity
from auditor.corpus.merge_tree import learned_mask
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class ScaffoldToken(Rule):
    """Learned token that occurs only inside longer tokens, never on its own.

    ## What it does
    Flags learned BPE tokens that the corpus uses only as steps of the merge trees of
    longer tokens: the tokenizer never outputs them on this corpus, so a model trained
    on it never sees them as input. The finding gives how often the token is used
    inside others and the document that uses it most.

    ## Why it matters
    BPE keeps every intermediate merge in the vocabulary. When "Magik" only ever
    exists on the way to "Magikarp", its embedding is never trained; a user text that
    does produce it later (a typo, a different word boundary) meets an untrained token.

    ## Example
    A vocabulary with the merges "he", "hel", "hell", "hello" and a corpus where the
    word is always "hello": "he", "hel" and "hell" are scaffold tokens.

    ## How to fix
    Prune intermediate tokens that are never produced (and their merges) after
    training, or train the model on data where they do occur.

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024), on intermediate merge tokens; docs/method.md §5.1.
    """

    code = "C102"
    name = "scaffold-token"
    severity = Severity.INFO
    requires = frozenset({"tokenizer", "corpus"})
    uses = ("corpus_stats",)
    valid = (
        Example(
            "every intermediate merge also occurs on its own",
            byte_level_bpe(["hello"]),
            corpus=("he hel hell hello", "hello hell"),
        ),
    )
    invalid = (
        Example(
            "intermediate merges used only inside the longer token",
            byte_level_bpe(["hello"]),
            flagged=("he", "hel", "hell"),
            message='corpus.jsonl:line 1: "hello hello"',
            details={"occurrences": 0, "uses": 3, "use_documents": 2},
            corpus=("hello hello", "hello"),
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.analysis("corpus_stats")
        if not stats.merge_tree:
            return
        hits = np.flatnonzero(learned_mask(ctx.view) & (stats.occurrences == 0) & (stats.uses > 0))
        for tid in hits.tolist():
            where = stats.where(tid)
            yield ctx.finding(
                f"never produced on its own; used {where['uses']} times inside longer tokens, in "
                f'{where["use_documents"]} document(s), most in {where["top_document"]}: "{where["snippet"]}"',
                token_id=tid,
                **where,
            )
