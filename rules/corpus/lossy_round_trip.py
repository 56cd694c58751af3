from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class LossyRoundTrip(Rule):
    """Corpus documents that do not survive `decode(encode(doc))`.

    ## What it does
    Encodes every corpus document, decodes the ids (without skipping special tokens or
    cleaning up spaces) and compares with the original. One finding gives how many
    documents change and, for the first few, the document and the first differing span
    of each side (escaped).

    ## Why it matters
    A normaliser (lower-casing, NFKC, `\\r\\n` to `\\n`), a collapse of runs of spaces or
    an `<unk>` means the model never sees the text as written: code indentation, line
    endings and rare characters are lost, and the tokens that hold them go untrained
    (Mistral's `\\r` tokens). Detokenized output cannot reproduce the input either.

    ## Example
    A tokenizer with a Lowercase normaliser turns "Hello" into "hello".

    ## How to fix
    Remove or relax the normaliser (keep whitespace, drop lower-casing), enable byte
    fallback so nothing becomes `<unk>`, or normalise the corpus the same way on purpose.

    ## Options
    - `max-examples` (5): documents shown in the finding.

    ## References
    docs/method.md §5.3; docs/defects.md #8, #9, #11, #12, #13, #16.
    """

    code = "C104"
    name = "lossy-round-trip"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "corpus"})
    uses = ("corpus_stats",)
    options = (Option("max-examples", 5, "documents shown in the finding", minimum=1, maximum=10),)
    valid = (
        Example("byte-level BPE keeps every character", byte_level_bpe(["hello"]), corpus=("Hello\r\n  hello 🙂",)),
    )
    invalid = (
        Example(
            "a lower-casing normaliser",
            byte_level_bpe(["hello"], normalizer={"type": "Lowercase"}),
            flagged=("",),
            corpus=("hello", "Hello there"),
            message='corpus.jsonl:line 2, character 0: "Hello there" -> "hello there"',
            details={"lossy_documents": 1, "documents": 2},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        stats = ctx.analysis("corpus_stats")
        if not stats.lossy_documents:
            return
        examples = stats.lossy_examples[: ctx.options["max-examples"]]
        first = examples[0]
        yield ctx.finding(
            f"{stats.lossy_documents} of {stats.n_documents} documents change in decode(encode(doc)); first at "
            f'{first.locator}, character {first.offset}: "{first.original}" -> "{first.decoded}"',
            lossy_documents=stats.lossy_documents,
            documents=stats.n_documents,
            examples=[
                {
                    "document": example.locator,
                    "offset": example.offset,
                    "original": example.original,
                    "decoded": example.decoded,
                }
                for example in examples
            ],
        )
