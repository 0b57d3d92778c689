"""Recording what a backend reports about a workload, and moving its deployment along: a
ready spec activates its deployment (the previous one is superseded), a failed one fails it
and gives the workload back to the deployment that still serves. Each record is one
transaction with the pointer it moves, so a crash at any point leaves a state the next pass
converges from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

from tortoise.transactions import in_transaction

from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.workloads.spec import Observed, digest_of
from galapagos_model.deployments import Workload
from galapagos_model.enums import DeploymentStatus, DesiredState, VariantStatus, WorkloadState
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.traffic import STABLE

log = logging.getLogger("galapagos.reconciler")
RECONCILER = Actor.system("reconciler")


def _now() -> datetime:
    return datetime.now(UTC)


class HealthWatch:
    """Since when each workload's current spec has been running without its health route
    answering: a rollout that stays unhealthy longer than ``timeout`` seconds fails. Kept in
    memory: a reconciler taking over starts the clock again."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._since: dict[tuple[UUID, str], datetime] = {}

    def overdue(self, workload: Workload, digest: str, now: datetime) -> bool:
        since = self._since.setdefault((workload.id, digest), now)
        return (now - since).total_seconds() > self.timeout

    def healthy(self, workload: Workload) -> None:
        for key in [key for key in self._since if key[0] == workload.id]:
            del self._since[key]


def settled(workload: Workload, seen: Observed | None) -> bool:
    """The observation changes nothing the database holds."""
    if workload.deployment.status.in_flight:
        return False
    if workload.desired_state == DesiredState.UNDEPLOYED:
        return seen is None and workload.current_state == WorkloadState.UNDEPLOYED
    return (
        seen is not None
        and seen.unhealthy is None
        and seen.spec_hash == digest_of(workload.spec)
        and seen.state == workload.current_state
        and (seen.url or workload.url) == workload.url
    )


async def record_applied(workloads: list[Workload]) -> None:
    """These workloads' specs were just applied: one transaction for the whole pass."""
    if not workloads:
        return
    async with in_transaction():
        await workload_queries.mark_deploying(
            [w.id for w in workloads],
            [w.deployment for w in workloads if w.deployment.status == DeploymentStatus.PENDING],
            _now(),
        )


async def record(workload: Workload, seen: Observed | None, health: HealthWatch) -> None:
    """Record what the backend shows of ``workload`` (``seen``: nothing there)."""
    async with in_transaction():
        current = await workload_queries.locked_workload(workload.id)
        if current is None or current.generation != workload.generation:
            return  # changed by a request meanwhile: the next pass handles it
        now = _now()
        if current.desired_state == DesiredState.UNDEPLOYED:
            await workload_queries.record_gone(current, now)
            return
        digest = digest_of(current.spec)
        if seen is None or seen.spec_hash != digest:
            await workload_queries.record_applying(current, now)
            await deployment_queries.start_deploying(current.deployment)
            return
        state, error = seen.state, seen.message if seen.state == WorkloadState.FAILED else None
        if seen.unhealthy is not None:  # running, not answering (yet)
            overdue = health.overdue(current, digest, now)
            state = WorkloadState.FAILED if overdue else WorkloadState.DEPLOYING
            error = f"the health check keeps failing: {seen.unhealthy}"
        else:
            health.healthy(current)
        await workload_queries.record_seen(
            current, state, url=seen.url, external_id=seen.external_id, error=error, at=now
        )
        if state == WorkloadState.READY:
            await _activate(current, seen.url or current.url)
        elif state == WorkloadState.FAILED:
            await _fail(current, error or "the backend reported a failure")


async def _activate(workload: Workload, url: str | None) -> None:
    """The deployment is ready. It becomes the serve's active one, unless it runs a traffic
    variant other than the stable one: that variant then takes its share (its router is
    brought up to date by the traffic controller)."""
    deployment = workload.deployment
    if not deployment.status.in_flight:
        return
    now = _now()
    variant = await traffic_queries.variant_by_id(workload.variant_id)
    if variant is not None and variant.name != STABLE:
        await deployment_queries.activate(deployment, None, url, now, point=False)
    else:
        active = await deployment_queries.active_for(
            workload.serve_id, workload.environment_id, lock=True
        )
        previous = active.deployment if active else None
        if previous is not None and previous.id != deployment.id:
            await deployment_queries.supersede(previous, deployment, now)
        await deployment_queries.activate(deployment, previous, url, now)
    if variant is not None:
        await traffic_queries.update_variant(variant, status=VariantStatus.ACTIVE)
    await _audit(workload, "deployment.activate", {"deployment_id": str(deployment.id)})
    log.info("deployment %s is active", deployment.id)


async def _fail(workload: Workload, message: str) -> None:
    deployment = workload.deployment
    if not deployment.status.in_flight:
        return
    await deployment_queries.fail(deployment, message, _now())
    variant = await traffic_queries.variant_by_id(workload.variant_id)
    active = await deployment_queries.active_for(workload.serve_id, workload.environment_id)
    if variant is not None and variant.name != STABLE:
        # A variant that did not start takes no traffic; its workload goes.
        await traffic_queries.update_variant(variant, status=VariantStatus.INACTIVE, weight=0)
        await traffic_queries.retire_workload(workload.id)
    elif active is not None:
        # The previous version keeps serving: the workload goes back to its spec.
        restored = active.deployment
        await workload_queries.restore(workload, restored, restored.spec, digest_of(restored.spec))
        if variant is not None:
            await traffic_queries.update_variant(variant, artifact_id=restored.artifact_id)
    else:
        await workload_queries.retire(workload.environment_id, workload.serve_id)
    await _audit(
        workload, "deployment.fail", {"deployment_id": str(deployment.id), "error": message}
    )
    log.info("deployment %s failed: %s", deployment.id, message)


async def _audit(workload: Workload, action: str, after: dict[str, str]) -> None:
    labels = workload.labels
    await audit.record(
        RECONCILER,
        action,
        "serve",
        resource_id=workload.serve_id,
        resource_name=labels.get("galapagos.io/serve"),
        project=labels.get("galapagos.io/project"),
        after={"env": labels.get("galapagos.io/environment"), **after},
    )
