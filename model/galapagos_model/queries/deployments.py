"""Deployments and active deployments."""

from __future__ import annotations

from uuid import UUID

from galapagos_model.deployments import Deployment
from galapagos_model.enums import DeploymentStatus
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def deployment_history(
    serve_id: UUID, request: PageRequest, *, status: DeploymentStatus | None = None
) -> Page[Deployment]:
    """A serve's deployments, newest first, with artifact, environment and author joined."""
    query = Deployment.filter(serve_id=serve_id)
    if status is not None:
        query = query.filter(status=status)
    query = query.select_related("artifact", "environment", "created_by").order_by(
        "-created_at", "-id"
    )
    return await paginate(query, request)
