"""Recording what a backend reports about a workload, and moving its deployment along: a
ready spec activates its deployment (the previous one is superseded), a failed one fails it
and gives the workload back to the deployment that still serves. Each record is one
transaction with the pointer it moves, so a crash at any point leaves a state the next pass
converges from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.workloads.spec import Observed, WorkloadSpec
from galapagos_model.deployments import Workload
from galapagos_model.enums import DeploymentStatus, DesiredState, WorkloadState
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import workloads as workload_queries

log = logging.getLogger("galapagos.reconciler")
RECONCILER = Actor.system("reconciler")


def _now() -> datetime:
    return datetime.now(UTC)


def settled(workload: Workload, seen: Observed | None) -> bool:
    """The observation changes nothing the database holds."""
    if workload.deployment.status.in_flight:
        return False
    if workload.desired_state == DesiredState.UNDEPLOYED:
        return seen is None and workload.current_state == WorkloadState.UNDEPLOYED
    return (
        seen is not None
        and seen.spec_hash == workload.spec_hash
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


async def record(workload: Workload, seen: Observed | None) -> None:
    """Record what the backend shows of ``workload`` (``seen``: nothing there)."""
    async with in_transaction():
        current = await workload_queries.locked_workload(workload.id)
        if current is None or current.generation != workload.generation:
            return  # changed by a request meanwhile: the next pass handles it
        now = _now()
        if current.desired_state == DesiredState.UNDEPLOYED:
            await workload_queries.record_gone(current, now)
            return
        if seen is None or seen.spec_hash != current.spec_hash:
            await workload_queries.record_applying(current, now)
            await deployment_queries.start_deploying(current.deployment)
            return
        failed = seen.state == WorkloadState.FAILED
        await workload_queries.record_seen(
            current,
            seen.state,
            url=seen.url,
            external_id=seen.external_id,
            error=seen.message if failed else None,
            at=now,
        )
        if seen.state == WorkloadState.READY:
            await _activate(current, seen.url or current.url)
        elif failed:
            await _fail(current, seen.message or "the backend reported a failure")


async def _activate(workload: Workload, url: str | None) -> None:
    deployment = workload.deployment
    if not deployment.status.in_flight:
        return
    now = _now()
    active = await deployment_queries.active_for(
        workload.serve_id, workload.environment_id, lock=True
    )
    previous = active.deployment if active else None
    if previous is not None and previous.id != deployment.id:
        await deployment_queries.supersede(previous, deployment, now)
    await deployment_queries.activate(deployment, previous, url, now)
    await _audit(workload, "deployment.activate", {"deployment_id": str(deployment.id)})
    log.info("deployment %s is active", deployment.id)


async def _fail(workload: Workload, message: str) -> None:
    deployment = workload.deployment
    if not deployment.status.in_flight:
        return
    await deployment_queries.fail(deployment, message, _now())
    # The previous version keeps serving: the workload goes back to its spec.
    active = await deployment_queries.active_for(workload.serve_id, workload.environment_id)
    if active is not None:
        restored = active.deployment
        spec_hash = WorkloadSpec.model_validate(restored.spec).digest()
        await workload_queries.restore(workload, restored, restored.spec, spec_hash)
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
