"""A virtual model's effective routing now: its tiers in the order they are tried, each
backend's share of its tier, and on each environment it is deployed on, which backends that
environment's LLM router is cooling down and until when (the latest of its replicas, from
the ``galapagos_llm_cooldown_until`` gauge it exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from galapagos_core.kernel.errors import GalapagosError
from galapagos_core.workloads.metrics import Metrics, prometheus_of
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend, VirtualModelStatus
from galapagos_model.virtual_models import VirtualModelBackend, VirtualModelPlacement

COOLDOWN = "ray_galapagos_llm_cooldown_until"
ENVOY_COOLDOWNS = "on Kubernetes, failing backends are set aside by Envoy itself: not reported"


@dataclass(frozen=True)
class Route:
    backend: VirtualModelBackend
    share: float  # of its tier's requests, when none cools down


@dataclass(frozen=True)
class Tier:
    priority: int
    routes: list[Route]


@dataclass(frozen=True)
class Cooling:
    placement: VirtualModelPlacement
    until: dict[str, datetime]  # backend id → end of its cooldown
    error: str | None = None  # why it could not be read


def tiers(backends: list[VirtualModelBackend]) -> list[Tier]:
    """Active backends by tier (0 first), the heaviest first within a tier; weight 0 comes
    last, as the last resort of its tier."""
    by_priority: dict[int, list[VirtualModelBackend]] = {}
    for backend in backends:
        if backend.status == VirtualModelStatus.ACTIVE:
            by_priority.setdefault(backend.priority, []).append(backend)
    found = []
    for priority in sorted(by_priority):
        members = sorted(by_priority[priority], key=lambda b: (-b.weight, b.name))
        total = sum(b.weight for b in members)
        found.append(
            Tier(priority, [Route(b, b.weight / total if total else 0.0) for b in members])
        )
    return found


class LlmFigures(Metrics):
    async def cooling(self, environment: Environment) -> dict[str, datetime]:
        """Backends the environment's router cools down now, until when, by backend id."""
        latest: dict[str, float] = {}
        prometheus = prometheus_of(environment)
        if prometheus:
            for labels, value in await self.query(prometheus, f"max by (backend) ({COOLDOWN})"):
                latest[labels["backend"]] = value
        else:
            for sample in await self.ray_samples(environment):
                if sample.name == COOLDOWN:
                    backend = sample.labels["backend"]
                    latest[backend] = max(latest.get(backend, 0.0), sample.value)
        now = datetime.now(UTC).timestamp()
        return {b: datetime.fromtimestamp(t, UTC) for b, t in latest.items() if t > now}

    async def placements(self, placements: list[VirtualModelPlacement]) -> list[Cooling]:
        found = []
        for placement in placements:
            if placement.environment.backend != EnvironmentBackend.RAY:
                found.append(Cooling(placement, {}, ENVOY_COOLDOWNS))
                continue
            try:
                found.append(Cooling(placement, await self.cooling(placement.environment)))
            except GalapagosError as exc:
                found.append(Cooling(placement, {}, exc.message))
        return found
