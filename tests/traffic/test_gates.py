"""Rollout gates: the verdict over a window of counters (dense logic, checked directly)."""

from __future__ import annotations

import math

from galapagos_core.traffic.gates import Counts, judge
from galapagos_core.traffic.specs import Gates

GATES = Gates(min_requests=50, max_p99_ms=200).model_dump()
INF = math.inf


def _counts(requests: float, errors: float, latencies: dict[float, float]) -> Counts:
    """Counts with a cumulative histogram made from per-bucket counts."""
    total, buckets = 0.0, {}
    for bound, n in sorted(latencies.items()):
        total += n
        buckets[bound] = total
    return Counts(requests, errors, buckets)


def test_the_quantile_interpolates_within_its_bucket_like_promql() -> None:
    counts = _counts(100, 0, {10: 50, 20: 40, 50: 10, INF: 0})
    assert counts.quantile(0.5) == 10
    assert counts.quantile(0.9) == 20
    assert abs((counts.quantile(0.99) or 0) - 47) < 1e-9  # 9 of 10 into (20, 50]
    assert Counts().quantile(0.99) is None
    beyond = _counts(10, 0, {10: 5, INF: 5})
    assert beyond.quantile(0.99) == 10  # past the last finite bound: that bound


def test_a_window_is_the_difference_and_a_restart_counts_as_nothing() -> None:
    before, after = _counts(100, 5, {10: 100}), _counts(160, 8, {10: 160})
    window = after.since(before)
    assert (window.requests, window.errors, window.buckets) == (60, 3, {10: 60})
    assert Counts(10, 0, {10: 10}).since(before).requests == 0


def test_too_few_requests_wait_rather_than_promote_on_silence() -> None:
    verdict = judge(_counts(49, 0, {10: 49}), _counts(500, 0, {10: 500}), GATES)
    assert verdict.decision == "wait"
    assert "49 requests" in verdict.reason


def test_gates_fail_on_absolute_and_relative_limits_and_pass_otherwise() -> None:
    stable = _counts(1000, 1, {10: 990, 20: 10})
    healthy = _counts(100, 0, {10: 95, 20: 5})
    assert judge(healthy, stable, GATES).decision == "pass"
    erring = _counts(100, 20, {10: 100})
    verdict = judge(erring, stable, GATES)
    assert (verdict.decision, verdict.figures["candidate"]["success_rate"]) == ("fail", 0.8)
    slow = _counts(100, 0, {10: 50, 500: 50})
    assert "above 200 ms" in judge(slow, stable, GATES).reason
    relative = judge(_counts(100, 0, {10: 50, 100: 50}), stable, GATES)
    assert relative.decision == "fail"
    assert "times stable's" in relative.reason
    drop = {**GATES, "min_success_rate": 0.9, "max_success_rate_drop": 0.01}
    assert "below stable's" in judge(_counts(100, 3, {10: 100}), stable, drop).reason


def test_counts_survive_being_stored() -> None:
    counts = _counts(10, 1, {10: 9, INF: 1})
    assert Counts.from_json(counts.to_json()) == counts
