from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.preprocessing import has_type, pipeline_parts
from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


def _without_decoder() -> dict:
    spec = byte_level_bpe([" hello", " world"])
    spec["decoder"] = None
    return spec


def _metaspace_wrong_decoder() -> dict:
    spec = byte_level_bpe([" hello"])
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return spec


def _marks_spaces(parts: list[dict]) -> bool:
    """A normaliser or pre-tokenizer that writes spaces as ▁ (Metaspace, Replace(" " -> "▁"))."""
    return any(
        part.get("type") == "Metaspace" or (part.get("type") == "Replace" and "\u2581" in str(part.get("content", "")))
        for part in parts
    )


def _unmarks_spaces(parts: list[dict]) -> bool:
    return any(
        part.get("type") == "Metaspace"
        or (part.get("type") == "Replace" and "\u2581" in str((part.get("pattern") or {}).get("String", "")))
        for part in parts
    )


class DecoderNotInverse(Rule):
    """Decoder that does not undo what the pre-tokenizer or normaliser encodes.

    ## What it does
    Compares the steps of a tokenizer.json: a `ByteLevel` pre-tokenizer needs a
    `ByteLevel` decoder (and the other way round), and spaces written as `▁` by a
    `Metaspace` pre-tokenizer or a `Replace(" " -> "▁")` normaliser need a decoder that
    turns `▁` back into spaces.

    ## Why it matters
    Without the inverse step, decode returns the internal alphabet ("ĠhelloĠworld",
    "▁hello") instead of the text: every generated answer is garbled, and tools that
    compare decode(encode(s)) with s (data pipelines, evaluation, streaming
    detokenizers) see differences everywhere.

    ## Example
    A byte-level BPE saved with `decoder: null` decodes " hello world" as
    "ĠhelloĠworld".

    ## How to fix
    Set the decoder that matches the pre-tokenizer (`decoders.ByteLevel()`,
    `decoders.Metaspace()`), then check with `tokaudit lint --select P110`.

    ## References
    tokenizers documentation: components (pre-tokenizers, decoders); docs/defects.md #9.
    """

    code = "P103"
    name = "decoder-not-inverse"
    severity = Severity.ERROR
    uses = ()
    valid = (Example("ByteLevel pre-tokenizer and decoder", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "ByteLevel pre-tokenizer without a decoder",
            _without_decoder(),
            flagged=("",),
            message="maps bytes to the ByteLevel alphabet but the decoder (none) does not map them back",
            details={"missing": "ByteLevel"},
        ),
        Example(
            "Metaspace pre-tokenizer, ByteLevel decoder: it does not undo the \u2581 and has no bytes to map back",
            _metaspace_wrong_decoder(),
            flagged=("", ""),
            details=({"missing": "Metaspace"}, {"extra": "ByteLevel"}),
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        if ctx.view.format not in ("tokenizer.json", "hf-folder") and not ctx.view.facts.decoder:
            return  # SentencePiece, tiktoken: one library does both directions
        pre_tokenizer = pipeline_parts(ctx.view, "pre_tokenizer")
        normalizer = pipeline_parts(ctx.view, "normalizer")
        decoder = pipeline_parts(ctx.view, "decoder")
        decoder_names = ", ".join(str(part.get("type")) for part in decoder) or "none"
        if has_type(pre_tokenizer, "ByteLevel") and not has_type(decoder, "ByteLevel"):
            yield ctx.finding(
                f"the pre-tokenizer maps bytes to the ByteLevel alphabet but the decoder ({decoder_names}) does not map"
                ' them back: decode gives "Ġhello" for " hello"',
                missing="ByteLevel",
            )
        if has_type(decoder, "ByteLevel") and not has_type(pre_tokenizer + normalizer, "ByteLevel"):
            yield ctx.finding(
                "the decoder is ByteLevel but nothing encodes text into the ByteLevel alphabet: decode misreads"
                " ordinary pieces as bytes",
                extra="ByteLevel",
            )
        if _marks_spaces(pre_tokenizer + normalizer) and not _unmarks_spaces(decoder):
            yield ctx.finding(
                f'spaces are written as "\u2581" before the model but the decoder ({decoder_names}) does not turn'
                ' "\u2581" back into spaces',
                missing="Metaspace",
            )
