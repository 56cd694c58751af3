from __future__ import annotations

import json
from collections.abc import Iterator

from auditor.core import Finding, Severity
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.preprocessing.equivalence import Implementation
from auditor.rulebase import Example, Option, Rule, RuleContext


class LockMismatch(Rule):
    """Tokenizer whose behaviour no longer matches its `tokaudit.lock`.

    ## What it does
    When a lock file exists beside the artifact (`tokaudit.lock`, written by
    `tokaudit lock`; or the file given with `--lock`), encodes the probe strings and
    compares the ids with the locked ones, and the vocabulary and configuration with
    their locked hashes. Reports the first probes whose tokenization changed, with
    the tokens before and after. Without a lock file the rule does nothing; an
    artifact the lock does not list is not checked (lock it with `tokaudit lock`).

    ## Why it matters
    A regenerated tokenizer.json, a changed pre-tokenizer regex or a new library
    version can change tokenization without any visible diff in review; a model then
    sees text split differently from its training data (docs/defects.md #1, #2, #4). As a
    pre-commit hook this catches the change before it is committed.

    ## Example
    After a "fix" of the pre-tokenizer regex, "3333+777" encodes as
    "333" + "3" + "+" + "777" instead of "3333" + "+" + "777".

    ## How to fix
    If the change is intended, run `tokaudit lock PATH` and commit the new lock with
    the tokenizer; otherwise revert the tokenizer change.

    ## Options
    - `max-examples`: changed probes shown in the message.

    ## References
    docs/defects.md #1, #2, #4; `tokaudit lock --help`.
    """

    code = "P111"
    name = "lock-mismatch"
    severity = Severity.ERROR
    uses = ("lock", "probes")
    options = (Option("max-examples", 3, "changed probes shown in the message", minimum=1),)
    valid = (Example("no lock file: nothing to compare", byte_level_bpe([" hello"])),)
    invalid = (
        Example(
            "the lock records other encodings and hashes",
            byte_level_bpe([" hello"]),
            files={
                "tokaudit.lock": json.dumps(
                    {
                        "tokaudit_lock": 1,
                        "artifacts": {
                            "tokenizer.json": {
                                "format": "tokenizer.json",
                                "vocab_size": 3,
                                "vocab_hash": "0",
                                "config_hash": "0",
                                "probe_version": 1,
                                "probes": {"plain": [1, 2, 3]},
                            }
                        },
                    }
                )
            },
            flagged=("",),
            message=(
                "1 of 1 probe strings tokenize differently, the vocabulary changed (3 -> 261 ids), the configuration"
                ' changed; plain "Hello world" from token 0: locked ids [1, 2, 3]'
            ),
            details={"changed_probes": ["plain"], "vocab_changed": True, "config_changed": True},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        result = ctx.analysis("lock")
        if result is None or not result.found or result.matches:
            return
        view = ctx.view

        text_of = Implementation.of_view(view).token_text

        def pieces(ids: tuple[int, ...]) -> str:
            return " + ".join(f'"{text_of(i)}"' for i in ids) or "(end)"

        parts = []
        if result.changed_probes:
            parts.append(f"{len(result.changed_probes)} of {result.compared_probes} probe strings tokenize differently")
        if result.vocab_changed:
            locked, now = result.vocab_size or (0, 0)
            parts.append("the vocabulary changed" + (f" ({locked} -> {now} ids)" if locked != now else ""))
        if result.config_changed:
            parts.append("the configuration changed")
        examples = []
        for change in result.changed_probes[: ctx.options["max-examples"]]:
            start = next(
                (i for i, (locked_id, now_id) in enumerate(zip(change.locked, change.now)) if locked_id != now_id),
                min(len(change.locked), len(change.now)),
            )
            examples.append(
                f'{change.name} "{escape_text(change.text[:40])}" from token {start}: locked ids'
                f" {list(change.locked[start : start + 6])}, now {list(change.now[start : start + 6])}"
                f" = {pieces(change.now[start : start + 6])}"
            )
        message = f"does not match {result.lock_path}: " + ", ".join(parts)
        if examples:
            message += "; " + "; ".join(examples)
        if result.probe_version:
            message += f" (lock made with probe set v{result.probe_version[0]}, now v{result.probe_version[1]})"
        message += "; if intended, run 'tokaudit lock' again"
        yield ctx.finding(
            message,
            lock=result.lock_path,
            changed_probes=[change.name for change in result.changed_probes],
            vocab_changed=result.vocab_changed,
            config_changed=result.config_changed,
        )
