from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.preprocessing import config_file, pipeline_parts
from auditor.core import Finding, Severity, TokenizerView
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


def pipeline_prefix_space(view: TokenizerView) -> tuple[bool, str] | None:
    """(adds a space, which step says so) from the tokenizer.json pipeline, or None."""
    for part in pipeline_parts(view, "normalizer"):
        if part.get("type") == "Prepend" and str(part.get("prepend", "")) in ("\u2581", " "):
            return True, "normalizer Prepend"
    for part in pipeline_parts(view, "pre_tokenizer"):
        kind = part.get("type")
        if kind == "ByteLevel" and "add_prefix_space" in part:
            return bool(
                part["add_prefix_space"]
            ), f"pre-tokenizer ByteLevel add_prefix_space={str(bool(part['add_prefix_space'])).lower()}"
        if kind == "Metaspace":
            scheme = part.get("prepend_scheme")
            if scheme is not None:
                return scheme in ("always", "first"), f"pre-tokenizer Metaspace prepend_scheme={scheme}"
            if "add_prefix_space" in part:
                return bool(part["add_prefix_space"]), "pre-tokenizer Metaspace add_prefix_space"
    normalizer = view.facts.normalizer
    if isinstance(normalizer, dict) and "add_dummy_prefix" in normalizer:
        return bool(normalizer["add_dummy_prefix"]), "SentencePiece add_dummy_prefix"
    return None


def _spec(pipeline_flag: bool) -> dict:
    spec = byte_level_bpe([" hello", "hello"])
    spec["pre_tokenizer"]["add_prefix_space"] = pipeline_flag
    return spec


class PrefixSpaceMismatch(Rule):
    """`add_prefix_space` set one way in tokenizer_config.json and another in the pipeline.

    ## What it does
    Compares `add_prefix_space` of tokenizer_config.json with what the tokenizer
    itself does (ByteLevel `add_prefix_space`, Metaspace `prepend_scheme`, a
    `Prepend("▁")` normaliser, SentencePiece `add_dummy_prefix`), and confirms it by
    encoding "Hello": does the first token carry a space?

    ## Why it matters
    transformers loads the fast tokenizer from tokenizer.json and may ignore the
    flag of the config: users who set `add_prefix_space=False` get a space anyway
    (or the reverse), so the first word of every text is tokenized differently from
    training (docs/defects.md #7).

    ## Example
    tokenizer_config.json says `"add_prefix_space": false`, tokenizer.json has
    `ByteLevel(add_prefix_space=true)`: "Hello" encodes as " Hello".

    ## How to fix
    Make both agree (edit tokenizer.json's pre-tokenizer), or remove the flag from
    tokenizer_config.json so there is one source of truth.

    ## References
    docs/defects.md #7 (transformers issues 28622, 29625).
    """

    code = "P107"
    name = "prefix-space-mismatch"
    severity = Severity.WARNING
    valid = (Example("both say false", _spec(False), files={"tokenizer_config.json": {"add_prefix_space": False}}),)
    invalid = (
        Example(
            "config false, pipeline true",
            _spec(True),
            files={"tokenizer_config.json": {"add_prefix_space": False}},
            flagged=("",),
            message='"Hello" encodes with a first token with a space',
            details={"config": False, "pipeline": True, "step": "pre-tokenizer ByteLevel add_prefix_space=true"},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        wanted = config_file(ctx.view, "tokenizer_config.json").get("add_prefix_space")
        if not isinstance(wanted, bool):
            return
        found = pipeline_prefix_space(ctx.view)
        if found is None or found[0] == wanted:
            return
        ids = ctx.view.encode("Hello")
        first = ctx.view.token_bytes[ids[0]] if ids and ids[0] < ctx.view.vocab_size else None
        evidence = ""
        if first is not None:
            spaced = first[:1] == b" "
            evidence = f'; "Hello" encodes with a first token {"with" if spaced else "without"} a space'
        yield ctx.finding(
            f"tokenizer_config.json says add_prefix_space={str(wanted).lower()} but the {found[1]}{evidence}",
            config=wanted,
            pipeline=found[0],
            step=found[1],
        )
