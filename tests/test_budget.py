"""The adaptive verification budget, the recall estimate and the candidate orderings.

Unit tests run on synthetic verdict sequences and populations (no model); the fixture
tests run the real verification on the tiny trained model (sample_corpora/tiny_model),
whose ground truth is computed here with `--budget all`, never written down.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.core import UserError
from auditor.model.budget import StopRule, run_budget
from auditor.model.recall import (
    RecallEstimate,
    draw_sample,
    hypergeom_cdf,
    hypergeom_interval,
    hypergeom_sf,
)

TINY = Path(__file__).resolve().parent.parent / "sample_corpora" / "tiny_model" / "model"


@dataclass(frozen=True)
class _Verdict:
    token_id: int
    under_trained: bool


def _verifier(hits: set[int], calls: list[list[int]] | None = None):
    def verify_batch(ids):
        if calls is not None:
            calls.append(list(ids))
        return [_Verdict(i, i in hits) for i in ids]

    return verify_batch


# ---------------------------------------------------------------- the stopping rule


def test_window_grows_with_what_was_verified():
    rule = StopRule(min_window=16, ratio=0.5)
    assert rule.window(0) == 16 and rule.window(32) == 16 and rule.window(33) == 17 and rule.window(100) == 50
    assert not rule.met(20, 15) and rule.met(20, 16)
    assert rule.needed(0, 0) == 16
    # A hit at position 30: the second half must be clean, so 30 more are needed.
    assert rule.needed(30, 0) == 30
    assert StopRule(min_window=4, ratio=0.0).needed(10, 1) == 3


@pytest.mark.parametrize("bad", [StopRule(0, 0.5), StopRule(16, 0.99), StopRule(16, -0.1), StopRule(16, float("nan"))])
def test_bad_rule_is_refused(bad):
    with pytest.raises(UserError):
        bad.validate()


def test_adaptive_stops_after_a_clean_second_half():
    ids = list(range(1000))
    hits = set(range(30)) | {872}  # the shape of SmolLM2-135M's list
    out = run_budget(_verifier(hits), ids, "adaptive", StopRule(16, 0.5), batch_size=16)
    assert out.verified == 60 and out.unverified == 940
    assert [r.token_id for r in out.results] == ids[:60]
    assert out.last_hit_position() == 30
    assert "stopping rule met" in out.stop_reason and "last 30 of 60" in out.stop_reason


def test_a_later_find_extends_the_search():
    rule = StopRule(16, 0.5)
    # Finds at 1-3 only: the minimum window of 16 clean candidates ends it at 19, so a
    # token at 41 is missed (the recall sample is what estimates such misses).
    assert run_budget(_verifier({0, 1, 2, 40}), range(500), "adaptive", rule, batch_size=16).verified == 19
    # A find at 16 doubles the depth: 16 more clean ones are needed, the stop moves to 32.
    out = run_budget(_verifier({0, 1, 2, 15}), range(500), "adaptive", rule, batch_size=16)
    assert out.verified == 32 and out.last_hit_position() == 16


def _naive_stop(hits: set[int], n: int, min_window: int, ratio: float) -> int:
    """The rule checked after every single candidate: where a one-at-a-time run stops."""
    streak = 0
    for v in range(n):
        if streak >= max(min_window, math.ceil(ratio * v - 1e-9)):
            return v
        streak = 0 if v in hits else streak + 1
    return n


def test_stop_position_is_the_one_at_a_time_rule_whatever_the_batch_size():
    rng = random.Random(7)
    for trial in range(60):
        n = rng.randint(0, 400)
        density = rng.random() * 0.5
        hits = {i for i in range(n) if rng.random() < density * math.exp(-i / 60)}
        rule = StopRule(rng.randint(1, 40), rng.choice([0.0, 0.25, 0.5, 0.75, 0.95]))
        expected = _naive_stop(hits, n, rule.min_window, rule.ratio)
        for size in (1, 3, 16, 64):
            calls: list[list[int]] = []
            out = run_budget(_verifier(hits, calls), range(n), "adaptive", rule, batch_size=size)
            assert all(len(c) <= size for c in calls)
            assert out.verified == expected, (trial, size, out.verified, expected)


def test_a_ratio_close_to_one_stays_fast():
    import time

    rule = StopRule(min_window=1, ratio=0.95)
    t = time.perf_counter()
    assert rule.needed(10**15, 0) == 19 * 10**15  # solved, not counted
    assert time.perf_counter() - t < 0.1
    for v, s in ((0, 0), (5, 2), (100, 7), (1000, 999)):
        for r in (0.0, 0.3, 1 / 3, 0.5, 0.9, 0.95):
            rl = StopRule(3, r)
            t = rl.needed(v, s)
            assert rl.met(v + t, s + t) and (t == 0 or not rl.met(v + t - 1, s + t - 1))


def test_full_and_all_verify_everything_in_order():
    for budget in ("full", "all"):
        out = run_budget(_verifier({5}), [3, 1, 2, 1, 9], budget, StopRule(), batch_size=2)
        assert [r.token_id for r in out.results] == [3, 1, 2, 9] and out.unverified == 0
    out = run_budget(_verifier(set()), range(10), "adaptive", StopRule(16, 0.5), batch_size=4)
    assert out.verified == 10 and "exhausted" in out.stop_reason
    assert run_budget(_verifier(set()), [], "adaptive", StopRule(), 4).stop_reason == "nothing to verify"
    with pytest.raises(UserError):
        run_budget(_verifier(set()), [1], "half", StopRule(), 4)


# ---------------------------------------------------------------- the interval


def _brute_interval(k, n, m, conf=0.95):
    alpha = (1 - conf) / 2
    feasible = [big for big in range(m + 1) if big >= k and m - big >= n - k]
    lo = min(b for b in feasible if k == 0 or hypergeom_sf(k, m, b, n) > alpha)
    hi = max(b for b in feasible if hypergeom_cdf(k, m, b, n) > alpha)
    return lo, hi


def test_hypergeometric_probabilities_sum_to_one():
    m, big, n = 40, 7, 12
    total = sum(hypergeom_cdf(x, m, big, n) - (hypergeom_cdf(x - 1, m, big, n) if x else 0) for x in range(n + 1))
    assert total == pytest.approx(1.0)
    assert hypergeom_cdf(3, m, big, n) + hypergeom_sf(4, m, big, n) == pytest.approx(1.0)


@pytest.mark.parametrize("m, n", [(30, 5), (60, 20), (100, 50), (25, 25)])
def test_interval_matches_brute_force(m, n):
    for k in range(n + 1):
        assert hypergeom_interval(k, n, m) == _brute_interval(k, n, m), (k, n, m)


def test_interval_near_zero_is_exact_not_normal():
    # 0 hits in 400 of 48,000: K <= 0.025-quantile solution, close to M x (1 - 0.025**(1/n)).
    lo, hi = hypergeom_interval(0, 400, 48_000)
    assert lo == 0
    approx = 48_000 * (1 - 0.025 ** (1 / 400))
    assert abs(hi - approx) / approx < 0.02
    # the whole population sampled: the count is known
    assert hypergeom_interval(3, 50, 50) == (3, 3)


def test_interval_covers_the_truth_at_least_95_percent_of_the_time():
    rng = random.Random(1)
    m, n = 900, 120
    for big in (0, 2, 5, 20):
        population = [1] * big + [0] * (m - big)
        covered = 0
        trials = 300
        for _ in range(trials):
            k = sum(rng.sample(population, n))
            lo, hi = hypergeom_interval(k, n, m)
            covered += lo <= big <= hi
        assert covered / trials >= 0.95, (big, covered)


def test_interval_at_a_large_vocabulary_is_quick_and_sane():
    import time

    t = time.perf_counter()
    lo, hi = hypergeom_interval(12, 5000, 250_000)
    assert time.perf_counter() - t < 2.0
    assert lo < 12 * 250_000 / 5000 < hi
    # close to the binomial (Clopper-Pearson) interval when the sample is 2% of the population
    assert 300 < lo < 360 and 950 < hi < 1100


def test_recall_estimate():
    est = RecallEstimate(population=1000, sampled=100, hits=2, found=30, seed=0)
    assert est.missed == pytest.approx(20.0)
    assert est.recall == pytest.approx(0.6)
    lo, hi = est.missed_interval
    assert lo >= 2 and lo < 20 < hi
    rlo, rhi = est.recall_interval
    assert rlo == pytest.approx(30 / (30 + hi)) and rhi == pytest.approx(30 / (30 + lo))
    d = est.as_dict()
    assert d["missed_interval"] == [lo, hi] and d["estimated_recall"] == 0.6
    assert RecallEstimate(population=10, sampled=5, hits=0, found=0, seed=0).recall is None


def test_sample_is_uniform_deterministic_and_bounded():
    pool = list(range(1000, 0, -1))
    a, b = draw_sample(pool, 50, seed=3), draw_sample(list(reversed(pool)), 50, seed=3)
    assert a == b and len(set(a)) == 50 and a == sorted(a)
    assert draw_sample(pool, 50, seed=4) != a
    assert draw_sample([5, 1], 10, seed=0) == [1, 5]
    counts = [0] * 10
    for seed in range(400):
        for i in draw_sample(range(10), 3, seed):
            counts[i] += 1
    assert all(80 <= c <= 160 for c in counts), counts  # expected 120 each
    with pytest.raises(UserError):
        draw_sample(pool, -1, 0)


# ---------------------------------------------------------------- orderings


def test_roles_last_moves_the_tokens_the_model_uses_to_the_end():
    from auditor.core import TokenKind
    from auditor.model.indicators import SpecialRoles
    from auditor.model.ordering import order_candidates

    class View:  # "a" is written by the template too, but it is an ordinary token
        vocab_size = 6
        pieces = ["<s>", "</s>", "<|im_start|>", "a", "b", "<x>"]
        kinds = [TokenKind.CONTROL] * 3 + [TokenKind.NORMAL] * 2 + [TokenKind.CONTROL]

    roles = SpecialRoles(ids=(0, 1), texts=(), chat_template="{{ '<|im_start|>' + m }}")
    ids = [2, 3, 0, 5, 1, 4]
    assert order_candidates(ids, "indicator", View, roles) == ids
    assert order_candidates(ids, "roles-last", View, roles) == [3, 5, 4, 2, 0, 1]
    with pytest.raises(UserError):
        order_candidates(ids, "random", View, roles)


# ---------------------------------------------------------------- the fixture model


def _audit(**kw):
    from auditor.config import CliSettings
    from auditor.core import ModelOptions
    from auditor.reporters.audit import audit_dict
    from auditor.session import AuditRequest, Session

    request = AuditRequest(model=str(TINY), verify=True, options=ModelOptions.from_mapping(kw))
    result = Session(selection=CliSettings(select=("M105",))).audit_result(request)
    return audit_dict(result)


def _under(report) -> set[int]:
    return {t["token_id"] for t in report["tokens"] if t["verdict"] == "under-trained"}


@pytest.fixture(scope="module")
def planted() -> set[int]:
    if not (TINY / "planted.json").is_file():
        pytest.skip("the tiny model fixture is not present")
    pytest.importorskip("torch")
    return set(json.loads((TINY / "planted.json").read_text())["planted_ids"])


@pytest.fixture(scope="module")
def truth(planted) -> set[int]:
    """Every under-trained OK token of the fixture: `--budget all` verifies the vocabulary."""
    report = _audit(budget="all")
    b = report["model"]["verification"]["budget"]
    assert b["unverified"] == 0 and b["verified"] == b["listed"] > 900
    return _under(report)


def test_adaptive_budget_finds_the_planted_tokens_verifying_a_third(planted, truth):
    # The fixture's default 2% list has 19 candidates for 16 planted tokens, so a third
    # of it cannot hold them: the upper bound here is a 12% list (114 candidates).
    full = _audit(budget="full", candidates_percent=12)
    adaptive = _audit(candidates_percent=12)
    fb, ab = full["model"]["verification"]["budget"], adaptive["model"]["verification"]["budget"]
    assert fb["verified"] == fb["listed"] == full["model"]["candidates"] >= 100
    assert ab["name"] == "adaptive" and ab["ordering"] == "indicator"
    assert ab["verified"] <= fb["listed"] / 3
    assert ab["verified"] + ab["unverified"] == fb["listed"]
    assert "stopping rule met" in ab["stop_reason"]
    verified = {t["token_id"] for t in adaptive["tokens"] if t["verdict"] in ("ok", "under-trained")}
    assert planted <= verified  # every planted token was verified ...
    assert _under(adaptive) == _under(full)  # ... and every one the full list finds is found
    assert planted & truth <= _under(adaptive) and len(planted & truth) >= 15
    unverified = {t["token_id"] for t in adaptive["tokens"] if t["verdict"] == "candidate"}
    assert len(unverified) == ab["unverified"]


def test_recall_interval_contains_the_true_missed_count(planted, truth):
    # Only the 12 most suspicious tokens are candidates: the other planted ones rank outside.
    report = _audit(budget="full", candidates_count=12, sample=300, seed=0)
    ver = report["model"]["verification"]
    found = _under({"tokens": [t for t in report["tokens"] if t["candidate"]]})
    missed = truth - found
    assert len(missed) >= 3  # the test is about tokens the candidates miss
    r = ver["recall"]
    ok = [t for t in report["tokens"] if t["category"] in ("OK", "OK_SPECIAL") and t["indicator"] is not None]
    assert r["population"] == len(ok) - 12
    assert r["sampled"] == 300 and r["found_by_budget"] == len(found)
    lo, hi = r["missed_interval"]
    assert lo <= len(missed) <= hi
    rlo, rhi = r["recall_interval"]
    true_recall = len(found) / len(truth)
    assert rlo <= true_recall <= rhi
    sampled = {t["token_id"] for t in report["tokens"] if t["sampled"]}
    assert len(sampled) == 300 and not sampled & {t["token_id"] for t in report["tokens"] if t["candidate"]}
    # the sample's finds are findings too
    assert {t["token_id"] for t in report["tokens"] if t["sampled"] and t["verdict"] == "under-trained"} <= {
        f["token_id"] for f in report["findings"]
    }
    # sampling every unverified token gives the exact count
    everything = _audit(budget="full", candidates_count=12, sample=5000)["model"]["verification"]["recall"]
    assert everything["missed_interval"] == [len(missed), len(missed)]
    assert everything["estimated_recall"] == round(true_recall, 4)


def test_cli_budget_options_and_deterministic_report(planted, tmp_path):
    runner = CliRunner()
    base = ["audit", str(TINY), "--verify", "--no-progress", "--format", "json", "--cache-dir", str(tmp_path / "c")]
    outs = []
    for name, cache in (("a.json", []), ("b.json", ["--no-cache"]), ("c.json", [])):
        res = runner.invoke(
            app,
            [
                *base,
                "--candidates-percent",
                "12",
                "--sample",
                "50",
                "--order",
                "roles-last",
                "-o",
                str(tmp_path / name),
                *cache,
            ],
        )
        assert res.exit_code == 0, res.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1] == outs[2]  # computed twice, then read from the cache
    report = json.loads(outs[0])
    ver = report["model"]["verification"]
    assert ver["budget"]["ordering"] == "roles-last" and ver["recall"]["sampled"] == 50
    # the adaptive budget's unverified candidates are part of what the sample draws from
    ok = [t for t in report["tokens"] if t["category"] in ("OK", "OK_SPECIAL") and t["indicator"] is not None]
    assert ver["recall"]["population"] == len(ok) - ver["budget"]["verified"]
    assert ver["budget"]["unverified"] > 0
    res = runner.invoke(
        app, ["audit", str(TINY), "--verify", "--no-progress", "--no-cache", "--candidates-percent", "12"]
    )
    assert res.exit_code == 0 and "stopped: stopping rule met" in res.output and "left unverified" in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--verify", "--stop-ratio", "1.5"], "--stop-ratio"),
        (["--sample", "10"], "needs --verify"),
        (["--verify", "--sample", "10", "--verify-ids", "5"], "does not combine"),
        (["--verify", "--sample", "10", "--budget", "all"], "nothing left to sample"),
        (["--verify", "--sample", "10", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_budget_options_exit_2_before_loading(args, message):
    res = CliRunner().invoke(app, ["audit", str(TINY), "--no-progress", "--no-cache", *args])
    assert res.exit_code == 2 and message in res.output


def test_options_a_run_ignores_are_warned_about():
    from auditor.core import ModelOptions

    def warned(verify: bool = False, **kw) -> str:
        return " ".join(ModelOptions.from_mapping(kw).unused(verify=verify))

    assert warned(verify=True) == "" and warned(verify=True, budget="full") == ""
    assert "adaptive budget" in warned(verify=True, budget="full", stop_window=8)
    assert "without --verify" in warned(order="roles-last")
    assert "--verify-ids verifies the ids given" in warned(verify=True, verify_ids=(1,), order="roles-last")
    res = CliRunner().invoke(app, ["audit", str(TINY), "--no-progress", "--no-cache", "--order", "roles-last"])
    assert res.exit_code == 0 and "warning: --budget, --order and --stop-* apply to verification" in res.output
