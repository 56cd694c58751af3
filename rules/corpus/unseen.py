from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.vocabulary import Category
from auditor.core import Finding, Severity, TokenKind
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class UnseenToken(Rule):
    """Reachable token that never occurs in the corpus, not even inside another token.

    ## What it does
    Flags tokens that some text can produce (category OK of the vocabulary analysis)
    but that the corpus never uses: neither on their own nor inside the merge tree of
    a token that occurs. Control and unused tokens are left out, and so are the base
    alphabet's byte tokens (byte-fallback pieces, single bytes of a byte-level BPE)
    unless `include-bytes` is set. Unreachable tokens are V101's business.

    ## Why it matters
    A token the tokenizer's own corpus never uses was not learned from it: it came
    from another corpus, a merged vocabulary or a hand-made list. A model trained on
    similar data never updates its embedding, and the token becomes a glitch token.

    ## Example
    A vocabulary carrying "world" (and the merges building it) linted with a corpus
    that never mentions it.

    ## How to fix
    Train the tokenizer on the corpus it is linted with, or drop the tokens (and their
    merges); when the corpus given is only a sample (`--max-documents`), use more of it.

    ## Options
    - `include-bytes` (false): also flag byte-fallback pieces and single-byte tokens.

    ## References
    Land & Bartolo, "Fishing for Magikarp" (2024); docs/method.md §5.1.
    """

    code = "C103"
    name = "unseen-token"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "corpus"})
    uses = ("vocabulary", "corpus_stats")
    options = (Option("include-bytes", False, "also flag the base alphabet's byte tokens"),)
    valid = (Example("every token occurs", byte_level_bpe(["hello", " world"]), corpus=("hello world",)),)
    invalid = (
        Example(
            "a word and its merges never occur",
            byte_level_bpe(["hello", "world"]),
            flagged=("wo", "wor", "worl", "world"),
            message="never used in the 1 corpus documents",
            details={"documents_scanned": 1, "sampled": False},
            corpus=("hello hello",),
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        vocab = ctx.analysis("vocabulary")
        stats = ctx.analysis("corpus_stats")
        view = ctx.view
        include_bytes = ctx.options["include-bytes"]
        sampled = stats.read.truncated
        for tid in range(view.vocab_size):
            if vocab.categories[tid] is not Category.OK or stats.uses[tid] > 0:
                continue
            kind = view.kinds[tid]
            if kind in (TokenKind.CONTROL, TokenKind.UNKNOWN, TokenKind.UNUSED):
                continue
            token_bytes = view.token_bytes[tid]
            single_byte = view.byte_level and token_bytes is not None and len(token_bytes) == 1
            if not include_bytes and (kind == TokenKind.BYTE or single_byte):
                continue
            yield ctx.finding(
                f"never used in the {stats.n_documents} corpus documents"
                + (" (a --max-documents sample)" if sampled else ""),
                token_id=tid,
                documents_scanned=stats.n_documents,
                sampled=sampled,
            )
