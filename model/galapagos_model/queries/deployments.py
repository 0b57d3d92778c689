"""Deployments and active deployments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_model.deployments import Deployment
from galapagos_model.enums import DeploymentStatus
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
