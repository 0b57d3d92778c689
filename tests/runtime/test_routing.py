"""The traffic router's decision (galapagos_runtime.routing): weighted shares, sticky keys,
header matches, the default variant's remainder, shadow copies."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from galapagos_runtime.routing import RoutingTable
from scipy.stats import chisquare


def _table(**config: Any) -> RoutingTable:
    return RoutingTable.from_config(
        {
            "default": "stable",
            "variants": [
                {"name": "stable", "app": "iris", "weight": 70},
                {"name": "canary", "app": "iris--canary", "weight": 20},
                {"name": "variant_b", "app": "iris--variant-b", "weight": 10},
            ],
            **config,
        }
    )


def test_weights_split_requests_in_their_proportions() -> None:
    table = _table()
    draw = random.Random(20261202).random
    counts = Counter(table.choose({}, draw=draw).name for _ in range(5000))
    observed = [counts["stable"], counts["canary"], counts["variant_b"]]
    assert chisquare(observed, [3500, 1000, 500]).pvalue > 0.01


def test_a_sticky_key_always_reaches_the_same_variant_and_keys_split_by_weight() -> None:
    table = _table(sticky={"header": "X-User"})
    chosen: dict[str, set[str]] = {}
    for attempt in range(5):
        other_replica = random.Random(attempt).random  # draws must not matter
        for i in range(1000):
            key = f"user-{i}"
            chosen.setdefault(key, set()).add(
                table.choose({"x-user": key}, draw=other_replica).name
            )
    assert all(len(names) == 1 for names in chosen.values())
    shares = Counter(next(iter(names)) for names in chosen.values())
    assert abs(shares["stable"] / 10 - 70) <= 3
    assert abs(shares["canary"] / 10 - 20) <= 3
    assert abs(shares["variant_b"] / 10 - 10) <= 3


def test_a_sticky_cookie_works_like_a_header() -> None:
    table = _table(sticky={"cookie": "session"})
    first = table.choose({}, {"session": "abc"}).name
    assert all(table.choose({}, {"session": "abc"}).name == first for _ in range(50))


def test_header_matches_come_before_weights() -> None:
    table = RoutingTable.from_config(
        {
            "default": "stable",
            "variants": [
                {"name": "stable", "app": "a", "weight": 100},
                {"name": "beta", "app": "b", "weight": 0, "header_match": {"X-Beta": "yes"}},
            ],
        }
    )
    assert {table.choose({"x-beta": "yes"}).name for _ in range(200)} == {"beta"}
    assert {table.choose({"x-beta": "no"}).name for _ in range(200)} == {"stable"}
    assert {table.choose({}).name for _ in range(200)} == {"stable"}


def test_weight_nobody_was_given_stays_with_the_default_variant() -> None:
    table = RoutingTable.from_config(
        {
            "default": "stable",
            "variants": [
                {"name": "stable", "app": "a", "weight": 0},
                {"name": "canary", "app": "b", "weight": 25},
            ],
        }
    )
    draw = random.Random(7).random
    counts = Counter(table.choose({}, draw=draw).name for _ in range(4000))
    assert chisquare([counts["stable"], counts["canary"]], [3000, 1000]).pvalue > 0.01


def test_weights_over_100_and_a_missing_default_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 100"):
        _table(
            variants=[
                {"name": "stable", "app": "a", "weight": 80},
                {"name": "c", "app": "b", "weight": 30},
            ]
        )
    with pytest.raises(ValueError, match="default"):
        _table(default="nobody")


def test_shadows_get_their_share_of_copies_and_answer_nobody() -> None:
    table = RoutingTable.from_config(
        {
            "default": "stable",
            "variants": [
                {"name": "stable", "app": "a", "weight": 100},
                {"name": "shadow", "app": "s", "weight": 50, "shadow": True},
            ],
        }
    )
    draw = random.Random(3).random
    assert {table.choose({}, draw=draw).name for _ in range(500)} == {"stable"}
    copies = sum(len(table.copies(draw)) for _ in range(4000))
    assert chisquare([copies, 4000 - copies], [2000, 2000]).pvalue > 0.01
