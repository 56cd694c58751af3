"""What verification missed: a uniform sample of the unverified OK tokens and an exact interval.

The candidates are a guess: under-trained tokens whose indicator is not low enough are
never verified, and nothing in the method says how many there are. `--sample N`
verifies N of the OK tokens the budget left unverified (outside the candidate list, and
for the adaptive budget also the list's unverified tail), drawn uniformly without
replacement with a fixed seed (`draw_sample`). If k of the n sampled tokens are under-trained, the
number K of under-trained tokens among all M unverified ones is estimated as k·M/n,
with an exact 95% interval from the hypergeometric distribution (sampling without
replacement from a finite population): the finite-population form of Clopper–Pearson.
It stays valid when k is 0 or tiny, where a normal approximation gives nonsense (an
interval of [0, 0] from 0 hits). The estimated recall of the budgeted run is F/(F + K)
for the F under-trained tokens it found, with the interval carried through.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.core import UserError

CONFIDENCE = 0.95


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _pmf_terms(xs: range, population: int, successes: int, draws: int) -> float:
    total = _log_comb(population, draws)
    out = []
    for x in xs:
        if 0 <= x <= successes and 0 <= draws - x <= population - successes:
            out.append(math.exp(_log_comb(successes, x) + _log_comb(population - successes, draws - x) - total))
    return math.fsum(out)


def hypergeom_cdf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X <= k) for X ~ Hypergeometric(population M, successes K, draws n)."""
    return min(1.0, _pmf_terms(range(k + 1), population, successes, draws))


def hypergeom_sf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X >= k)."""
    return min(1.0, _pmf_terms(range(k, min(draws, successes) + 1), population, successes, draws))


def hypergeom_interval(k: int, n: int, population: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """Exact two-sided interval for the number of successes K in a population of M, given k
    successes in n draws without replacement: the K whose tail probabilities both exceed
    (1 - confidence) / 2 (equal-tailed, like Clopper–Pearson)."""
    if not 0 <= k <= n <= population:
        raise ValueError(f"need 0 <= k <= n <= M, got k={k}, n={n}, M={population}")
    alpha = (1.0 - confidence) / 2
    lo_bound, hi_bound = k, population - (n - k)  # the K consistent with the sample
    if n == population:
        return k, k
    # Lower end: the smallest K with P(X >= k | K) > alpha (that probability grows with K).
    lo = lo_bound
    if k > 0:
        a, b = lo_bound, hi_bound
        while a < b:
            mid = (a + b) // 2
            if hypergeom_sf(k, population, mid, n) > alpha:
                b = mid
            else:
                a = mid + 1
        lo = a
    # Upper end: the largest K with P(X <= k | K) > alpha (that probability falls with K).
    a, b = lo_bound, hi_bound
    while a < b:
        mid = (a + b + 1) // 2
        if hypergeom_cdf(k, population, mid, n) > alpha:
            a = mid
        else:
            b = mid - 1
    return lo, a


@dataclass(frozen=True)
class RecallEstimate:
    """The sample's result and what it says about the tokens the budget did not verify."""

    population: int  # OK tokens the budgeted run did not verify (M)
    sampled: int  # n
    hits: int  # under-trained tokens in the sample (k)
    found: int  # under-trained tokens the budgeted run found (F)
    seed: int
    confidence: float = CONFIDENCE

    @property
    def missed(self) -> float:
        """Estimated under-trained tokens among the unverified ones (k·M/n)."""
        return self.hits * self.population / self.sampled if self.sampled else 0.0

    @functools.cached_property
    def missed_interval(self) -> tuple[int, int]:
        if self.sampled == 0:
            return 0, self.population
        return hypergeom_interval(self.hits, self.sampled, self.population, self.confidence)

    @staticmethod
    def _recall(found: int, missed: float) -> float | None:
        return None if found + missed == 0 else found / (found + missed)

    @property
    def recall(self) -> float | None:
        return self._recall(self.found, self.missed)

    @property
    def recall_interval(self) -> tuple[float | None, float | None]:
        lo, hi = self.missed_interval
        return self._recall(self.found, hi), self._recall(self.found, lo)

    def as_dict(self) -> dict[str, Any]:
        lo, hi = self.missed_interval
        rlo, rhi = self.recall_interval
        return {
            "population": self.population,
            "sampled": self.sampled,
            "seed": self.seed,
            "sample_under_trained": self.hits,
            "found_by_budget": self.found,
            "estimated_missed": round(self.missed, 3),
            "missed_interval": [lo, hi],
            "estimated_recall": _round(self.recall),
            "recall_interval": [_round(rlo), _round(rhi)],
            "confidence": self.confidence,
            "interval_method": "exact hypergeometric (finite-population Clopper-Pearson), equal-tailed",
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def draw_sample(population: Sequence[int], size: int, seed: int) -> list[int]:
    """`size` ids drawn uniformly without replacement (all of them if fewer), sorted.

    Each id is ranked by a hash of (seed, id) and the lowest `size` are kept: a uniformly
    random subset that depends on nothing but the ids, the size and the seed, so the same
    sample comes back on any machine and any numpy version.
    """
    if size < 0:
        raise UserError(f"--sample {size}: must be 0 or more")
    if not 0 <= seed < 2**64:
        raise UserError(f"--seed {seed}: must be between 0 and 2**64 - 1")
    pool = sorted({int(i) for i in population})
    if size >= len(pool):
        return pool
    salt = seed.to_bytes(8, "little", signed=False)

    def rank(i: int) -> bytes:
        return hashlib.blake2b(i.to_bytes(8, "little", signed=True), digest_size=16, key=salt).digest()

    return sorted(sorted(pool, key=rank)[:size])
