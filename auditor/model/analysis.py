"""Model analyses: embeddings (read once), indicators and candidates, verification by prompting.

`embeddings` reads the two matrices of the run's model (no model load); `indicators`
builds on it and on the vocabulary analysis; `verification` prompts the model with the
indicator candidates when the run asked for generation. The `indicators` result's
report section is the audit's `model` summary and per-token list; it includes the
verification verdicts when that analysis ran in the same store.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from auditor.core import IndicatorOptions, UserError, VerificationStatus
from auditor.escape import escape_bytes, escape_text
from auditor.model.embeddings import ModelEmbeddings
from auditor.model.indicators import (
    Indicators,
    SpecialRoles,
    compute_indicators,
    zero_rows,
)


@dataclass(frozen=True)
class EmbeddingAnalysis:
    """The model's embeddings next to the tokenizer: sizes, zero rows, what does not match."""

    embeddings: ModelEmbeddings
    vocab_size: int  # the tokenizer's ids (max id + 1)
    zero_ids: tuple[int, ...]  # zero / near-zero input rows (tokenizer ids and padding)

    @functools.cached_property
    def zero_output_ids(self) -> tuple[int, ...]:
        """Zero output rows of untied models (reads the output matrix: only when asked)."""
        import numpy as np

        out = self.embeddings.output
        return () if out is None else tuple(int(i) for i in np.flatnonzero(zero_rows(out)))

    @property
    def rows(self) -> int:
        return self.embeddings.rows

    def ids_beyond_rows(self) -> list[int]:
        return list(range(self.rows, self.vocab_size))

    def padding_rows(self) -> range:
        return range(self.vocab_size, self.rows)

    def report_section(self) -> dict[str, Any]:
        d = self.embeddings.describe()
        d["tokenizer_vocab_size"] = self.vocab_size
        d["zero_rows"] = len(self.zero_ids)
        d["notes"] = list(self.embeddings.notes)
        return d


def analyze_embeddings(store: Any) -> EmbeddingAnalysis:
    import numpy as np

    from auditor.model.embeddings import read_embeddings

    if store.inputs.model is None:
        raise UserError("no model given: the embeddings analysis needs one")
    store.progress("reading embeddings")
    emb = read_embeddings(store.inputs.model)
    zero_input_rows = tuple(int(i) for i in np.flatnonzero(zero_rows(emb.input)))
    return EmbeddingAnalysis(embeddings=emb, vocab_size=store.view.vocab_size, zero_ids=zero_input_rows)


@dataclass(frozen=True)
class IndicatorAnalysis:
    """Indicators + candidates, with what the report needs to show them per token."""

    indicators: Indicators
    options: IndicatorOptions
    embeddings: EmbeddingAnalysis
    vocab: Any
    view: Any
    # The report shows the verification verdicts beside the indicators when both ran: the
    # store passes that result to report_section (it is never held here).
    reported_with: ClassVar[tuple[str, ...]] = ("verification",)

    @property
    def candidates(self) -> tuple[int, ...]:
        return self.indicators.candidates

    def token_text(self, tid: int) -> str | None:
        if tid >= self.view.vocab_size or self.view.pieces[tid] is None:
            return None
        tb = self.view.token_bytes[tid]
        return escape_bytes(tb) if tb is not None else escape_text(self.view.pieces[tid] or "")

    def category(self, tid: int) -> str:
        if tid >= self.view.vocab_size:
            return "PADDING_ROW"
        if tid >= self.embeddings.rows:
            return "NO_ROW"
        c = self.vocab.categories[tid]
        return "ID_HOLE" if c is None else c.value

    def model_summary(self, verification: Any | None = None) -> dict[str, Any]:
        indicators = self.indicators
        emb = self.embeddings.embeddings
        described = emb.describe()
        return {
            **{k: described[k] for k in ("path", "format", "architecture", "tied", "embedding_shape")},
            "tokenizer_vocab_size": self.embeddings.vocab_size,
            "indicator": indicators.name,
            "indicator_matrix": indicators.matrix,
            "selection": indicators.selection,
            "threshold": _num(indicators.cutoff),
            "candidates": len(indicators.candidates),
            "reference_source": indicators.reference.source,
            "reference_ids": list(indicators.reference.ids),
            "reference_reasons": indicators.reference.counts(),
            "verified": verification is not None and verification.ran,
            "notes": list(emb.notes) + list(indicators.notes),
        }

    def token_rows(self, verification: Any | None = None) -> list[dict[str, Any]]:
        indicators = self.indicators
        results = verification.by_id() if verification is not None else {}
        sampled = verification.sampled_ids if verification is not None else frozenset()
        cand = set(indicators.candidates)
        reasons = indicators.reference.reasons
        n = max(self.embeddings.rows, self.embeddings.vocab_size)
        rows = []
        values = indicators.values
        for tid in range(n):
            r = results.get(tid)
            if r is not None:
                verdict = r.verdict
            elif tid in cand:
                verdict = "candidate"
            else:
                verdict = None
            rows.append(
                {
                    "token_id": tid,
                    "token": self.token_text(tid),
                    "category": self.category(tid),
                    "indicator": _num(values[tid]) if tid < len(values) else None,
                    "candidate": tid in cand,
                    "sampled": tid in sampled,  # verified for the recall estimate (--sample)
                    "reference": reasons.get(tid),
                    "max_prob": _num(r.max_prob) if r is not None else None,
                    # False: verification stopped at the first probability >= threshold, so
                    # max_prob (and a rejected grade) is a lower bound; verified ones are exact.
                    "max_prob_exact": bool(r.exact) if r is not None else None,
                    "grade": r.grade if r is not None else None,
                    "verdict": verdict,
                }
            )
        return rows

    def report_section(self, verification: Any | None = None) -> dict[str, Any]:
        return {"model": self.model_summary(verification), "tokens": self.token_rows(verification)}


