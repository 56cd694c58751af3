"""The values that cross module boundaries, at the bottom of the layers: nothing else of
`auditor` is imported here. Loaders produce a `TokenizerView` with its `TokenizerFacts`;
analyses, rules and reporters read these types; commands build the option records and
`RunInputs` and get back a `LintResult` of `Finding`s. Import them from here.
"""

from auditor.core.documents import Document
from auditor.core.errors import (
    InputError,
    MissingExtraError,
    UserError,
    first_line,
    is_error_or_panic,
)
from auditor.core.findings import Finding, RuleInfo, Severity, fingerprint, token_key
from auditor.core.inputs import RunInputs
from auditor.core.options import (
    BUDGETS,
    DEVICES,
    DTYPES,
    FAIL_ON,
    INDICATORS,
    ORDERINGS,
    BudgetOptions,
    CorpusOptions,
    IndicatorOptions,
    ModelOptions,
    VerificationOptions,
)
from auditor.core.results import (
    ArtifactResult,
    BaselineOutcome,
    LintResult,
    VerificationStatus,
    artifact_name,
)
from auditor.core.view import (
    AddedToken,
    Backend,
    FlatEncodings,
    TokenizerFacts,
    TokenizerView,
    TokenKind,
    token_content,
)

__all__ = [
    "BUDGETS",
    "DEVICES",
    "DTYPES",
    "FAIL_ON",
    "INDICATORS",
    "ORDERINGS",
    "AddedToken",
    "ArtifactResult",
    "Backend",
    "BaselineOutcome",
    "BudgetOptions",
    "CorpusOptions",
    "Document",
    "Finding",
    "FlatEncodings",
    "IndicatorOptions",
    "InputError",
    "LintResult",
    "MissingExtraError",
    "ModelOptions",
    "RuleInfo",
    "RunInputs",
    "Severity",
    "TokenKind",
    "TokenizerFacts",
    "TokenizerView",
    "UserError",
    "VerificationOptions",
    "VerificationStatus",
    "artifact_name",
    "fingerprint",
    "first_line",
    "is_error_or_panic",
    "token_content",
    "token_key",
]
