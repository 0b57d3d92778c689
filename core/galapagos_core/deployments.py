"""Deployments: the history of what ran where."""

from __future__ import annotations

from typing import Any

from galapagos_core.actor import Actor
from galapagos_core.serves import visible_serve
from galapagos_model.enums import DeploymentStatus, ProjectRole
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries.paging import Page, PageRequest


class DeploymentService:
    async def history(
        self,
        actor: Actor,
        serve_name: str,
        page: PageRequest,
        *,
        status: DeploymentStatus | None = None,
    ) -> Page[dict[str, Any]]:
        serve = await visible_serve(actor, serve_name, ProjectRole.VIEWER)
        return await deployment_queries.deployment_history(serve.id, page, status=status)
