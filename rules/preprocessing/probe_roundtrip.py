from __future__ import annotations

from collections.abc import Iterator

from auditor.analyses.preprocessing import show_loss
from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe, char_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


def _lossy_decoder() -> dict:
    spec = byte_level_bpe([" hello"])
    spec["decoder"] = {
        "type": "Sequence",
        "decoders": [spec["decoder"], {"type": "Replace", "pattern": {"String": " ?"}, "content": "?"}],
    }
    return spec


class ProbeRoundTrip(Rule):
    """Probe strings that do not survive decode(encode(text)).

    ## What it does
    Encodes a fixed, versioned set of probe strings (runs of spaces, tabs, `\\r\\n`,
    blank lines, NBSP, zero-width and bidi marks, combining characters, numbers,
    emoji with ZWJ, CJK, Arabic, indented code, special-token literals...) without
    BOS/EOS, decodes the ids without clean-up, and reports every probe whose text
    comes back different, with the first place where it differs.

    ## Why it matters
    What does not round-trip is text the model can never see or never write: a
    normaliser collapsing whitespace loses code indentation, a lossy decoder changes
    answers, characters outside the vocabulary become `<unk>`. Such losses are
    invisible in a vocabulary listing and cheap to catch here (docs/defects.md #8, #9, #11,
    #12).

    ## Example
    A decoder step that replaces " ?" with "?" turns "hello ! what ? yes" into
    "hello ! what? yes".

    ## How to fix
    Remove the lossy step (normaliser, decoder clean-up), add byte fallback or the
    missing characters, or accept the loss knowingly with `--ignore P110`.

    ## Options
    - `max-examples`: failing probes shown in the message.

    ## References
    docs/defects.md #8, #9, #11, #12; the probe set is `auditor.probes.PROBE_STRINGS`.
    """

    code = "P110"
    name = "probe-round-trip"
    severity = Severity.WARNING
    uses = ("probes",)
    options = (Option("max-examples", 3, "failing probes shown in the message", minimum=1),)
    valid = (Example("a byte-level BPE round-trips everything", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "a decoder that removes the space before ?",
            _lossy_decoder(),
            flagged=("",),
            message='space-before-punct at character 12: "what ? yes',
            details={"failing": ["space-before-punct"]},
        ),
        Example(
            "characters outside the vocabulary become [UNK]",
            char_bpe("abcdefghijklmnopqrstuvwxyz"),
            flagged=("",),
            message='plain at character 0: "Hello world" became "[UNK]',
            details={"failing": lambda names: "plain" in names and "cjk" in names},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        probes = ctx.analysis("probes")
        losses = probes.losses()
        if not losses:
            return
        shown = "; ".join(
            f"{name} {show_loss(text, back)}" for name, text, back in losses[: ctx.options["max-examples"]]
        )
        yield ctx.finding(
            f"{len(losses)} of {len(probes.names)} probe strings do not survive decode(encode(text)): {shown}",
            probe_version=probes.version,
            failing=[name for name, _t, _b in losses],
        )
