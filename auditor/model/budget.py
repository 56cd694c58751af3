"""How many candidates to verify: the adaptive budget and its stopping rule.

Verifying a fixed 2% of the vocabulary (docs/method.md §3) spends most of its time on
ordinary tokens: the under-trained ones cluster at the head of the indicator order
(SmolLM2-135M: 27 of its 28 among the first 30 of 977 candidates). The adaptive budget
verifies candidates in order and stops when the recent ones stop yielding:

    stop once the last W candidates verified hold no under-trained token, where
    W = max(min_window, ceil(ratio x verified so far)).

With the defaults (min_window 16, ratio 0.5) that is "at least 16 candidates, and the
second half of everything verified found nothing": a late find doubles the depth
searched, so a list whose under-trained tokens are spread thin is followed further than
one where they all sit at the top. The paper's whole list stays the upper bound.

Budgets: `adaptive` (default, the rule above, within the candidate list), `full` (every
candidate, as the paper does), `all` (every OK token of the vocabulary in indicator
order: ground truth on small models).

Batches are cut so that no candidate is verified after the rule is met (the next batch
is never longer than what the rule could still need), so where a run stops does not
depend on the batch size.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from auditor.core import BUDGETS, BudgetOptions, UserError


@dataclass(frozen=True)
class StopRule:
    """Stop when the last `window(verified)` verdicts hold no under-trained token."""

    min_window: int = BudgetOptions.stop_window
    ratio: float = BudgetOptions.stop_ratio

    @classmethod
    def of(cls, options: BudgetOptions) -> StopRule:
        return cls(options.stop_window, options.stop_ratio)

    def validate(self) -> None:
        """UserError for a window or ratio the options would refuse."""
        BudgetOptions(stop_window=self.min_window, stop_ratio=self.ratio)

    @functools.cached_property
    def _fraction(self) -> Fraction:
        """The ratio as an exact fraction: the window is computed in integers, no rounding."""
        return Fraction(self.ratio).limit_denominator(1_000_000)

    def window(self, verified: int) -> int:
        f = self._fraction
        return max(self.min_window, -((-f.numerator * verified) // f.denominator))  # ceil

    def met(self, verified: int, streak: int) -> bool:
        """`streak`: verdicts since the last under-trained one (all of them if none yet)."""
        return streak >= self.window(verified)

    def needed(self, verified: int, streak: int) -> int:
        """The fewest more candidates that could meet the rule (if none of them is a hit):
        streak + t >= ratio x (verified + t)  <=>  t >= (ratio x verified - streak) / (1 - ratio),
        solved exactly in integers."""
        f = self._fraction
        num, den = f.numerator, f.denominator
        by_ratio = -((-(num * verified - den * streak)) // (den - num))  # ceil
        return max(0, self.min_window - streak, by_ratio)

    def describe(self) -> str:
        return (
            f"stop when the last max({self.min_window}, ceil({self.ratio:g} x verified)) "
            "candidates verified hold no under-trained token"
        )


@dataclass(frozen=True)
class BudgetOutcome:
    """What a budgeted verification did: results in verification order, and why it ended."""

    budget: str
    results: tuple[Any, ...]  # TokenVerification, in the order verified
    listed: int  # candidates the budget could verify (the list, or the OK vocabulary for `all`)
    stop_reason: str
    seconds: float

    @property
    def verified(self) -> int:
        return len(self.results)

    @property
    def unverified(self) -> int:
        return self.listed - self.verified

    def last_hit_position(self) -> int | None:
        """1-based position of the last under-trained token found (None if none)."""
        hits = [k for k, r in enumerate(self.results) if r.under_trained]
        return hits[-1] + 1 if hits else None


def run_budget(
    verify_batch: Callable[[Sequence[int]], list[Any]],
    ordered_ids: Sequence[int],
    budget: str,
    rule: StopRule,
    batch_size: int,
    progress: Callable[[str], None] | None = None,
) -> BudgetOutcome:
    """Verify `ordered_ids` in order under `budget` (`full`/`all`: every id; `adaptive`: until
    `rule` is met). `verify_batch` maps ids to their results (the Verifier's)."""
    if budget not in BUDGETS:
        raise UserError(f"--budget {budget!r}: choose one of {', '.join(BUDGETS)}")
    rule.validate()
    say = progress or (lambda _msg: None)
    ids = list(dict.fromkeys(int(i) for i in ordered_ids))
    started = time.perf_counter()
    results: list[Any] = []
    streak = 0
    reason = "every candidate verified" if budget != "all" else "every OK token verified"
    while len(results) < len(ids):
        size = batch_size
        if budget == "adaptive":
            if rule.met(len(results), streak):
                reason = f"stopping rule met: no under-trained token among the last {streak} of {len(results)} verified"
                break
            size = min(size, rule.needed(len(results), streak))
        batch = ids[len(results) : len(results) + size]
        for r in verify_batch(batch):
            results.append(r)
            streak = 0 if r.under_trained else streak + 1
        elapsed = time.perf_counter() - started
        found = sum(r.under_trained for r in results)
        say(
            f"verifying ({budget}): {len(results)}/{len(ids)}, {found} under-trained ({len(results) / max(elapsed, 1e-9):.1f}/s)"
        )
    else:
        if not ids:
            reason = "nothing to verify"
        elif budget == "adaptive" and not rule.met(len(results), streak):
            reason = (
                "candidate list exhausted before the stopping rule was met "
                "(finds came close to its end: a longer list, --candidates-percent, may hold more)"
            )
    return BudgetOutcome(
        budget=budget,
        results=tuple(results),
        listed=len(ids),
        stop_reason=reason,
        seconds=time.perf_counter() - started,
    )
