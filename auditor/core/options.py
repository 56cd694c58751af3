"""Option records: what a run is asked to do, each default written once, validated on creation.

The CLI, the configuration, the rule-example harness and the benchmarks all build these
records; the analyses only read them. A record that exists is valid: a bad value is a
`UserError` naming the command-line option, raised before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.core.errors import UserError

FAIL_ON = ("error", "warning", "info", "never")
INDICATORS = ("auto", "input-norm", "cosine-pc", "cosine")
BUDGETS = ("adaptive", "full", "all")
ORDERINGS = ("indicator", "roles-last")
DEVICES = ("cpu", "cuda", "auto")
DTYPES = ("auto", "float32", "float16", "bfloat16")
MAX_STOP_RATIO = 0.95  # beyond, the window is nearly everything verified: use --budget full


@dataclass(frozen=True)
class CorpusOptions:
    """How corpus files are read (the same for the tokenizer's corpus and the model's)."""

    text_field: str = "text"  # JSON key / Parquet column / dataset column holding the text
    doc_per_line: bool = False  # plain text: one document per line instead of per file
    max_documents: int | None = None  # read only the first N documents (a deterministic sample)

    def __post_init__(self) -> None:
        if not isinstance(self.text_field, str) or not self.text_field:
            raise UserError(f"--text-field {self.text_field!r}: must be a field name")
        if not isinstance(self.doc_per_line, bool):
            raise UserError(f"--doc-per-line must be true or false, not {self.doc_per_line!r}")
        if self.max_documents is not None and (
            isinstance(self.max_documents, bool) or not isinstance(self.max_documents, int) or self.max_documents < 1
        ):
            raise UserError(f"--max-documents {self.max_documents!r}: must be a whole number of at least 1")

    def key(self) -> dict[str, Any]:
        """The options as plain data, sorted: part of a corpus scan's cache key."""
        return {"doc_per_line": self.doc_per_line, "max_documents": self.max_documents, "text_field": self.text_field}


@dataclass(frozen=True)
class IndicatorOptions:
    """How the indicator is computed and the candidates picked (docs/method.md §2)."""

    indicator: str = "auto"  # input-norm for untied models, cosine-pc for tied ones
    candidates_percent: float = 2.0  # OK tokens at or below this percentile of the indicator
    candidates_count: int | None = None  # instead: the N lowest OK tokens
    threshold: float | None = None  # instead: OK tokens with indicator <= X
    reference_ids: tuple[int, ...] | None = None  # user-given unused rows: replace the automatic set

    def __post_init__(self) -> None:
        if self.indicator not in INDICATORS:
            raise UserError(f"--indicator {self.indicator!r}: choose one of {', '.join(INDICATORS)}")
        given = [
            n
            for n, v in (("--candidates-count", self.candidates_count), ("--threshold", self.threshold))
            if v is not None
        ]
        if len(given) > 1:
            raise UserError(f"{' and '.join(given)} both choose the candidates: give one")
        if not 0 < self.candidates_percent <= 100:
            raise UserError(f"--candidates-percent {self.candidates_percent}: must be in (0, 100]")
        if self.candidates_count is not None and self.candidates_count < 0:
            raise UserError("--candidates-count must be 0 or more")
        if self.reference_ids is not None:
            object.__setattr__(self, "reference_ids", tuple(int(i) for i in self.reference_ids))

    def selection(self) -> str:
        if self.candidates_count is not None:
            return f"lowest {self.candidates_count}"
        if self.threshold is not None:
            return f"indicator <= {self.threshold:g}"
        return f"lowest {self.candidates_percent:g}% of OK tokens"