def _num(x: Any) -> float | None:
    """A float the report can hold, rounded to 7 significant digits (stable across BLAS builds)."""
    if x is None:
        return None
    v = float(x)
    if not math.isfinite(v):
        return None
    return float(f"{v:.7g}")


def analyze_indicators(store: Any) -> IndicatorAnalysis:
    emb = store.get("embeddings")
    vocab = store.get("vocabulary")
    options = store.inputs.model_options.indicators
    store.progress("computing indicators")
    e = emb.embeddings
    roles = SpecialRoles(ids=e.role_ids, texts=e.role_texts, chat_template=e.chat_template)
    indicators = compute_indicators(store.view, vocab, e.input, e.output, options, roles)
    return IndicatorAnalysis(indicators=indicators, options=options, embeddings=emb, vocab=vocab, view=store.view)


@dataclass(frozen=True)
class VerificationAnalysis:
    """Verification results (candidates under the budget, then the recall sample), or why
    it did not run."""

    ran: bool
    placeholder_id: int | None
    results: tuple[Any, ...]  # auditor.model.verify.TokenVerification, by token id
    threshold: float
    skipped: str | None = None
    run: Mapping[str, Any] = field(default_factory=dict)  # how it ran (VerificationRun.describe())
    seconds: float = 0.0  # not in the report: reports are byte-for-byte deterministic
    budget: Mapping[str, Any] | None = None  # what the budget verified and why it stopped
    sampled_ids: frozenset[int] = frozenset()  # verified for the recall estimate
    recall: Any = None  # auditor.model.recall.RecallEstimate when --sample ran

    asked: bool = True  # whether the run asked for verification (--verify)

    def by_id(self) -> dict[int, Any]:
        return {r.token_id: r for r in self.results}

    def status(self) -> VerificationStatus:
        return VerificationStatus(asked=self.asked, ran=self.ran, problem=self.skipped)

    def under_trained(self) -> list[Any]:
        return [r for r in self.results if r.verdict == "under-trained"]

    def report_section(self) -> dict[str, Any]:
        # Timings and cache hits change from run to run: they stay out of the report.
        run = {k: v for k, v in self.run.items() if k not in ("seconds", "cached", "verified", "under_trained")}
        return {
            **run,
            "ran": self.ran,
            "skipped": self.skipped,
            "placeholder_id": self.placeholder_id,
            "threshold": self.threshold,
            "verified": len(self.results),
            "under_trained": len(self.under_trained()),
            "budget": dict(self.budget) if self.budget is not None else None,
            "recall": self.recall.as_dict() if self.recall is not None else None,
        }


def check_memory(emb: ModelEmbeddings, device: str, dtype: str, probe: Any = None) -> None:
    """Refuse, before loading, a model that cannot fit the device's free memory."""
    from auditor.model.embeddings import available_memory_bytes, estimate_model_bytes

    need = estimate_model_bytes(emb, dtype, device)
    have = available_memory_bytes(device, probe)
    if need is None or have is None or need <= have:
        return
    gib = 1 << 30
    raise UserError(
        f"verification would load the whole model: about {need / gib:.1f} GiB on {device} "
        f"({emb.parameter_count:,} parameters, dtype {dtype}), but only {have / gib:.1f} GiB is free; "
        "options: --dtype bfloat16 (or float16), --device cuda on a GPU with room for it, "
        "or drop --verify to keep the indicators only"
    )


