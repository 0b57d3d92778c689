"""The rules a traffic config keeps, checked before anything is written.

Names: 'stable' is the version that keeps whatever weight no other variant is given; names
starting with 'shadow' are shadows (their weight is the share of requests copied to them,
outside the 100); every other variant is a candidate taking its weight of the requests. A
canary or blue-green config tries one candidate at a time; an A/B test any number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from galapagos_core.kernel.errors import InvalidInput
from galapagos_core.traffic import errors
from galapagos_core.workloads.backends.http_route import gateway_of
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend, TrafficStrategy
from galapagos_model.traffic import STABLE

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_ONE_CANDIDATE = {TrafficStrategy.CANARY, TrafficStrategy.BLUE_GREEN}


def is_shadow(name: str) -> bool:
    return name.startswith("shadow")


def is_candidate(name: str) -> bool:
    """A version on trial: neither the stable variant nor a shadow."""
    return name != STABLE and not is_shadow(name)


@dataclass(frozen=True)
class Share:
    """A variant as the rules see it."""

    name: str
    weight: int


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise errors.invalid_variant_name(name)


def check_weight(name: str, weight: int) -> None:
    if not 0 <= weight <= 100:
        raise errors.invalid_weight(name, weight)


def check_variants(strategy: TrafficStrategy, variants: Sequence[Share]) -> None:
    """A whole set of variants: names, weights, one stable, candidates, the sum."""
    seen: set[str] = set()
    candidates: list[str] = []
    for variant in variants:
        check_name(variant.name)
        check_weight(variant.name, variant.weight)
        if variant.name in seen:
            raise errors.variant_exists(variant.name)
        seen.add(variant.name)
        if is_candidate(variant.name):
            if candidates and strategy in _ONE_CANDIDATE:
                raise errors.candidate_exists(strategy.value, candidates[0])
            candidates.append(variant.name)
    if STABLE not in seen:
        raise errors.no_stable_variant()
    check_sum({variant.name: variant.weight for variant in variants})


def check_sum(weights: Mapping[str, int]) -> None:
    """The primary variants' weights (shadows left out) add up to 100 at most."""
    total = sum(w for name, w in weights.items() if not is_shadow(name))
    if total > 100:
        raise errors.weight_sum_exceeds_100(total)


def check_backend(environment: Environment, *, sticky: bool, rollout: bool) -> None:
    """What the environment's backend can route. On Ray and KubeRay the router does
    everything, its rollout gates reading the routers' metrics (on KubeRay from the
    environment's Prometheus); on KServe a Gateway API HTTPRoute does weights, header matches
    and mirrors, but keeps no sticky sessions (not in Gateway API's standard channel) and
    exports no per-variant metrics for rollout gates."""
    backend = environment.backend
    if backend == EnvironmentBackend.RAY:
        return
    refused: str | None = None
    if backend == EnvironmentBackend.KUBERAY:
        if rollout and not environment.env_configs.get("prometheus_url"):
            refused = (
                "rollout gates on KubeRay read the routers' metrics from the environment's "
                "Prometheus: set env_configs.prometheus_url"
            )
    elif gateway_of(environment) is None:
        refused = (
            "traffic variants on KServe need a Gateway: set env_configs.gateway to "
            "{name, namespace, domain}"
        )
    elif sticky:
        refused = "sticky sessions need the Ray router; a Gateway API route keeps none"
    elif rollout:
        refused = "progressive rollouts read the Ray router's metrics; roll out by hand here"
    if refused is not None:
        raise InvalidInput(
            f"{refused} ('{environment.name}' runs {backend.value})",
            code="TRAFFIC_BACKEND_UNSUPPORTED",
            env=environment.name,
            backend=backend.value,
        )
