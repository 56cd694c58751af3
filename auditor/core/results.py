"""What a command found: per-artifact results, the lint (and audit) result, the baseline outcome."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from auditor.core.findings import Finding, RuleInfo, Severity


def artifact_name(path: str | os.PathLike[str]) -> str:
    """Stable identity of an artifact in reports: relative to the working directory when inside it."""
    p = os.path.abspath(os.fspath(path))
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive on Windows
        return p.replace(os.sep, "/")
    return (p if rel.startswith("..") else rel).replace(os.sep, "/")


@dataclass
class ArtifactResult:
    """What the report says about one artifact besides its findings."""

    description: dict[str, Any]
    categories: dict[str, int] | None = None
    paper_counts: dict[str, int] | None = None
    analyses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What the loader had to guess (an unknown pre-tokenizer): the counts may be wrong.
    # Every report format shows these, and stderr repeats them.
    loader_warnings: list[str] = field(default_factory=list)
    # Per-analysis report sections (corpus statistics, model summary...), by analysis name.
    sections: dict[str, Any] = field(default_factory=dict)
    # The rules that ran on this artifact (its configuration may differ from another's).
    rules_run: list[str] = field(default_factory=list)
    rules_skipped: dict[str, str] = field(default_factory=dict)  # selected for it but not runnable: why
    # Lines for stderr (bad corpus records, documents the tokenizer failed on): not in reports.
    warnings: list[str] = field(default_factory=list)
    verification: VerificationStatus | None = None  # audits: whether verification ran


@dataclass(frozen=True)
class BaselineOutcome:
    """How a run's findings compare with a baseline file."""

    path: str
    new: int
    baselined: int
    stale: tuple[dict[str, Any], ...]  # entries no finding matched any more

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "new": self.new, "baselined": self.baselined, "stale": list(self.stale)}


@dataclass(frozen=True)
class VerificationStatus:
    """Whether the verification a run asked for ran; `problem` says why not."""

    asked: bool
    ran: bool
    problem: str | None = None

    @property
    def failed(self) -> bool:
        return self.asked and not self.ran


@dataclass
class LintResult:
    """The result of `lint` and of `audit` (an audit is a lint run with a model)."""

    artifacts: list[ArtifactResult]
    findings: list[Finding]
    rules_run: list[str]
    rules_skipped: dict[str, str]  # code -> why
    suppressed: int = 0  # findings dropped by config allowlists / per-path ignores
    baseline: BaselineOutcome | None = None  # once a baseline is applied
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # every rule run or found, by code

    def severity_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts

    def warnings(self) -> list[str]:
        """The artifacts' warnings for stderr, each said once: the loaders' guesses first."""
        guesses = (f"{a.description['path']}: {w}" for a in self.artifacts for w in a.loader_warnings)
        return list(dict.fromkeys([*guesses, *(w for a in self.artifacts for w in a.warnings)]))

    def verification_problem(self) -> str | None:
        """Why verification that was asked for did not run (None when it ran or was not asked)."""
        for artifact in self.artifacts:
            if artifact.verification is not None and artifact.verification.failed:
                return artifact.verification.problem
        return None

    def failing(self, fail_on: str) -> bool:
        """True when a finding not in the baseline reaches the --fail-on level."""
        return any(f.fails(fail_on) for f in self.findings)
