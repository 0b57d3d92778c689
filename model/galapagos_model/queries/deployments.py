"""Deployments and active deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import F

from galapagos_model.deployments import ActiveDeployment, Deployment, DeploymentEvent, Workload
from galapagos_model.enums import DeploymentStatus, WorkloadState
from galapagos_model.queries.paging import Page, PageRequest, paginate_values

HISTORY_COLUMNS = {
    "id": "id",
    "artifact_version": "artifact__version",
    "env": "environment__name",
    "status": "status",
    "created_at": "created_at",
    "created_by": "created_by__username",
    "ended_at": "ended_at",
}


async def deployment_history(
    serve_id: UUID, request: PageRequest, *, status: DeploymentStatus | None = None
) -> Page[dict[str, Any]]:
    """A serve's deployments, newest first, as rows of ``HISTORY_COLUMNS`` (one joined query)."""
    query = Deployment.filter(serve_id=serve_id)
    if status is not None:
        query = query.filter(status=status)
    return await paginate_values(query.order_by("-created_at", "-id"), request, **HISTORY_COLUMNS)


async def create_deployment(**values: Any) -> Deployment:
    return await Deployment.create(**values)


async def by_idempotency_key(key: str) -> Deployment | None:
    return await Deployment.get_or_none(idempotency_key=key).select_related(
        "serve", "environment", "artifact"
    )


async def in_flight(serve_id: UUID, environment_id: UUID) -> Deployment | None:
    return await Deployment.filter(
        serve_id=serve_id,
        environment_id=environment_id,
        status__in=[DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING],
    ).first()


async def deployment_detail(serve_id: UUID, deployment_id: UUID) -> Deployment | None:
    return (
        await Deployment.filter(id=deployment_id, serve_id=serve_id)
        .select_related("artifact", "environment", "created_by")
        .prefetch_related("events")
        .first()
    )


async def deployment_by_id(deployment_id: UUID) -> Deployment | None:
    return await Deployment.get_or_none(id=deployment_id).select_related(
        "artifact", "environment", "serve"
    )


async def active_for(
    serve_id: UUID, environment_id: UUID, *, lock: bool = False
) -> ActiveDeployment | None:
    query = ActiveDeployment.filter(serve_id=serve_id, environment_id=environment_id)
    if lock:
        query = query.select_for_update()
    return await query.select_related(
        "deployment__artifact", "previous_deployment__artifact"
    ).first()


async def actives_of(serve_id: UUID) -> list[ActiveDeployment]:
    return await ActiveDeployment.filter(serve_id=serve_id).select_related(
        "deployment__artifact", "environment"
    )


async def record_event(
    deployment: Deployment, status: DeploymentStatus, message: str | None
) -> None:
    await DeploymentEvent.create(deployment=deployment, status=status, message=message)


async def workload_for(
    environment_id: UUID, serve_id: UUID, *, lock: bool = False
) -> Workload | None:
    query = Workload.filter(environment_id=environment_id, serve_id=serve_id)
    if lock:
        query = query.select_for_update()
    return await query.first()


async def create_workload(**values: Any) -> Workload:
    return await Workload.create(**values)


async def workloads_of(environment_id: UUID) -> list[Workload]:
    return await Workload.filter(environment_id=environment_id).select_related("deployment")


async def locked_workload(workload_id: UUID) -> Workload | None:
    return (
        await Workload.filter(id=workload_id)
        .select_for_update()
        .select_related("deployment")
        .first()
    )


async def point_active(
    serve_id: UUID, environment_id: UUID, deployment: Deployment, previous: Deployment | None
) -> None:
    """Make ``deployment`` the active one; ``previous`` is where a rollback goes."""
    updated = await ActiveDeployment.filter(
        serve_id=serve_id, environment_id=environment_id
    ).update(deployment_id=deployment.id, previous_deployment_id=previous.id if previous else None)
    if not updated:
        await ActiveDeployment.create(
            serve_id=serve_id,
            environment_id=environment_id,
            deployment=deployment,
            previous_deployment=previous,
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
