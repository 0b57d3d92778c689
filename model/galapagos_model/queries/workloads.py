"""Workloads: the objects serves have on environments' backends, as the database wants them
and as the reconciler last saw them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import F

from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Deployment, DeploymentEvent, Workload
from galapagos_model.enums import DeploymentStatus, DesiredState, WorkloadRole, WorkloadState


async def route_owner(environment_id: UUID, serve_id: UUID) -> Workload | None:
    """The workload that answers on the serve's route: its router when it has traffic
    variants, else its application."""
    rows = await Workload.filter(
        environment_id=environment_id,
        serve_id=serve_id,
        role__in=[WorkloadRole.APP, WorkloadRole.ROUTER],
    )
    return min(
        rows,
        key=lambda w: (w.desired_state != DesiredState.DEPLOYED, w.role != WorkloadRole.ROUTER),
        default=None,
    )


async def workload_of_variant(variant_id: UUID) -> Workload | None:
    return await Workload.filter(variant_id=variant_id).first()


async def workloads_of(environment_id: UUID) -> list[Workload]:
    return await Workload.filter(environment_id=environment_id).select_related("deployment")


async def locked_workload(workload_id: UUID) -> Workload | None:
    return (
        await Workload.filter(id=workload_id)
        .select_for_update()
        .select_related("deployment")
        .first()
    )


async def want(
    serve: Serve,
    environment: Environment,
    deployment: Deployment,
    *,
    name: str,
    spec: dict[str, Any],
    spec_hash: str,
    labels: dict[str, str],
    role: WorkloadRole = WorkloadRole.APP,
    variant_id: UUID | None = None,
) -> None:
    """The workload ``name`` in ``environment`` should run ``spec`` for ``deployment``:
    created, or changed with its generation bumped (row-locked, in the caller's transaction)."""
    workload = (
        await Workload.filter(environment_id=environment.id, name=name).select_for_update().first()
    )
    if workload is None:
        await Workload.create(
            environment=environment,
            serve=serve,
            deployment=deployment,
            backend=environment.backend,
            role=role,
            variant_id=variant_id,
            name=name,
            spec=spec,
            spec_hash=spec_hash,
            labels=labels,
            desired_state=DesiredState.DEPLOYED,
            current_state=WorkloadState.PENDING,
        )
        return
    await Workload.filter(id=workload.id).update(
        deployment_id=deployment.id,
        role=role,
        variant_id=variant_id,
        spec=spec,
        spec_hash=spec_hash,
        labels=labels,
        desired_state=DesiredState.DEPLOYED,
        generation=F("generation") + 1,
    )


async def retire(environment_id: UUID, serve_id: UUID) -> None:
    """The serve's workload in the environment should go (if it has one)."""
    await Workload.filter(environment_id=environment_id, serve_id=serve_id).update(
        desired_state=DesiredState.UNDEPLOYED, generation=F("generation") + 1
    )


async def restore(
    workload: Workload, deployment: Deployment, spec: dict[str, Any], spec_hash: str
) -> None:
    """A failed rollout gives the workload back to the deployment that still serves."""
    await Workload.filter(id=workload.id).update(
        deployment_id=deployment.id, spec=spec, spec_hash=spec_hash, generation=F("generation") + 1
    )


async def mark_deploying(workload_ids: list[UUID], pending: list[Deployment], at: datetime) -> None:
    """Workloads whose spec was just applied, and their PENDING deployments, move on."""
    await Workload.filter(id__in=workload_ids).update(
        current_state=WorkloadState.DEPLOYING,
        observed_generation=F("generation"),
        last_reconciled_at=at,
    )
    moved = await Deployment.filter(
        id__in=[d.id for d in pending], status=DeploymentStatus.PENDING
    ).update(status=DeploymentStatus.DEPLOYING)
    if moved:
        await DeploymentEvent.bulk_create(
            [
                DeploymentEvent(
                    deployment=d,
                    status=DeploymentStatus.DEPLOYING,
                    message="applied to the backend",
                )
                for d in pending
            ]
        )


async def record_gone(workload: Workload, at: datetime) -> None:
    """An unwanted workload is no longer on the backend."""
    await Workload.filter(id=workload.id).update(
        current_state=WorkloadState.UNDEPLOYED, url=None, last_reconciled_at=at
    )


async def record_applying(workload: Workload, at: datetime) -> None:
    """The backend does not run the workload's current spec yet: it is being applied."""
    await Workload.filter(id=workload.id).update(
        current_state=WorkloadState.DEPLOYING,
        observed_generation=workload.generation,
        last_reconciled_at=at,
    )


async def record_seen(
    workload: Workload,
    state: WorkloadState,
    *,
    url: str | None,
    external_id: str | None,
    error: str | None,
    at: datetime,
) -> None:
    """What the backend reports for the workload's current spec."""
    changes: dict[str, Any] = {
        "current_state": state,
        "last_error": error,
        "last_reconciled_at": at,
    }
    if url:
        changes["url"] = url
    if external_id is not None:
        changes["external_id"] = external_id
    await Workload.filter(id=workload.id).update(**changes)
