"""Values that flow from rules to reporters: severities and findings."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    """How bad a finding is. Ordered: error > warning > info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True)
class Finding:
    """One defect a rule found. Frozen: reporters and baselines may hash and sort them.

    `token_id` is None for findings about the tokenizer as a whole. `token` is the
    escaped, terminal-safe rendering of the token (see `auditor.escape`). `details`
    holds rule-specific facts; it must be JSON-serialisable and deterministic.
    """

    code: str
    name: str
    severity: Severity
    message: str
    artifact: str
    token_id: int | None = None
    token: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The token's exact bytes (its piece's UTF-8 for control tokens): what a baseline
    # fingerprint is made of, since ids move when a vocabulary is edited.
    token_bytes: bytes | None = field(default=None, compare=False, hash=False, repr=False)
    # Set once a baseline is applied: True when the baseline holds this finding.
    baselined: bool | None = field(default=None, compare=False, hash=False)

    def fails(self, fail_on: str) -> bool:
        """Whether this finding alone fails a run at the --fail-on level (baselined ones never do)."""
        if fail_on == "never" or self.baselined:
            return False
        return self.severity.rank >= Severity(fail_on).rank

    def sort_key(self) -> tuple:
        return (
            self.artifact,
            self.code,
            -1 if self.token_id is None else self.token_id,
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "artifact": self.artifact,
            "token_id": self.token_id,
            "token": self.token,
            "details": dict(self.details),
        }
        if self.baselined is not None:
            out["baseline"] = "baselined" if self.baselined else "new"
        return out


def token_key(finding: Finding) -> bytes:
    """What identifies a finding inside one artifact and rule, ids left out."""
    if finding.token_bytes is not None:
        return b"b:" + finding.token_bytes
    if finding.token_id is not None:
        return b"t:" + (finding.token or "").encode("utf-8", "surrogatepass")
    return b"m:" + finding.message.encode("utf-8", "surrogatepass")


def fingerprint(finding: Finding, artifact_id: str) -> str:
    """A finding's identity in a baseline and in SARIF: rule, artifact, token bytes (never ids)."""
    h = hashlib.sha256()
    for part in (finding.code.encode(), artifact_id.encode("utf-8", "surrogatepass"), token_key(finding)):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class RuleInfo:
    """What a report says about a rule: its metadata and documentation (from the rule class)."""

    code: str
    name: str
    severity: Severity  # the rule's default, before configuration
    summary: str
    doc: str
    requires: tuple[str, ...]
