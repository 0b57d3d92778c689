"""Deployments and active deployments."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from galapagos_model.catalog import Serve
from galapagos_model.deployments import ActiveDeployment, Deployment, DeploymentEvent
from galapagos_model.enums import DeploymentStatus
from galapagos_model.queries.paging import Page, PageRequest
from galapagos_model.queries.statements import Statement

_HISTORY_PAGE = """
    SELECT d.id, a.version AS artifact_version, e.name AS env, d.status, d.created_at,
           u.username AS created_by, d.ended_at
    FROM deployments d
    LEFT JOIN artifacts a ON a.id = d.artifact_id
    LEFT JOIN environments e ON e.id = d.environment_id
    LEFT JOIN users u ON u.id = d.created_by_id
    WHERE d.serve_id = %s {status}
    ORDER BY d.created_at DESC, d.id DESC
    LIMIT %s OFFSET %s
"""
# Times are made UTC-aware here; ids and statuses stay text for the schema that renders
# the rows to parse (natively, which per-row Python conversion is not).
_HISTORY = Statement(_HISTORY_PAGE.format(status=""), created_at=datetime, ended_at=datetime)
_HISTORY_WITH_STATUS = Statement(
    _HISTORY_PAGE.format(status="AND d.status = %s"), created_at=datetime, ended_at=datetime
)


async def deployment_history(
    serve_id: UUID,
    deployment_count: int,
    request: PageRequest,
    *,
    status: DeploymentStatus | None = None,
) -> Page[dict[str, Any]]:
    """A serve's deployments, newest first, as rows of id (text), artifact_version, env,
    status (text), created_at, created_by and ended_at.

    ``deployment_count`` is the serve's counter, the total when no ``status`` is asked for;
    with one, the total is counted.
    """
    if status is None:
        total = deployment_count
    else:
        total = await Deployment.filter(serve_id=serve_id, status=status).count()
    if request.offset >= total:
        return Page(items=[], total=total, page=request.page, limit=request.limit)
    if status is None:
        rows = await _HISTORY.all(serve_id, request.limit, request.offset)
    else:
        rows = await _HISTORY_WITH_STATUS.all(serve_id, status, request.limit, request.offset)
    return Page(items=rows, total=total, page=request.page, limit=request.limit)


async def create_deployment(**values: Any) -> Deployment:
    """Record a requested deployment, whole, and count it on its serve (inside the caller's
    transaction)."""
    deployment = await Deployment.create(**values)
    await Serve.filter(id=deployment.serve_id).update(deployment_count=F("deployment_count") + 1)
    return deployment


async def add_deployments(rows: list[Deployment]) -> None:
    """Insert many deployments at once (seeding, benchmarks), counting them on their serves."""
    async with in_transaction():
        await Deployment.bulk_create(rows, batch_size=1000)
        for serve_id, count in Counter(r.serve_id for r in rows).items():
            await Serve.filter(id=serve_id).update(deployment_count=F("deployment_count") + count)


async def by_idempotency_key(key: str) -> Deployment | None:
    return await Deployment.get_or_none(idempotency_key=key).select_related(
        "serve", "environment", "artifact"
    )


async def in_flight(serve_id: UUID, environment_id: UUID) -> Deployment | None:
    return await Deployment.filter(
        serve_id=serve_id,
        environment_id=environment_id,
        status__in=[status for status in DeploymentStatus if status.in_flight],
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


async def record_event_by_id(deployment_id: UUID, message: str) -> None:
    """An event in the deployment's history, at its current status."""
    deployment = await Deployment.get(id=deployment_id)
    await record_event(deployment, deployment.status, message)


async def end(deployment_id: UUID, message: str, at: datetime) -> None:
    """The deployment stops running: a ready one ENDED, one still in flight FAILED."""
    deployment = await Deployment.get(id=deployment_id)
    if not deployment.status.in_flight and deployment.status != DeploymentStatus.ACTIVE:
        return  # already over
    status = DeploymentStatus.FAILED if deployment.status.in_flight else DeploymentStatus.ENDED
    await Deployment.filter(id=deployment_id).update(
        status=status,
        ended_at=at,
        inflight_key=None,
        error=message if status == DeploymentStatus.FAILED else None,
    )
    await record_event(deployment, status, message)


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


async def end_active(active: ActiveDeployment, at: datetime) -> Deployment:
    """End the active deployment (ENDED, with its event) and drop the pointer to it."""
    deployment = active.deployment
    await Deployment.filter(id=deployment.id).update(status=DeploymentStatus.ENDED, ended_at=at)
    deployment.status, deployment.ended_at = DeploymentStatus.ENDED, at
    await ActiveDeployment.filter(id=active.id).delete()
    await record_event(deployment, DeploymentStatus.ENDED, "undeployed")
    return deployment


async def start_deploying(deployment: Deployment) -> None:
    """A PENDING deployment whose spec reached the backend moves to DEPLOYING."""
    moved = await Deployment.filter(id=deployment.id, status=DeploymentStatus.PENDING).update(
        status=DeploymentStatus.DEPLOYING
    )
    if moved:
        deployment.status = DeploymentStatus.DEPLOYING
        await record_event(deployment, DeploymentStatus.DEPLOYING, "applied to the backend")


async def supersede(previous: Deployment, by: Deployment, at: datetime) -> None:
    await Deployment.filter(id=previous.id).update(status=DeploymentStatus.SUPERSEDED, ended_at=at)
    await record_event(previous, DeploymentStatus.SUPERSEDED, f"superseded by {by.id}")


async def activate(
    deployment: Deployment,
    previous: Deployment | None,
    url: str | None,
    at: datetime,
    *,
    point: bool = True,
) -> None:
    """``deployment`` is ready: ACTIVE, out of flight, and (``point``) the serve's active one
    there."""
    changes: dict[str, Any] = {
        "status": DeploymentStatus.ACTIVE,
        "ready_at": at,
        "inflight_key": None,
    }
    if url:
        changes["service_url"] = url
    await Deployment.filter(id=deployment.id).update(**changes)
    await record_event(deployment, DeploymentStatus.ACTIVE, "ready")
    if point:
        await point_active(deployment.serve_id, deployment.environment_id, deployment, previous)


async def fail(deployment: Deployment, error: str, at: datetime) -> None:
    """``deployment`` did not start: FAILED with the backend's message, out of flight."""
    await Deployment.filter(id=deployment.id).update(
        status=DeploymentStatus.FAILED, error=error, ended_at=at, inflight_key=None
    )
    await record_event(deployment, DeploymentStatus.FAILED, error)
