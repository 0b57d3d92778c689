"""Factories: rows made directly through the ORM, so tests can arrange state quickly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from galapagos_core.identity.service import IdentityService
from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Deployment
from galapagos_model.enums import (
    ArtifactKind,
    DeploymentStatus,
    NodeCapacityType,
    ProjectRole,
    ServeType,
    ServingFramework,
)
from galapagos_model.identity import Project, ProjectMember, User
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.queries import deployments as deployment_queries


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Factory:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    async def token(self, username: str, *, admin: bool = False) -> str:
        issued = await self.identity.issue_for_username(username, admin=admin)
        return issued.secret

    async def project(self, name: str) -> Project:
        project, _ = await Project.get_or_create(name=name)
        return project

    async def member(self, project: str, username: str, role: ProjectRole) -> str:
        """A token for ``username`` holding ``role`` in ``project`` (both created as needed)."""
        secret = await self.token(username)
        user = await User.get(username=username)
        await ProjectMember.update_or_create(
            defaults={"role": role}, project=await self.project(project), user=user
        )
        return secret

    async def environment(self, name: str = "prod") -> Environment:
        return await Environment.create(name=name, env_configs={"namespace": "serving"})

    async def serve(self, name: str, project: str = "ml", type: ServeType = ServeType.API) -> Serve:
        return await Serve.create(name=name, type=type, project=await self.project(project))

    async def api_config(self, serve: Serve, environment: Environment) -> ApiServeInfraConfig:
        return await ApiServeInfraConfig.create(
            serve=serve,
            environment=environment,
            backend_type=ServingFramework.FASTAPI,
            cores=Decimal(2),
            memory=Decimal(4),
            node_capacity_type=NodeCapacityType.SPOT,
            min_replicas=1,
            max_replicas=3,
        )

    async def deployments(
        self, serve: Serve, environment: Environment, count: int, *, author: User | None = None
    ) -> list[Deployment]:
        """``count`` ended deployments of distinct artifact versions, oldest first."""
        start = datetime(2026, 1, 1, tzinfo=UTC)
        artifacts = [
            Artifact(serve=serve, version=f"v{i}", kind=ArtifactKind.IMAGE, image_url=f"img:{i}")
            for i in range(count)
        ]
        await Artifact.bulk_create(artifacts)
        saved = {a.version: a for a in await Artifact.filter(serve=serve)}
        rows = [
            Deployment(
                serve=serve,
                environment=environment,
                artifact=saved[f"v{i}"],
                created_by=author,
                status=DeploymentStatus.SUPERSEDED,
                ended_at=start + timedelta(hours=i, minutes=30),
            )
            for i in range(count)
        ]
        await deployment_queries.add_deployments(rows)
        return rows
