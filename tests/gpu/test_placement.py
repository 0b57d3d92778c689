"""Placement over a catalog of 12 instance types in 3 zones: the cheapest type that fits is
chosen, spot is preferred and on-demand is the fallback only when no fitting type offers spot,
and every candidate left out says why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from galapagos_core.gpu.placement import CapacityPolicy, Offer, place
from galapagos_model.enums import CapacityKind

SPOT, ON_DEMAND = CapacityKind.SPOT, CapacityKind.ON_DEMAND
BOTH = frozenset({SPOT, ON_DEMAND})
# name: (gpus, GB per GPU, on-demand $/h, spot $/h)
TYPES = {
    "g4dn.xlarge": (1, 16, "0.526", "0.21"),
    "g6.xlarge": (1, 24, "0.805", "0.35"),
    "g5.xlarge": (1, 24, "1.006", "0.40"),
    "g5.2xlarge": (1, 24, "1.212", "0.48"),
    "g6e.xlarge": (1, 48, "1.861", "0.75"),
    "g4dn.12xlarge": (4, 16, "3.912", "1.60"),
    "g6.12xlarge": (4, 24, "4.602", "1.80"),
    "g5.12xlarge": (4, 24, "5.672", "2.10"),
    "g6e.12xlarge": (4, 48, "10.493", "4.20"),
    "p4d.24xlarge": (8, 40, "32.773", "12.00"),
    "p4de.24xlarge": (8, 80, "40.966", None),
    "p5.48xlarge": (8, 80, "55.040", "27.00"),
}
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def catalog(capacity: dict[tuple[str, str], frozenset[CapacityKind]] | None = None) -> list[Offer]:
    """Every type in every zone, both kinds unless ``capacity`` says otherwise."""
    offers = []
    for name, (gpus, vram, on_demand, spot) in TYPES.items():
        for zone in ZONES:
            kinds = (capacity or {}).get((name, zone), BOTH)
            offers.append(
                Offer(
                    name,
                    zone,
                    gpus,
                    vram,
                    Decimal(on_demand),
                    Decimal(spot) if spot else None,
                    kinds,
                )
            )
    return offers


NO_SPOT_ANYWHERE_FOR_BIG = {
    (name, zone): frozenset({ON_DEMAND})
    for name in TYPES
    for zone in ZONES
    if TYPES[name][0] * TYPES[name][1] >= 168
}


@pytest.mark.parametrize(
    ("case", "vram", "policy", "capacity", "chosen"),
    [
        # 7B in bf16 (15 GB, 18 GB with headroom): the cheapest 24 GB spot.
        ("7b spot", 15, CapacityPolicy.SPOT, None, ("g6.xlarge", SPOT, "0.35")),
        ("7b on-demand", 15, CapacityPolicy.ON_DEMAND, None, ("g6.xlarge", ON_DEMAND, "0.805")),
        (
            "7b fallback, spot there",
            15,
            CapacityPolicy.SPOT_WITH_FALLBACK,
            None,
            ("g6.xlarge", SPOT, "0.35"),
        ),
        # 13B (26 GB, 32 with headroom): one 48 GB L40S beats four 16 GB T4s.
        ("13b spot", 26, CapacityPolicy.SPOT, None, ("g6e.xlarge", SPOT, "0.75")),
        # 70B (140 GB, 168 with headroom): four 48 GB L40S are the cheapest fit.
        (
            "70b on-demand",
            140,
            CapacityPolicy.ON_DEMAND,
            None,
            ("g6e.12xlarge", ON_DEMAND, "10.493"),
        ),
        ("70b spot", 140, CapacityPolicy.SPOT, None, ("g6e.12xlarge", SPOT, "4.20")),
        # No spot for any type that fits: on-demand, as the fallback policy allows.
        (
            "70b fallback, no spot",
            140,
            CapacityPolicy.SPOT_WITH_FALLBACK,
            NO_SPOT_ANYWHERE_FOR_BIG,
            ("g6e.12xlarge", ON_DEMAND, "10.493"),
        ),
        ("70b spot only, no spot", 140, CapacityPolicy.SPOT, NO_SPOT_ANYWHERE_FOR_BIG, None),
        # 405B in bf16 (810 GB, 972 with headroom): nothing in the catalog holds it.
        ("405b", 810, CapacityPolicy.ON_DEMAND, None, None),
    ],
)
def test_placement_table(
    case: str,
    vram: int,
    policy: CapacityPolicy,
    capacity: dict[tuple[str, str], frozenset[CapacityKind]] | None,
    chosen: tuple[str, CapacityKind, str] | None,
) -> None:
    offers = catalog(capacity)
    result = place(offers, vram, policy)
    if chosen is None:
        assert result.chosen is None, case
    else:
        assert result.chosen is not None, case
        got = (result.chosen.instance_type, result.chosen.capacity, str(result.chosen.hourly_price))
        assert got == (chosen[0], chosen[1], chosen[2]), case
    # Every offer but the chosen one is accounted for, with a reason.
    assert len(result.rejected) + (result.chosen is not None) >= len(ZONES) * len(TYPES) - 2
    assert {r.reason for r in result.rejected} <= {"too small", "unavailable", "policy", "price"}


def test_rejections_explain_themselves() -> None:
    result = place(catalog(NO_SPOT_ANYWHERE_FOR_BIG), 140, CapacityPolicy.SPOT)
    by_type = {(r.instance_type, r.zone): r for r in result.rejected}
    assert by_type["g5.xlarge", "us-east-1a"].reason == "too small"
    assert by_type["g5.xlarge", "us-east-1a"].detail == "1 x 24 GB = 24 GB < 168 GB"
    assert by_type["p5.48xlarge", "us-east-1b"].reason == "policy"
    assert result.needed_vram_gb == 168
    assert result.largest is not None
    assert result.largest.instance_type in ("p4de.24xlarge", "p5.48xlarge")


def test_a_zone_without_capacity_is_unavailable_and_spot_preferred_over_cheaper_on_demand() -> None:
    capacity = {("g6.xlarge", zone): frozenset() for zone in ZONES}
    capacity |= {("g4dn.12xlarge", zone): frozenset({ON_DEMAND}) for zone in ZONES}
    result = place(catalog(capacity), 15, CapacityPolicy.SPOT_WITH_FALLBACK)
    assert result.chosen is not None
    assert (result.chosen.instance_type, result.chosen.capacity) == ("g5.xlarge", SPOT)
    reasons = {(r.instance_type, r.zone): r.reason for r in result.rejected}
    assert reasons["g6.xlarge", "us-east-1a"] == "unavailable"
    # An on-demand offer cheaper than nothing else is set aside because spot is preferred.
    assert reasons["g4dn.12xlarge", "us-east-1a"] == "policy"
