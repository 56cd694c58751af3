from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext

SHOWN = 8  # tokens quoted in a message (details list up to `max-listed`)


class CorpusPreprocessingMismatch(Rule):
    r"""Tokens of the tokenizer's corpus that the model's corpus never shows, grouped by the preprocessing that removed them.

    ## What it does
    Scans the tokenizer's training corpus (`--corpus`) and a sample of the model's
    training data after its own preprocessing (`--model-corpus`) with the tokenizer,
    profiles both at the character level in the same pass (line endings, tabs, runs
    of spaces, whitespace before line ends, no-break and other Unicode spaces,
    zero-width, bidirectional and control characters, characters NFKC rewrites,
    combining marks, byte order marks, case, U+FFFD), and lists the tokens that occur
    in the tokenizer corpus and never in the model corpus. Each such token is
    explained by the first feature its own text carries that the model corpus lacks
    (absent, or at most `max-rate-ratio` times as frequent per character): one
    finding per feature, with the tokens and their counts in the details. Tokens no
    feature explains get one more finding, but only those whose absence is
    significant: expected at least `min-expected` times in the model corpus (their
    count in the tokenizer corpus scaled by the corpora's sizes); rarer ones are
    counted in the `corpus_mismatch` report section, which also shows the two
    profiles side by side. An unexplained token may still be a consequence of the
    preprocessing: when a neighbouring token took the removed characters, the text
    next to them was segmented differently (Mistral: "))" before ":\r").

    ## Why it matters
    A token the model never sees in training keeps its initial embedding: it is
    under-trained, and prompts holding it make the model misbehave. When the model's
    data pipeline removes something the tokenizer's data had, every token holding it
    vanishes at once. Mistral 7B's tokenizer learned many code tokens ending in `\r`
    from `\r\n` files, while its model data had line endings normalised to `\n`:
    those tokens are under-trained (docs/defects.md #16).

    ## Example
    The tokenizer corpus has Windows line endings (`foo()\r\n`), the model corpus the
    same code with `\n`: "1 token holding \r occurs in the tokenizer corpus and never
    in the model corpus, which has no \r: its line endings were normalised to \n".

    ## How to fix
    Preprocess the tokenizer's training data exactly as the model's (normalise line
    endings, Unicode and whitespace the same way) and train the tokenizer again; or
    keep the tokenizer and stop the model pipeline from removing what the tokenizer
    learned. When the model corpus given is only a small sample, give a larger one:
    an unexplained rare token may simply not be in it.

    ## Options
    - `max-rate-ratio` (0.01): a feature explains absences when the model corpus has
      it at most this many times as often per character as the tokenizer corpus
      (0: only when the model corpus has none at all).
    - `min-expected` (5.0): an unexplained token is reported when it was expected at
      least this many times in the model corpus.
    - `max-listed` (1000): tokens listed in a finding's details.

    ## References
    docs/defects.md #16 (Mistral 7B `\r` tokens); docs/method.md §5.2; Land & Bartolo, "Fishing for Magikarp" (2024).
    """

    code = "P120"
    name = "corpus-preprocessing-mismatch"
    severity = Severity.WARNING
    requires = frozenset({"tokenizer", "corpus", "model_corpus"})
    uses = ("corpus_stats", "model_corpus_stats", "corpus_mismatch")
    options = (
        Option(
            "max-rate-ratio",
            0.01,
            "a feature explains absences when the model corpus has it at most this share as often",
            minimum=0.0,
            maximum=1.0,
        ),
        Option(
            "min-expected",
            5.0,
            "report an unexplained token expected at least this many times in the model corpus",
            minimum=0.0,
        ),
        Option("max-listed", 1000, "tokens listed in a finding's details", minimum=1),
    )
    valid = (
        Example(
            "both corpora keep \\r\\n",
            byte_level_bpe(["hello", "world", "\r\n"]),
            corpus=("hello\r\nworld",),
            model_corpus=("hello\r\nworld hello",),
        ),
        Example(
            "a token missing from a small model sample by chance, explained by nothing",
            byte_level_bpe(["hello", "world"]),
            corpus=("hello world",),
            model_corpus=("hello hello",),
        ),
    )
    invalid = (
        Example(
            "the model corpus had its line endings normalised",
            byte_level_bpe(["hello", "world", "\r\n"]),
            flagged=("",),
            corpus=("hello\r\nworld",),
            model_corpus=("hello\nworld",),
            message="holding \\r occurs in the tokenizer corpus and never in the model corpus, which has no \\r:",
            details={"feature": "cr", "cause": "its line endings were normalised to \\n", "tokens_total": 1},
        ),
        Example(
            "the model corpus was lowercased and its line endings normalised: one finding each",
            byte_level_bpe(["Hello", "hello", "\r\n"]),
            flagged=("", ""),
            corpus=("Hello\r\nhello",),
            model_corpus=("hello\nhello",),
            message="occurs in the tokenizer corpus and never in the model corpus, which has no ",
            details=(
                {"feature": "cr", "cause": "its line endings were normalised to \\n"},
                {"feature": "uppercase", "cause": "it was lowercased"},
            ),
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        mismatch = ctx.analysis("corpus_mismatch")
        ratio, min_expected, listed = (ctx.options[key] for key in ("max-rate-ratio", "min-expected", "max-listed"))
        grouping = mismatch.group(ratio, min_expected)
        sampled = mismatch.model_sampled
        for group in grouping.groups:
            count = len(group.tokens)
            if group.absent:
                where = f"which has no {group.lacks}: {group.why}"
            else:
                times = group.corpus_rate / group.model_rate if group.model_rate else float("inf")
                where = (
                    f"which has {times:,.0f}x fewer {group.lacks} ({group.model_rate:g} vs {group.corpus_rate:g}"
                    f" per million characters): {group.why}, mostly"
                )
            shown = ", ".join(f'"{entry.text}"' for entry in group.tokens[:SHOWN]) + (", ..." if count > SHOWN else "")
            plural = count != 1
            yield ctx.finding(
                f"{count} token{'s' if plural else ''} holding {group.holds} occur{'' if plural else 's'} in the"
                f" tokenizer corpus and never in the model corpus, {where}; the model will not learn"
                f" {'them' if plural else 'it'} (e.g. {shown})",
                feature=group.feature,
                holds=group.holds,
                cause=group.why,
                tokens_total=count,
                tokens=[entry.to_dict() for entry in group.tokens[:listed]],
                corpus_occurrences=group.corpus_occurrences,
                model_corpus_occurrences=group.model_occurrences,
                corpus_per_million_chars=group.corpus_rate,
                model_corpus_per_million_chars=group.model_rate,
                model_corpus_sampled=sampled,
            )
        if grouping.unexplained:
            count = len(grouping.unexplained)
            shown = ", ".join(f'"{entry.text}"' for entry in grouping.unexplained[:SHOWN])
            shown += ", ..." if count > SHOWN else ""
            plural = count != 1
            yield ctx.finding(
                f"{count} token{'s' if plural else ''} occur{'' if plural else 's'} in the tokenizer corpus and never"
                f" in the model corpus although each was expected there at least {min_expected:g} times, and "
                f"{'their' if plural else 'its'} own text carries no signal the model corpus lacks: the corpora "
                f"differ in content, or the segmentation changed next to removed characters (e.g. {shown})",
                feature=None,
                tokens_total=count,
                tokens=[entry.to_dict() for entry in grouping.unexplained[:listed]],
                below_min_expected=grouping.unexplained_rare,
                model_corpus_sampled=sampled,
            )
