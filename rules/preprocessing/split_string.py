from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.analyses.preprocessing import pipeline_parts
from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext

# Sequences that mean something in a regular expression and rarely occur in a literal
# delimiter: class escapes, Unicode properties, groups, classes, alternation, quantifiers.
REGEX_SIGNS = re.compile(
    r"\\[sSdDwWpPnrtbB]|\\p\{|\(\?|\[\^|\[[^\]]*(?:\\|\w-\w)[^\]]*\]|\w\|\w|\)\||\|\(|[^\\][+*]\??\)|\{\d+,?\d*\}|\)\?"
)
GPT2_LIKE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"


def _split(pattern: dict, behavior: str = "Isolated") -> dict:
    return {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": False}


def _with_split(pattern: dict) -> dict:
    spec = byte_level_bpe([" hello", " world"])
    spec["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            _split(pattern),
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    return spec


class SplitPatternIsString(Rule):
    """`Split` pre-tokenizer whose pattern is a plain string that looks like a regular expression.

    ## What it does
    Reads the pre-tokenizer of a tokenizer.json and flags every `Split` step whose
    pattern is given as `{"String": ...}` although the text looks like a regular
    expression (`\\p{L}`, `\\s+`, `(?i:...)`, `[^...]`, alternations). It also says
    whether the literal text occurs in any of the probe strings.

    ## Why it matters
    A `String` pattern is matched literally: the regular expression never matches,
    nothing is split, whole documents become one pre-token and BPE learns merges
    across words and lines (`ĊĊ`, "the end.\\n\\nThe"). A tokenizer trained that way
    has been shipped and a model trained on it (docs/defects.md #3).

    ## Example
    `{"type": "Split", "pattern": {"String": "'s|'t| ?\\\\p{L}+| ?\\\\p{N}+"}, ...}`
    splits nothing; `{"Regex": ...}` was meant.

    ## How to fix
    Write the pattern as `{"Regex": "..."}` (in Python: `tokenizers.Regex(...)`),
    then retrain the tokenizer: its merges were learned on unsplit text.

    ## References
    docs/defects.md #3 (llama.cpp PR 29211); tokenizers `Split` pre-tokenizer documentation.
    """

    code = "P101"
    name = "split-pattern-is-string"
    severity = Severity.ERROR
    uses = ("probes",)
    valid = (
        Example("the pattern is a Regex", _with_split({"Regex": GPT2_LIKE})),
        Example("a plain string delimiter", _with_split({"String": "\n"})),
        Example("a literal special-token text", _with_split({"String": "[SEP]"})),
    )
    invalid = (
        Example(
            "a regular expression given as String",
            _with_split({"String": GPT2_LIKE}),
            flagged=("",),
            message="which looks like a regular expression: it is matched literally",
            details={"step": 0, "pattern": GPT2_LIKE},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        probes = ctx.analysis("probes")
        for step, part in enumerate(pipeline_parts(ctx.view, "pre_tokenizer")):
            if part.get("type") != "Split":
                continue
            pattern = part.get("pattern")
            text = pattern.get("String") if isinstance(pattern, dict) else None
            if not isinstance(text, str) or not REGEX_SIGNS.search(text):
                continue
            hits = sum(1 for probe in probes.texts if text in probe)
            yield ctx.finding(
                f'Split step {step} of the pre-tokenizer has the plain String pattern "{escape_text(text[:80])}"'
                f"{'...' if len(text) > 80 else ''}, which looks like a regular expression: it is matched"
                f" literally ({hits} of {len(probes.texts)} probe strings contain it), so text is not split;"
                ' use {"Regex": ...}',
                step=step,
                pattern=text,
                probe_matches=hits,
            )
