from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class LossyNormalizer(Rule):
    """Normaliser that changes text, making vocabulary entries unreachable.

    ## What it does
    Runs the tokenizer's normaliser (NFKC, NFC, Lowercase, StripAccents, Replace,
    BertNormalizer; SentencePiece `nmt_nfkc` and `remove_extra_whitespaces`) alone
    on every vocabulary entry and on the probe strings. Flags the tokenizer when the
    normaliser rewrites vocabulary entries, with their count and examples, and lists
    the probe strings it changes (newlines, runs of spaces, ligatures, accents...).

    ## Why it matters
    The normaliser runs before the model: an entry whose own text it rewrites can
    never be produced (NFKC turns "ŉ" into "ʼn" and "︰" into "..", whitespace
    collapsing removes every entry with "\\n" or two spaces). Those embedding rows are
    never trained. When the text it changes is text users write, the model never sees
    what they typed (docs/defects.md #11, #12, #13).

    ## Example
    A SentencePiece model trained with `remove_extra_whitespaces=true` still holds
    "▁▁▁▁" pieces learned from code: none can be produced.

    ## How to fix
    Remove the normaliser step (or the entries it makes unreachable), or retrain the
    tokenizer with the same normalisation as at inference: the vocabulary should only
    hold normalised text. For SentencePiece, train with
    `normalization_rule_name=identity` and `remove_extra_whitespaces=false`.

    ## Options
    - `min-entries`: findings need at least this many rewritten vocabulary entries
      (0: report a normaliser that only changes probe strings too).
    - `max-examples`: entries shown in the message.

    ## References
    docs/defects.md #11, #12, #13 (sentencepiece issues 101, 684, 839; transformers 6150).
    """

    code = "P102"
    name = "lossy-normalizer"
    severity = Severity.WARNING
    uses = ("normalizer",)
    options = (
        Option("min-entries", 1, "rewritten vocabulary entries needed to report", minimum=0),
        Option("max-examples", 5, "entries shown in the message", minimum=1),
    )
    valid = (
        Example("no normaliser", byte_level_bpe([" hello", "\n\n"])),
        Example(
            "NFC on a vocabulary already in NFC",
            byte_level_bpe([" hello", " caf\u00e9"], normalizer={"type": "NFC"}),
        ),
    )
    invalid = (
        Example(
            "NFKC rewrites a ligature and a presentation form",
            byte_level_bpe([" hello", "\ufb01", "\ufe30"], normalizer={"type": "NFKC"}),
            flagged=("",),
            message='which can then never be produced (e.g. "\ufb01" -> "fi", "\ufe30" -> "..")',
            details={"normalizer": "NFKC", "entries": 2},
        ),
        Example(
            "SentencePiece remove_extra_whitespaces: runs of spaces can never form",
            sentencepiece_bpe(["hello", "    return"], remove_extra_whitespaces=True),
            flagged=("",),
            message="the normaliser (remove_extra_whitespaces) rewrites",
            details={
                "normalizer": "remove_extra_whitespaces",
                "examples": lambda examples: examples and all("  " in example["text"] for example in examples),
            },
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        effect = ctx.analysis("normalizer")
        if effect.description is None:
            return
        entries = effect.changed_entries
        if len(entries) < max(1, ctx.options["min-entries"]) and not (
            ctx.options["min-entries"] == 0 and effect.probe_changes
        ):
            return
        shown = ", ".join(
            f'"{escape_text(text)}" -> "{escape_text(normalized)}"'
            for _tid, text, normalized in entries[: ctx.options["max-examples"]]
        )
        probes = ", ".join(name for name, _before, _after in effect.probe_changes[:8])
        message = (
            f"the normaliser ({effect.description}) rewrites {len(entries)} of {effect.entries_checked} vocabulary"
            f" entries, which can then never be produced"
            + (f" (e.g. {shown})" if shown else "")
            + (f"; it changes {len(effect.probe_changes)} probe strings ({probes})" if probes else "")
        )
        yield ctx.finding(
            message,
            normalizer=effect.description,
            entries=len(entries),
            entry_ids=[tid for tid, _text, _normalized in entries],
            examples=[
                {"id": tid, "text": escape_text(text), "normalized": escape_text(normalized)}
                for tid, text, normalized in entries[:50]
            ],
            probes_changed=[name for name, _before, _after in effect.probe_changes],
        )