@dataclass(frozen=True)
class VerificationOptions:
    """How candidates are verified by prompting (docs/method.md §3)."""

    device: str = "cpu"  # cpu | cuda | auto
    dtype: str = "auto"  # auto: float32 on CPU, the checkpoint's half type on CUDA
    batch_size: int = 16  # candidates per forward batch
    threshold: float = 0.01  # under-trained when the maximum probability stays below this
    exact: bool = False  # every prompt and step for rejected tokens too (slower; verdicts unchanged)
    verify_ids: tuple[int | str, ...] = ()  # verify these (ids or token texts) instead of the candidates
    # A model transformers cannot run: True stops the run, False reports why verification
    # did not run and keeps the indicators (what `tokaudit audit` wants).
    required: bool = True

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise UserError(f"--device {self.device!r}: expected one of {', '.join(DEVICES)}")
        if self.dtype not in DTYPES:
            raise UserError(f"--dtype {self.dtype!r}: expected one of {', '.join(DTYPES)}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise UserError(f"--batch-size {self.batch_size!r}: the verification batch size must be at least 1")
        if not 0.0 < self.threshold < 1.0:
            raise UserError(f"verification threshold must be between 0 and 1, not {self.threshold}")
        object.__setattr__(self, "verify_ids", tuple(self.verify_ids))


@dataclass(frozen=True)
class BudgetOptions:
    """How many candidates to verify, in which order, and the recall sample (docs/method.md §3.1-§3.3)."""

    budget: str = "adaptive"  # adaptive | full (every candidate, the paper) | all (every OK token)
    order: str = "indicator"  # indicator | roles-last
    stop_window: int = 16  # adaptive: verify at least W, stop after W without a find
    stop_ratio: float = 0.5  # adaptive: the window grows to R x the candidates verified
    sample: int = 0  # verify N random unverified OK tokens to estimate recall
    seed: int = 0  # of the recall sample

    def __post_init__(self) -> None:
        if self.budget not in BUDGETS:
            raise UserError(f"--budget {self.budget!r}: choose one of {', '.join(BUDGETS)}")
        if self.order not in ORDERINGS:
            raise UserError(f"--order {self.order!r}: choose one of {', '.join(ORDERINGS)}")
        if self.stop_window < 1:
            raise UserError(f"--stop-window {self.stop_window}: must be at least 1")
        if not 0.0 <= self.stop_ratio <= MAX_STOP_RATIO:  # also refuses NaN
            raise UserError(f"--stop-ratio {self.stop_ratio:g}: must be between 0 and {MAX_STOP_RATIO:g}")
        if self.sample < 0:
            raise UserError(f"--sample {self.sample}: must be 0 or more")
        if self.sample and self.budget == "all":
            raise UserError("--budget all verifies every OK token: there is nothing left to sample (drop --sample)")
        if not 0 <= self.seed < 2**64:
            raise UserError(f"--seed {self.seed}: must be between 0 and 2**64 - 1")

    @property
    def adaptive_defaults(self) -> bool:
        """Whether the stopping rule is the default one."""
        return (self.stop_window, self.stop_ratio) == (BudgetOptions.stop_window, BudgetOptions.stop_ratio)


@dataclass(frozen=True)
class ModelOptions:
    """Everything a model audit is asked: indicators, verification, budget."""

    indicators: IndicatorOptions = field(default_factory=IndicatorOptions)
    verification: VerificationOptions = field(default_factory=VerificationOptions)
    budget: BudgetOptions = field(default_factory=BudgetOptions)

    def check(self, *, verify: bool) -> None:
        """Refuse combinations that cannot work, before anything loads."""
        if self.budget.sample and self.verification.verify_ids:
            raise UserError("--sample estimates what the candidates miss: it does not combine with --verify-ids")
        if self.budget.sample and not verify:
            raise UserError("--sample verifies tokens by prompting: it needs --verify")

    def unused(self, *, verify: bool) -> list[str]:
        """Options given that a run will not use (warned about, not refused)."""
        b = self.budget
        chose = not b.adaptive_defaults or b.order != "indicator" or b.budget != "adaptive"
        out = []
        if self.verification.verify_ids and chose:
            out.append(
                "--budget, --order and --stop-* choose among the candidates: --verify-ids verifies the ids given"
            )
        elif b.budget != "adaptive" and not b.adaptive_defaults:
            out.append(f"--stop-window/--stop-ratio apply to the adaptive budget, not to --budget {b.budget}")
        if not verify and chose:
            out.append("--budget, --order and --stop-* apply to verification: they do nothing without --verify")
        return out

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ModelOptions:
        """From flat keys named like the records' fields (rule examples, benchmarks)."""
        import dataclasses

        groups: dict[type, dict[str, Any]] = {IndicatorOptions: {}, VerificationOptions: {}, BudgetOptions: {}}
        fields_of = {kind: {f.name for f in dataclasses.fields(kind)} for kind in groups}
        for key, value in values.items():
            owner = next((kind for kind, names in fields_of.items() if key in names), None)
            if owner is None:
                known = sorted(set().union(*fields_of.values()))
                raise UserError(f"unknown model option {key!r}; known: {', '.join(known)}")
            groups[owner][key] = value
        return cls(
            indicators=IndicatorOptions(**groups[IndicatorOptions]),
            verification=VerificationOptions(**groups[VerificationOptions]),
            budget=BudgetOptions(**groups[BudgetOptions]),
        )
