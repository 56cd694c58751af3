from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.preprocessing import show_loss
from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


class AddedTokenFlagsAlterText(Rule):
    """Added token whose `lstrip`/`rstrip`/`normalized` flags change the text around it.

    ## What it does
    For every HF added token with `lstrip`, `rstrip` or `normalized` set, encodes
    "a TOKEN b" (and the same across newlines) and decodes it again. Flags the token
    when the round trip loses the spaces around it, or when the normaliser rewrites
    the token's own text so that it can never be matched.

    ## Why it matters
    `lstrip`/`rstrip` make the added token swallow the whitespace next to it: the
    text the model sees differs from the text the user wrote, and decode cannot give
    it back. Implementations that ignore the flags (or a `legacy` mode) then insert or
    drop spaces after special tokens differently, and a prompt format trained one way
    is served another way (docs/defects.md #6).

    ## Example
    `<mask>` with `lstrip: true` turns "a <mask> b" into "a<mask> b".

    ## How to fix
    Set `lstrip`/`rstrip` to false unless the model was trained with exactly that
    behaviour, and `normalized: false` for special tokens.

    ## References
    docs/defects.md #6 (transformers issues 27230, 25073, PR 24565).
    """

    code = "P105"
    name = "added-token-flags-alter-text"
    severity = Severity.WARNING
    valid = (
        Example(
            "an added token without stripping",
            byte_level_bpe([" hello", " a", " b"], added=[{"content": "<mask>", "special": True}]),
        ),
    )
    invalid = (
        Example(
            "lstrip swallows the space before the token",
            byte_level_bpe([" hello", " a", " b"], added=[{"content": "<mask>", "special": True, "lstrip": True}]),
            flagged=("<mask>",),
            message='lstrip changes the text around it: at character 1: "a <mask>',
            details={"flags": ["lstrip"]},
        ),
        Example(
            "a normalised added token the lowercase normaliser rewrites",
            byte_level_bpe(
                [" hello"],
                added=[{"content": "<MASK>", "special": False, "normalized": True}],
                normalizer={"type": "Lowercase"},
            ),
            flagged=("<MASK>",),
            message='normalized=true but the normaliser rewrites its text to "<mask>"',
            details={"flags": ["normalized"]},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        flagged = [added for added in view.added_tokens if added.lstrip or added.rstrip or added.normalized]
        if not flagged:
            return
        texts = [f"a {added.content} b\nc\n{added.content}\nd" for added in flagged]
        decoded = view.decode_batch(view.encode_batch(texts))
        for added, text, back in zip(flagged, texts, decoded):
            flags = [name for name in ("lstrip", "rstrip", "normalized") if getattr(added, name)]
            if added.normalized:
                normalized = view.normalize(added.content)
                if normalized is not None and added.content not in (normalized, normalized.replace("\u2581", " ")):
                    yield ctx.finding(
                        f'normalized=true but the normaliser rewrites its text to "{escape_text(normalized)}": plain text never'
                        " matches it",
                        token_id=added.id,
                        flags=flags,
                    )
                    continue
            if back != text:
                yield ctx.finding(
                    f"{'/'.join(flags)} {'changes' if len(flags) == 1 else 'change'} the text around it: {show_loss(text, back)}",
                    token_id=added.id,
                    flags=flags,
                )
