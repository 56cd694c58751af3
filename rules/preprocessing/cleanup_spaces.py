from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.preprocessing import config_file, pipeline_parts, show_loss
from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext

# What transformers' clean-up of tokenization spaces does to decoded text (documented
# behaviour: spaces before punctuation and before English contractions are removed).
CLEANUP_REPLACEMENTS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def clean_up_spaces(text: str) -> str:
    for old, new in CLEANUP_REPLACEMENTS:
        text = text.replace(old, new)
    return text


class CleanupSpacesOnLosslessTokenizer(Rule):
    """`clean_up_tokenization_spaces` (or a decoder clean-up) on a byte-level tokenizer.

    ## What it does
    Flags a tokenizer whose encoding is lossless (byte-level BPE, or byte fallback)
    when `tokenizer_config.json` sets `clean_up_tokenization_spaces: true` or a decoder
    step has `cleanup: true`, and shows what the clean-up does to a probe string.

    ## Why it matters
    The clean-up removes spaces before punctuation and contractions after decoding,
    so decode is no longer the inverse of encode: "hello !" comes back as "hello!",
    code and non-English text are silently changed, and streamed text differs from
    the same text decoded at once (docs/defects.md #8, #9).

    ## Example
    Llama 3 shipped with `clean_up_tokenization_spaces: true` on a byte-level BPE.

    ## How to fix
    Set `"clean_up_tokenization_spaces": false` in tokenizer_config.json and remove
    `cleanup` from the decoder.

    ## References
    docs/defects.md #8 (tokenizers issue 1543, transformers issue 40088), #9 (tokenizers issue 1164).
    """

    code = "P104"
    name = "cleanup-spaces-lossy-decode"
    severity = Severity.WARNING
    uses = ("probes",)
    valid = (
        Example(
            "clean-up off",
            byte_level_bpe([" hello"]),
            files={"tokenizer_config.json": {"clean_up_tokenization_spaces": False}},
        ),
    )
    invalid = (
        Example(
            "clean-up on a byte-level BPE",
            byte_level_bpe([" hello"]),
            files={"tokenizer_config.json": {"clean_up_tokenization_spaces": True}},
            flagged=("",),
            message="on a lossless (byte-level) tokenizer: decode no longer inverts encode",
            details={"sources": ["tokenizer_config.json clean_up_tokenization_spaces=true"]},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        lossless = view.byte_level or view.facts.byte_fallback
        if not lossless:
            return
        sources = []
        if config_file(view, "tokenizer_config.json").get("clean_up_tokenization_spaces") is True:
            sources.append("tokenizer_config.json clean_up_tokenization_spaces=true")
        sources += [
            f"decoder {part.get('type')} cleanup=true"
            for part in pipeline_parts(view, "decoder")
            if part.get("cleanup")
        ]
        if not sources:
            return
        probes = ctx.analysis("probes")
        example = ""
        for name, text in zip(probes.names, probes.texts):
            cleaned = clean_up_spaces(text)
            if cleaned != text:
                example = f'; probe "{name}" changes {show_loss(text, cleaned)}'
                break
        yield ctx.finding(
            f"{' and '.join(sources)} on a lossless ({'byte-level' if view.byte_level else 'byte-fallback'})"
            f" tokenizer: decode no longer inverts encode{example}",
            sources=sources,
        )
