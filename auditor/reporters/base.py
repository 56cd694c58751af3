"""What every reporter shares: the base class, the render options, the registry by format name.

A reporter renders the result of each command it supports. `lint` results come as a
`LintResult`; an `audit` result is a `LintResult` too (a lint run with a model), rendered
like a lint unless the reporter has its own audit layout; `diff` results are a
`TokenizerDiff`; `config` results are the effective configuration as plain data;
`encode` results an `EncodeResult`. A
reporter that does not override a command's method does not support that command, and
the session refuses the format before any work is done.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.core import Finding, LintResult

if TYPE_CHECKING:
    from auditor.preprocessing.diff import TokenizerDiff
    from auditor.preprocessing.encoding import EncodeResult

COMMANDS = ("lint", "audit", "diff", "config", "encode")
# A rule that fires on more tokens than this in one artifact is one aggregated result
# (SARIF, GitHub annotations) with the list in its properties, not one per token.
AGGREGATE_OVER = 10


@dataclass(frozen=True)
class RenderOptions:
    fail_on: str = "error"  # the level findings fail at (reports mark failing findings)
    color: bool = False  # ANSI colours (text only)
    max_per_rule: int = 10  # findings listed per rule before "... and N more" (text, markdown)


class Reporter:
    """Base class: set `format` and override the methods of the commands it renders."""

    format: ClassVar[str]

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()

    def lint(self, result: LintResult) -> str:
        raise NotImplementedError

    def audit(self, result: LintResult) -> str:
        return self.lint(result)

    def diff(self, result: TokenizerDiff) -> str:
        raise NotImplementedError

    def config(self, data: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def encode(self, result: EncodeResult) -> str:
        raise NotImplementedError

    @classmethod
    def commands(cls) -> tuple[str, ...]:
        """The commands whose results this reporter renders."""
        own = {name for name in COMMANDS if getattr(cls, name) is not getattr(Reporter, name)}
        if "lint" in own:
            own.add("audit")
        return tuple(c for c in COMMANDS if c in own)


REPORTERS: dict[str, type[Reporter]] = {}


def register(cls: type[Reporter]) -> type[Reporter]:
    """Class decorator: make a reporter known by its format name."""
    if cls.format in REPORTERS and REPORTERS[cls.format] is not cls:
        raise ValueError(f"two reporters for the format {cls.format!r}")
    REPORTERS[cls.format] = cls
    return cls


def rule_groups(result: LintResult) -> Iterator[tuple[str, str, list[Finding]]]:
    """(artifact, rule code, findings) in report order (findings are sorted that way)."""
    for (artifact, code), group in groupby(result.findings, key=lambda f: (f.artifact, f.code)):
        yield artifact, code, list(group)
