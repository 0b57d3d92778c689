"""Reading deployments: history, one deployment, a serve's status in an environment, and
waiting for a deployment to settle."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import readable_serve
from galapagos_core.deployments.errors import deployment_not_found
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import ReconcileSettings
from galapagos_model.deployments import ActiveDeployment, Deployment, Workload
from galapagos_model.enums import DeploymentStatus
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.queries.paging import Page, PageRequest


class DeploymentReads:
    def __init__(self, settings: ReconcileSettings) -> None:
        self.settings = settings

    async def history(
        self,
        actor: Actor,
        serve_name: str,
        page: PageRequest,
        *,
        status: DeploymentStatus | None = None,
    ) -> Page[dict[str, Any]]:
        serve = await readable_serve(actor, serve_name)
        return await deployment_queries.deployment_history(
            serve.id, serve.deployment_count, page, status=status
        )

    async def detail(self, actor: Actor, serve_name: str, deployment_id: str) -> Deployment:
        serve = await readable_serve(actor, serve_name)
        try:
            key = UUID(deployment_id)
        except ValueError:
            raise deployment_not_found(serve_name, deployment_id) from None
        deployment = await deployment_queries.deployment_detail(serve.id, key)
        if deployment is None:
            raise deployment_not_found(serve_name, deployment_id)
        return deployment

    async def status(
        self, actor: Actor, serve_name: str, env_name: str
    ) -> tuple[ActiveDeployment | None, Deployment | None, Workload | None]:
        """The active deployment, the one in flight, and the serve's workload there."""
        serve = await readable_serve(actor, serve_name)
        environment = await environment_named(env_name)
        active = await deployment_queries.active_for(serve.id, environment.id)
        flight = await deployment_queries.in_flight(serve.id, environment.id)
        workload = await workload_queries.route_owner(environment.id, serve.id)
        return active, flight, workload

    async def wait(self, deployment_id: UUID, seconds: float) -> Deployment:
        """Poll until the deployment leaves PENDING/DEPLOYING or ``seconds`` pass."""
        seconds = min(seconds, self.settings.wait_timeout_seconds)
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            deployment = await deployment_queries.deployment_by_id(deployment_id)
            assert deployment is not None
            if not deployment.status.in_flight or asyncio.get_running_loop().time() >= deadline:
                return deployment
            await asyncio.sleep(0.25)
