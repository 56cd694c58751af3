from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class ImplementationMismatch(Rule):
    """Implementations of one tokenizer in one folder that encode text differently.

    ## What it does
    When the artifact's folder holds the same tokenizer in several implementations
    (tokenizer.json, a SentencePiece or tiktoken `tokenizer.model`, a `.tiktoken`
    file, a GGUF vocabulary, transformers' slow files vocab.json + merges.txt or
    vocab.txt), loads each, encodes the probe strings with all of them (no BOS/EOS)
    and reports, per implementation that disagrees, how many probes differ and the
    first divergences with the tokens on both sides. With `--corpus`, it also encodes
    a sample of the corpus with every implementation and reports the documents that
    diverge (a second finding): the first 1,000 documents in the reader's order
    (fewer with `--max-documents`), each cut to its first 64k characters, so the
    sample is the same on every run. Use `tokaudit diff A B [--corpus PATH]` for any
    two tokenizers and a whole corpus.

    ## Why it matters
    Training and inference often run different implementations: the model was
    trained on one segmentation and is served another. Real cases: a GGUF using the
    GPT-2 regex for Llama 3 ("3333+777" split differently), fast and slow tokenizers
    disagreeing on "thermal", a SentencePiece model and its HF conversion, spaces
    after special tokens in one implementation only (docs/defects.md #1, #2, #5, #6, #14).

    ## Example
    A folder with tokenizer.json (Llama 3 regex, digits in groups of three) and a
    GGUF whose `tokenizer.ggml.pre` is "gpt-2" (digits in one run).

    ## How to fix
    Regenerate the derived file from the reference implementation (convert again
    with a converter that knows the pre-tokenizer), or remove the stale file.

    ## Options
    - `max-examples`: divergences shown per implementation.

    ## References
    docs/defects.md #1, #2, #5, #6, #14.
    """

    code = "P112"
    name = "implementation-mismatch"
    severity = Severity.ERROR
    uses = ("implementations",)
    options = (Option("max-examples", 3, "divergences shown per implementation", minimum=1),)
    valid = (Example("a single implementation: nothing to compare", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "a stale tokenizer.model beside tokenizer.json",
            byte_level_bpe([" hello", " world"]),
            files={"tokenizer.model": sentencepiece_bpe(["hello", "world"])},
            flagged=("",),
            message="probe strings differently from tokenizer.json",
            details={"other": "tokenizer.model", "texts": "probe strings"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        result = ctx.analysis("implementations")
        for what, pairs in (("probe strings", result.comparisons), ("sample documents", result.sample_comparisons)):
            for name, comparison in pairs:
                if comparison.equivalent:
                    continue
                shown = "; ".join(
                    divergence.describe() for divergence in comparison.examples[: ctx.options["max-examples"]]
                )
                yield ctx.finding(
                    f"{comparison.b} encodes {comparison.diverging} of {comparison.compared} {what} differently"
                    f" from {comparison.a}: {shown}",
                    other=name,
                    texts=what,
                    diverging=list(comparison.diverging_labels),
                    compared=comparison.compared,
                )
