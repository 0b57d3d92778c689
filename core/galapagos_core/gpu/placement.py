"""Where a GPU instance for a model goes: the cheapest (instance type, zone, capacity) whose
total VRAM holds the model's weights plus a headroom for the KV cache, under a capacity
policy. Every candidate left out is listed with why, so a person can follow the choice.

Policies: ``spot`` (spot capacity only), ``on_demand`` (on-demand only),
``spot_with_on_demand_fallback`` (the cheapest spot offer that fits; only when no fitting type
offers spot anywhere, the cheapest on-demand one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from galapagos_model.enums import CapacityKind


class CapacityPolicy(StrEnum):
    SPOT = "spot"
    ON_DEMAND = "on_demand"
    SPOT_WITH_FALLBACK = "spot_with_on_demand_fallback"


@dataclass(frozen=True)
class Offer:
    """One instance type in one zone, with the capacity kinds offered there."""

    instance_type: str
    zone: str
    gpu_count: int
    vram_per_gpu_gb: int
    on_demand_price: Decimal | None
    spot_price: Decimal | None
    capacity: frozenset[CapacityKind]

    @property
    def vram_gb(self) -> int:
        return self.gpu_count * self.vram_per_gpu_gb

    def price(self, kind: CapacityKind) -> Decimal | None:
        return self.spot_price if kind == CapacityKind.SPOT else self.on_demand_price


@dataclass(frozen=True)
class Choice:
    instance_type: str
    zone: str
    capacity: CapacityKind
    hourly_price: Decimal


@dataclass(frozen=True)
class Rejection:
    instance_type: str
    zone: str
    reason: str  # "too small", "unavailable", "policy" or "price"
    detail: str


@dataclass(frozen=True)
class Placement:
    chosen: Choice | None
    rejected: list[Rejection]
    needed_vram_gb: int
    largest: Offer | None  # the offer with the most VRAM (what a "nothing fits" names)


def needed_vram(required_vram_gb: int, headroom: float) -> int:
    """The model's weights plus ``headroom`` (0.2: a fifth more, for the KV cache), in GB."""
    return math.ceil(required_vram_gb * (1 + headroom))


def _kinds(policy: CapacityPolicy) -> tuple[CapacityKind, ...]:
    if policy == CapacityPolicy.SPOT:
        return (CapacityKind.SPOT,)
    if policy == CapacityPolicy.ON_DEMAND:
        return (CapacityKind.ON_DEMAND,)
    return (CapacityKind.SPOT, CapacityKind.ON_DEMAND)


def place(
    offers: list[Offer], required_vram_gb: int, policy: CapacityPolicy, headroom: float = 0.2
) -> Placement:
    need = needed_vram(required_vram_gb, headroom)
    largest = max(offers, key=lambda o: (o.vram_gb, o.instance_type), default=None)
    rejected: list[Rejection] = []
    fitting: list[tuple[Offer, CapacityKind, Decimal]] = []
    allowed = _kinds(policy)
    for offer in sorted(offers, key=lambda o: (o.instance_type, o.zone)):
        if offer.vram_gb < need:
            detail = (
                f"{offer.gpu_count} x {offer.vram_per_gpu_gb} GB = {offer.vram_gb} GB < {need} GB"
            )
            rejected.append(Rejection(offer.instance_type, offer.zone, "too small", detail))
            continue
        usable = [k for k in allowed if k in offer.capacity and offer.price(k) is not None]
        if not usable:
            offered = ", ".join(sorted(offer.capacity)) or "nothing"
            if any(k in offer.capacity for k in allowed):
                reason, detail = "unavailable", "no price for the capacity the policy allows"
            elif offer.capacity:
                reason, detail = (
                    "policy",
                    f"offers {offered}; the policy allows {', '.join(allowed)}",
                )
            else:
                reason, detail = "unavailable", "no capacity offered in this zone"
            rejected.append(Rejection(offer.instance_type, offer.zone, reason, detail))
            continue
        for kind in usable:
            price = offer.price(kind)
            assert price is not None
            fitting.append((offer, kind, price))
    chosen = None
    if fitting:
        # Spot first when the policy prefers it: on-demand only when no spot fits anywhere.
        preferred = [f for f in fitting if f[1] == allowed[0]] or fitting
        offer, kind, price = min(preferred, key=lambda f: (f[2], f[0].instance_type, f[0].zone))
        chosen = Choice(offer.instance_type, offer.zone, kind, price)
        for other, other_kind, other_price in fitting:
            if other is offer and other_kind == kind:
                continue
            if preferred is not fitting and other_kind != kind:
                detail = f"{other_kind} at ${other_price}/h: {kind} is preferred"
                rejected.append(Rejection(other.instance_type, other.zone, "policy", detail))
            else:
                detail = f"{other_kind} at ${other_price}/h > ${price}/h"
                rejected.append(Rejection(other.instance_type, other.zone, "price", detail))
    return Placement(chosen, rejected, need, largest)