def analyze_verification(store: Any) -> VerificationAnalysis:
    """Verify the candidates in the chosen order under the budget, then the recall sample
    (ids given with `verify_ids` are verified as given, no budget)."""
    import time

    from auditor.model.budget import StopRule, run_budget
    from auditor.model.ordering import order_candidates
    from auditor.model.recall import RecallEstimate, draw_sample

    model_options = store.inputs.model_options
    asked, wanted = model_options.verification, model_options.budget
    threshold = asked.threshold
    if not store.inputs.generation:
        return VerificationAnalysis(
            False, None, (), threshold, skipped="verification was not asked for (--verify)", asked=False
        )
    model_options.check(verify=True)
    indicators = store.get("indicators")
    budget, ordering, sample_size, seed = wanted.budget, wanted.order, wanted.sample, wanted.seed
    chosen = _chosen_ids(store.view, asked.verify_ids)
    rule = StopRule.of(wanted)
    ok_ids = _ok_ids_in_indicator_order(indicators)
    if chosen:
        budget, listed = "requested", chosen
    elif budget == "all":
        listed = ok_ids
    else:
        listed = list(indicators.candidates)
    e = indicators.embeddings.embeddings
    roles = SpecialRoles(ids=e.role_ids, texts=e.role_texts, chat_template=e.chat_template)
    ordered = listed if chosen else order_candidates(listed, ordering, store.view, roles)
    if not ordered and not sample_size:  # nothing to verify: the model is not loaded
        return VerificationAnalysis(
            True, None, (), threshold, budget=_budget_section(budget, ordering, rule, 0, (), "nothing to verify")
        )
    device = _auto_device() if asked.device == "auto" else asked.device
    check_memory(e, device, asked.dtype)
    try:
        from auditor.model.verify import Verifier, VerifyOptions
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "torch"
        if missing in ("torch", "transformers", "accelerate"):
            from auditor.core import MissingExtraError

            raise MissingExtraError("--verify", missing, "model") from None
        raise
    options = VerifyOptions(
        device=device, dtype=asked.dtype, batch_size=asked.batch_size, threshold=threshold, exact=asked.exact
    )
    start = time.perf_counter()
    try:
        verifier = Verifier(str(store.inputs.model), store.view, options, cache=store.inputs.cache)
    except UserError as exc:
        if asked.required:
            raise
        return VerificationAnalysis(False, None, (), threshold, skipped=str(exc))
    what = "OK tokens" if budget == "all" else "candidates" if budget != "requested" else "tokens"
    store.progress(f"verifying up to {len(ordered)} {what} on {device} ({budget} budget)")
    outcome = run_budget(
        verifier.verify_batch,
        ordered,
        "full" if budget == "requested" else budget,
        rule,
        options.batch_size,
        progress=store.progress,
    )
    results = list(outcome.results)
    recall = None
    sampled: list[int] = []
    if sample_size:
        verified = {r.token_id for r in results}
        population = [i for i in ok_ids if i not in verified]
        sampled = draw_sample(population, sample_size, seed)
        store.progress(f"verifying a recall sample of {len(sampled)} of {len(population)} unverified OK tokens")
        sample_results = verifier.verify_batch(sampled) if sampled else []
        recall = RecallEstimate(
            population=len(population),
            sampled=len(sampled),
            hits=sum(r.under_trained for r in sample_results),
            found=sum(r.under_trained for r in results),
            seed=seed,
        )
        results += sample_results
    run = verifier.summary(results, time.perf_counter() - start, verifier.total_cached)
    return VerificationAnalysis(
        True,
        run.placeholder_id,
        tuple(sorted(results, key=lambda r: r.token_id)),
        threshold,
        run=run.describe(),
        seconds=time.perf_counter() - start,
        budget=_budget_section(budget, ordering, rule, outcome.listed, outcome.results, outcome.stop_reason),
        sampled_ids=frozenset(sampled),
        recall=recall,
    )


def _ok_ids_in_indicator_order(indicators: IndicatorAnalysis) -> list[int]:
    """Every OK token with a finite indicator, lowest first: what `--budget all` verifies and
    what the recall sample draws from."""
    from auditor.model.indicators import select_candidates

    everything = IndicatorOptions(candidates_percent=100.0)
    ids, _cutoff = select_candidates(
        indicators.vocab, indicators.indicators.values, everything, indicators.view.vocab_size
    )
    return list(ids)


def _budget_section(
    budget: str, ordering: str, rule: Any, listed: int, results: tuple[Any, ...], reason: str
) -> dict[str, Any]:
    hits = [k for k, r in enumerate(results) if r.under_trained]
    section: dict[str, Any] = {
        "name": budget,
        "ordering": "as requested" if budget == "requested" else ordering,
        "listed": listed,
        "verified": len(results),
        "unverified": listed - len(results),
        "under_trained": len(hits),
        "last_under_trained_position": hits[-1] + 1 if hits else None,
        "stop_reason": reason,
    }
    if budget == "adaptive":
        section["stop_rule"] = {"min_window": rule.min_window, "ratio": rule.ratio, "rule": rule.describe()}
    return section


def _chosen_ids(view: Any, chosen: Any) -> list[int]:
    """Tokens to verify instead of the indicator candidates: ids, or token texts (exact bytes)."""
    if not chosen:
        return []
    out = []
    for item in chosen:
        if isinstance(item, int) and not isinstance(item, bool):
            if not (0 <= item < view.vocab_size) or view.pieces[item] is None:
                raise UserError(f"--verify-ids: {item} is not a token id of the tokenizer")
            out.append(item)
        else:
            data = str(item).encode("utf-8")
            hits = [i for i, tb in enumerate(view.token_bytes) if tb == data]
            if not hits:
                raise UserError(f"--verify-ids: no token {item!r} in the tokenizer")
            out.append(hits[0])
    return out


def _auto_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
