from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from auditor.core import Finding, Severity
from auditor.corpus.merge_tree import learned_mask
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext

_SPAM = " zqxv" * 30
_PROSE = ("hello world, hello there", "the world says hello", "hello hello world", "a world of hello")


class SingleDocumentMerge(Rule):
    """Learned token whose support comes from one document (or almost).

    ## What it does
    Reads the corpus statistics and flags every learned token (a merge product, not a
    byte or base character, not an added token) that is used in at most
    `max-documents` documents, or of which one document holds at least `max-top-share`
    of the uses, once it has at least `min-count` uses. A use counts the token on its
    own and inside the merge trees of longer tokens, so the intermediate merges that
    build a repeated string are flagged with it. Each finding names the document that
    holds most of the uses, with the start of its text.

    ## Why it matters
    BPE learns whatever is frequent, and one document that repeats a string thousands
    of times makes it frequent. GPT-2's " SolidGoldMagikarp" and "PsyNetMessage" came
    from one forum thread and one log format; the model's own training data barely held
    them, so their embeddings stayed untrained and the model misbehaves on them.

    ## Example
    A log file that repeats `PsyNetMessageXYZ` 5000 times in one document: the token
    `PsyNetMessageXYZ` and the merges that build it are used in that document only.

    ## How to fix
    Deduplicate the tokenizer's training corpus (drop or cap repeated lines, log spam,
    generated files) and retrain, or cap each document's contribution to the counts.

    ## Options
    - `max-documents` (1): a token used in this many documents or fewer is flagged.
    - `max-top-share` (0.9): a token with at least this share of its uses in one document is flagged.
    - `min-count` (10): tokens with fewer uses are left alone (too rare to judge).

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024); docs/method.md §5.1; docs/defects.md #21.
    """

    code = "C101"
    name = "single-document-merge"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "corpus"})
    uses = ("corpus_stats",)
    options = (
        Option("max-documents", 1, "flag tokens used in at most this many documents", minimum=1),
        Option(
            "max-top-share",
            0.9,
            "flag tokens with at least this share of uses in one document",
            minimum=0.0,
            maximum=1.0,
        ),
        Option("min-count", 10, "ignore tokens with fewer uses", minimum=1),
    )
    valid = (
        Example(
            "tokens spread over many documents",
            byte_level_bpe(["hello", " world"]),
            corpus=_PROSE * 5,
        ),
    )
    invalid = (
        Example(
            "one document repeats an odd identifier: the token and the merges building it",
            byte_level_bpe(["hello", " world", " zqxv"]),
            flagged=(" z", " zq", " zqx", " zqxv"),
            corpus=_PROSE * 5 + ("log:" + _SPAM,),
            message='corpus.jsonl:line 21: "log: zqxv zqxv',
            details={"use_documents": 1, "top_share": 1.0, "uses": 30},
        ),
        Example(
            "one document holds almost every use",
            byte_level_bpe(["hello", " world", " zqxv"]),
            flagged=(" z", " zq", " zqx", " zqxv"),
            options={"max-documents": 1, "max-top-share": 0.9},
            corpus=_PROSE * 5 + ("log:" + _SPAM, "one zqxv here: zqxv"),
            message='corpus.jsonl:line 21: "log: zqxv zqxv',
            details={"use_documents": 2, "top_share": 0.9375},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.analysis("corpus_stats")
        options = ctx.options
        used = stats.uses >= options["min-count"]
        narrow = stats.use_documents <= options["max-documents"]
        concentrated = stats.top_share() >= options["max-top-share"]
        hits = np.flatnonzero(learned_mask(ctx.view) & used & (narrow | concentrated))
        for tid in hits.tolist():
            where = stats.where(tid)
            share = where["top_share"]
            yield ctx.finding(
                f"{where['uses']} uses, {share:.0%} of them in one document ({where['top_document']}: "
                f'"{where["snippet"]}"); used in {where["use_documents"]} document(s)',
                token_id=tid,
                **where,
            )
