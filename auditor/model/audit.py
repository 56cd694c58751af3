"""`tokaudit audit`: the post-training audit as one run of the engine, and its outputs.

The command is the lint engine with the model rule family selected and a model in the
run's inputs: the rules pull the analyses they need (embeddings -> indicators ->
verification), so nothing here computes facts. This module picks the tokenizer,
and builds the inputs; the audit's reports are in auditor/reporters/audit.py and
audit_markdown.py, its plots in auditor/model/plots.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from auditor.core import BudgetOptions, IndicatorOptions, LintResult, ModelOptions, UserError, VerificationOptions


@dataclass(frozen=True)
class AuditRequest:
    """What the command line asks for; validated before anything is loaded."""

    model: str
    tokenizer: str | None = None
    indicator: str = "auto"
    candidates_percent: float = 2.0
    candidates_count: int | None = None
    threshold: float | None = None
    reference_ids: tuple[int, ...] | None = None
    verify: bool = False
    device: str = "cpu"
    dtype: str = "auto"
    batch_size: int = 16
    exact: bool = False
    verify_ids: tuple[int, ...] | None = None  # verify these instead of the candidates
    cache_dir: str | None = None
    budget: str = "adaptive"  # adaptive | full | all (auditor/model/budget.py)
    stop_window: int = 16
    stop_ratio: float = 0.5
    order: str = "indicator"  # auditor/model/ordering.py
    sample: int = 0  # recall sample size (auditor/model/recall.py)
    seed: int = 0

    def model_options(self) -> ModelOptions:
        return ModelOptions(
            indicators=IndicatorOptions(
                indicator=self.indicator,
                candidates_percent=self.candidates_percent,
                candidates_count=self.candidates_count,
                threshold=self.threshold,
                reference_ids=self.reference_ids,
            ),
            verification=VerificationOptions(
                device=self.device,
                dtype=self.dtype,
                batch_size=self.batch_size,
                exact=self.exact,
                verify_ids=tuple(self.verify_ids or ()),
                # A model transformers cannot run still gets its indicators: verification then
                # reports why it did not run instead of stopping the run.
                required=False,
            ),
            budget=BudgetOptions(
                budget=self.budget,
                order=self.order,
                stop_window=self.stop_window,
                stop_ratio=self.stop_ratio,
                sample=self.sample,
                seed=self.seed,
            ),
        )


def parse_ids(text: str | None, option: str = "--reference-ids") -> tuple[int, ...] | None:
    """'1,2,10-12' -> (1, 2, 10, 11, 12)."""
    if text is None:
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            if dash:
                a, b = int(lo), int(hi)
                if b < a or b - a > 10_000_000:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise UserError(f"{option}: {part!r} is not an id or a range like 10-20") from None
    return tuple(out)


def tokenizer_path(model: str, tokenizer: str | None) -> str:
    """The tokenizer to audit with: --tokenizer, else the GGUF file or the model folder itself."""
    if tokenizer is not None:
        return tokenizer
    p = Path(model)
    if not p.exists():
        raise UserError(f"{model}: no such file or directory")
    if p.is_dir():
        names = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "tokenizer_config.json")
        if not any((p / n).exists() for n in names) and not list(p.glob("*.gguf")) and not list(p.glob("*.tiktoken")):
            raise UserError(f"{model}: the model folder holds no tokenizer; give one with --tokenizer")
        return model
    if p.suffix == ".gguf" or _is_gguf(p):
        return model
    raise UserError(f"{model}: a single weights file carries no tokenizer; give one with --tokenizer")


def _is_gguf(p: Path) -> bool:
    try:
        with p.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def check_output_paths(files: Sequence[str | os.PathLike[str] | None]) -> None:
    """Refuse report paths whose folder does not exist before the (long) run, not after."""
    for f in files:
        if f is None:
            continue
        parent = Path(f).parent
        if not parent.is_dir():
            raise UserError(f"{f}: cannot write the report (no folder {parent})")
        if Path(f).is_dir():
            raise UserError(f"{f}: is a folder, not a report file")


def default_cache_dir() -> str:
    """The same cache folder as `lint` (`$TOKAUDIT_CACHE_DIR`, else `.tokaudit_cache`), so
    `tokaudit clean` clears verification results too."""
    from auditor.cache import default_cache_dir as shared

    return str(shared())


def run_audit(
    request: AuditRequest,
    rules: Sequence[Any],
    *,
    progress: Callable[[str], None] | None = None,
) -> LintResult:
    """Run the selected rules on the model's tokenizer with the model as input."""
    from auditor.cache import Cache
    from auditor.core import RunInputs
    from auditor.engine import run_lint
    request.model_options().check(verify=request.verify)  # bad options fail before loading
    tok = tokenizer_path(request.model, request.tokenizer)
    if not Path(request.model).exists():
        raise UserError(f"{request.model}: no such file or directory")
    cache = Cache(request.cache_dir) if request.cache_dir else None
    inputs = RunInputs(
        model=request.model,
        generation=request.verify,
        model_options=request.model_options(),
        cache=cache,
    )
    return run_lint([tok], rules, inputs=inputs, progress=progress)


def ignored_options(request: AuditRequest) -> list[str]:
    """Options given that this run will not use (warned about, not refused)."""
    stop_given = (request.stop_window, request.stop_ratio) != (16, 0.5)
    out = []
    if request.verify_ids and (stop_given or request.order != "indicator" or request.budget != "adaptive"):
        out.append("--budget, --order and --stop-* choose among the candidates: --verify-ids verifies the ids given")
    elif request.budget != "adaptive" and stop_given:
        out.append(f"--stop-window/--stop-ratio apply to the adaptive budget, not to --budget {request.budget}")
    if not request.verify and (stop_given or request.order != "indicator" or request.budget != "adaptive"):
        out.append("--budget, --order and --stop-* apply to verification: they do nothing without --verify")
    return out


def verification_failure(result: LintResult) -> str | None:
    """Why the verification that was asked for did not run (None when it ran or was not asked)."""
    ver = (result.artifacts[0].sections if result.artifacts else {}).get("verification")
    if ver is None or ver["ran"]:
        return None
    skipped = ver.get("skipped") or ""
    return None if "not asked" in skipped else skipped
