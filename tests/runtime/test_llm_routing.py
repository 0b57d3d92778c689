"""The LLM router's order of attempts and its cooldowns (galapagos_runtime.llm_routing)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from galapagos_runtime.llm_routing import Backend, CooldownPolicy, Cooldowns, Plan
from galapagos_runtime.llm_routing import attempts as lazy_attempts
from scipy.stats import chisquare

A, B, C = (Backend(n, f"http://{n}", "m", weight=w) for n, w in (("a", 60), ("b", 30), ("c", 10)))
FALLBACK = Backend("f", "http://f", "m", weight=1, priority=1)
SPARE = Backend("z", "http://z", "m", weight=0)


def attempts(
    backends: list[Backend], cooldowns: Cooldowns, now: float, draw: Any = random.random
) -> list[Backend]:
    """The whole order of attempts (as if every attempt failed)."""
    return list(lazy_attempts(Plan.of(backends), cooldowns, now, draw))


def test_weights_decide_the_first_attempt_within_a_tier() -> None:
    rng = random.Random(7)
    firsts = Counter(attempts([A, B, C], Cooldowns(), 0.0, rng.random)[0].id for _ in range(3000))
    pvalue = chisquare([firsts["a"], firsts["b"], firsts["c"]], [1800, 900, 300]).pvalue
    assert pvalue > 0.01, firsts


def test_later_attempts_share_what_is_left_by_weight() -> None:
    rng = random.Random(11)
    seconds = Counter(
        order[1].id
        for order in (attempts([A, B, C], Cooldowns(), 0.0, rng.random) for _ in range(4000))
        if order[0].id == "a"
    )
    total = seconds["b"] + seconds["c"]
    assert chisquare([seconds["b"], seconds["c"]], [total * 0.75, total * 0.25]).pvalue > 0.01


def test_a_tier_mostly_cooling_down_still_answers_with_those_left() -> None:
    many = [Backend(f"b{i}", "http://x", "m", weight=1 + i % 5) for i in range(1000)]
    cooldowns = Cooldowns(CooldownPolicy(allowed_fails=1))
    for backend in many[:990]:
        cooldowns.failed(backend.id, 0.0)
    order = attempts(many, cooldowns, 1.0, random.Random(3).random)
    assert sorted(b.id for b in order) == sorted(b.id for b in many[990:])


def test_every_backend_of_a_tier_comes_before_the_next_tier_and_weight_zero_last() -> None:
    for seed in range(50):
        order = attempts([FALLBACK, SPARE, A, B], Cooldowns(), 0.0, random.Random(seed).random)
        assert {b.id for b in order[:2]} == {"a", "b"}
        assert [b.id for b in order[2:]] == ["z", "f"]


def test_cooling_backends_are_skipped_and_the_oldest_failure_is_the_last_resort() -> None:
    cooldowns = Cooldowns(CooldownPolicy(allowed_fails=1, cooldown=5))
    cooldowns.failed("a", now=10.0)
    assert [b.id for b in attempts([A, FALLBACK], cooldowns, 11.0)] == ["f"]
    cooldowns.failed("f", now=12.0)
    assert [b.id for b in attempts([A, FALLBACK], cooldowns, 13.0)] == ["a"]  # failed longest ago
    assert {b.id for b in attempts([A, FALLBACK], cooldowns, 15.0)} == {"a"}  # a is back at 15
    assert [b.id for b in attempts([A, FALLBACK], cooldowns, 17.0)] == ["a", "f"]


def test_cooldown_after_allowed_fails_within_the_window() -> None:
    cooldowns = Cooldowns(CooldownPolicy(allowed_fails=3, window=60, cooldown=5))
    cooldowns.failed("a", 0.0)
    cooldowns.failed("a", 1.0)
    assert cooldowns.cooling_until("a", 1.5) is None
    cooldowns.failed("a", 2.0)
    assert cooldowns.cooling_until("a", 2.5) == 7.0
    assert cooldowns.cooling_until("a", 7.0) is None  # ends on time


def test_failures_outside_the_window_or_before_a_success_do_not_count() -> None:
    cooldowns = Cooldowns(CooldownPolicy(allowed_fails=3, window=10, cooldown=5))
    cooldowns.failed("a", 0.0)
    cooldowns.failed("a", 1.0)
    cooldowns.failed("a", 11.5)  # the first two are out of the window
    assert cooldowns.cooling_until("a", 12.0) is None
    cooldowns.failed("a", 12.0)
    cooldowns.succeeded("a")
    cooldowns.failed("a", 13.0)
    assert cooldowns.cooling_until("a", 13.0) is None


def test_retry_after_is_honoured_and_a_repeated_cooldown_extends_the_deadline() -> None:
    cooldowns = Cooldowns(CooldownPolicy(allowed_fails=3, cooldown=5))
    cooldowns.failed("a", 0.0, retry_after=20.0)  # a 429 asking for 20 s: at once
    assert cooldowns.cooling_until("a", 1.0) == 20.0
    cooldowns.failed("a", 10.0)  # tried as last resort, failed again: 5 s from now is sooner
    assert cooldowns.cooling_until("a", 10.0) == 20.0  # never earlier
    cooldowns.failed("a", 18.0, retry_after=30.0)
    assert cooldowns.cooling_until("a", 18.0) == 48.0  # later
    cooldowns.failed("b", 0.0, retry_after=1.0)  # shorter than the cooldown: the cooldown
    assert cooldowns.cooling_until("b", 0.0) == 5.0
