"""The traffic controller: the part of each reconcile pass that moves traffic configs along.

- Drained variants are removed once their drain time is over.
- Each router's table follows its variants (a variant that became ready joins it).
- A progressive rollout takes its next step when the candidate passed every gate over the
  step's interval (the routers' counters read at the step's start and now), is promoted
  after its last step, and is rolled back as soon as a gate fails, on every pass during the
  step, not only at its end; with too few requests it waits. Every decision is an event of
  the candidate's deployment, with its figures.

Everything it acts on is in the database (the step, since when, the counters at its start),
so a worker that takes over, or restarts after a crash, continues at the step it was on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from galapagos_core.kernel.config import TrafficSettings
from galapagos_core.kernel.errors import GalapagosError
from galapagos_core.kernel.transactions import transactional
from galapagos_core.traffic.gates import Counts, judge
from galapagos_core.traffic.metrics import RouterMetrics
from galapagos_core.traffic.router import sync_router
from galapagos_core.traffic.rules import is_candidate
from galapagos_core.traffic.service import Scope, TrafficService
from galapagos_core.workloads.spec import Observed, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import TrafficStatus, VariantStatus
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.traffic import STABLE, TrafficConfig, TrafficVariant

log = logging.getLogger("galapagos.traffic")


def _rolling(config: TrafficConfig) -> bool:
    return config.rollout_step is not None and config.status == TrafficStatus.ACTIVE


def _candidate(variants: list[TrafficVariant]) -> TrafficVariant | None:
    live = [v for v in variants if is_candidate(v.name) and v.status != VariantStatus.DRAINING]
    return live[0] if live else None


def _label(step: int, steps: int, weight: int) -> str:
    return f"rollout step {step + 1} of {steps} at {weight}%"


async def _event(candidate: TrafficVariant, message: str) -> None:
    """An event of the candidate's deployment."""
    workload = await workload_queries.workload_of_variant(candidate.id)
    assert workload is not None
    await deployment_queries.record_event_by_id(workload.deployment_id, message)


class TrafficController:
    def __init__(
        self, settings: TrafficSettings, service: TrafficService, metrics: RouterMetrics
    ) -> None:
        self.settings = settings
        self.service = service
        self.metrics = metrics

    async def prepare(self, environment: Environment) -> list[WorkloadSpec]:
        """Before the environment's workloads are reconciled: bring its configs along (the
        routers are workloads: it wants nothing else)."""
        await self._prepare(environment)
        return []

    async def observed(self, environment: Environment, seen: dict[str, Observed | None]) -> None:
        """Routers are recorded as the workloads they are."""

    async def _prepare(self, environment: Environment) -> None:
        for config in await traffic_queries.configs_of(environment.id):
            counts = None
            if _rolling(config):  # read outside the transaction: it is a network call
                try:
                    counts = await self.metrics.counts(environment, config.serve.name)
                except GalapagosError as exc:
                    log.warning("traffic of %s: %s", config.serve.name, exc.message)
            await self._advance(config.id, environment, counts)

    @transactional
    async def _advance(
        self, config_id: UUID, environment: Environment, counts: dict[str, Counts] | None
    ) -> None:
        config = await traffic_queries.locked_config(config_id)
        if config is None:
            return  # removed meanwhile
        now = datetime.now(UTC)
        variants = await traffic_queries.variants_of(config.id)
        drained_before = now - timedelta(seconds=self.settings.drain_seconds)
        for variant in variants:
            if variant.status == VariantStatus.DRAINING and variant.updated_at < drained_before:
                workload = await workload_queries.workload_of_variant(variant.id)
                if workload is not None:
                    await traffic_queries.retire_workload(workload.id)
                    await deployment_queries.end(workload.deployment_id, "drained", now)
                await traffic_queries.delete_variant(variant)
        if _rolling(config) and counts is not None:
            scope = Scope(config.serve, environment, config, variants)
            await self._step(scope, counts, now)
        await sync_router(config.serve, environment, config, self.settings)

    async def _step(self, scope: Scope, counts: dict[str, Counts], now: datetime) -> None:
        config = scope.config
        plan: dict[str, Any] = dict(config.rollout or {})
        candidate = _candidate(scope.variants)
        if candidate is None or candidate.status != VariantStatus.ACTIVE:
            return  # not ready yet: the first step starts when it is
        step = config.rollout_step or 0
        steps = plan["steps"]
        if config.step_started_at is None:  # the step starts now, from these counters
            await self._start_step(scope, candidate, step, counts, now)
            return
        baseline = {k: Counts.from_json(v) for k, v in plan.get("baseline", {}).items()}
        window = {k: c.since(baseline.get(k, Counts())) for k, c in counts.items()}
        verdict = judge(
            window.get(candidate.name, Counts()), window.get(STABLE, Counts()), plan["gates"]
        )
        over = (now - config.step_started_at).total_seconds() >= plan["interval_seconds"]
        if verdict.decision == "wait" or (verdict.decision == "pass" and not over):
            return  # a failure is acted on at once; a pass only once the step has lasted
        figures = f"{verdict.reason}; {verdict.figures}"
        label = _label(step, len(steps), candidate.weight)
        await _event(candidate, f"{label}: {verdict.decision}: {figures}")
        log.info("traffic of %s: %s: %s", scope.serve.name, label, figures)
        if verdict.decision == "fail":
            await self.service.rollback_in(scope, f"{label} failed a gate: {verdict.reason}")
        elif step + 1 >= len(steps):
            await self.service.promote_in(scope, candidate.name, "the rollout passed every step")
        else:
            await self._start_step(scope, candidate, step + 1, counts, now)

    async def _start_step(
        self,
        scope: Scope,
        candidate: TrafficVariant,
        step: int,
        counts: dict[str, Counts],
        now: datetime,
    ) -> None:
        plan = dict(scope.config.rollout or {})
        plan["baseline"] = {name: c.to_json() for name, c in counts.items()}
        weight = int(plan["steps"][step])
        if candidate.weight != weight:
            await traffic_queries.update_variant(candidate, weight=weight)
        await traffic_queries.update_config(
            scope.config, rollout=plan, rollout_step=step, step_started_at=now
        )
        await _event(candidate, f"{_label(step, len(plan['steps']), weight)}: started")
