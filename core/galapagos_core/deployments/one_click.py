"""Darwin's one-click model deploys: serve, model artifact and infra config as needed, then
a deployment — all in one transaction. An existing artifact is never changed."""

from __future__ import annotations

from galapagos_core.artifacts.creation import record_artifact
from galapagos_core.artifacts.service import ArtifactService
from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import ServeCreate, register_serve, visible_serve
from galapagos_core.deployments.commands import DeploymentService
from galapagos_core.deployments.specs import ModelDeployRequest, ModelUndeployRequest
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import Conflict, InvalidInput
from galapagos_core.kernel.transactions import transactional
from galapagos_model.catalog import Serve
from galapagos_model.deployments import Deployment
from galapagos_model.enums import ArtifactKind, ProjectRole, ServeType, ServingFramework
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.queries import artifacts as artifact_queries
from galapagos_model.queries import infra as infra_queries
from galapagos_model.queries import serves as serve_queries


class ModelDeployService:
    def __init__(self, deployments: DeploymentService, artifacts: ArtifactService) -> None:
        self.deployments = deployments
        self.artifacts = artifacts

    @transactional
    async def deploy(self, actor: Actor, request: ModelDeployRequest) -> Deployment:
        serve = await self._serve(actor, request)
        environment = await environment_named(request.env)
        artifact = await artifact_queries.artifact_by_version(serve.id, request.artifact_version)
        if artifact is None:
            self.artifacts.check_model_uri(actor, request.model_uri)
            artifact = await record_artifact(
                actor,
                serve,
                request.artifact_version,
                action="artifact.register_model",
                audited={"model_uri": request.model_uri, "model_format": request.model_format},
                kind=ArtifactKind.MODEL,
                model_uri=request.model_uri,
                model_format=request.model_format,
            )
        elif artifact.kind != ArtifactKind.MODEL or artifact.model_uri != request.model_uri:
            raise Conflict(
                f"version '{request.artifact_version}' of '{serve.name}' already exists with "
                "other content; artifacts are immutable: use a new version",
                code="ARTIFACT_ALREADY_EXISTS",
                serve=serve.name,
                version=request.artifact_version,
            )
        values = {
            "backend_type": ServingFramework.FASTAPI,
            "cores": request.cores,
            "memory": request.memory,
            "node_capacity_type": request.node_capacity,
            "min_replicas": request.min_replicas,
            "max_replicas": request.max_replicas,
        }
        config = await infra_queries.config_for(serve, environment.id, lock=True)
        if config is None:
            await infra_queries.create_config(serve, environment, values)
        elif isinstance(config, ApiServeInfraConfig):
            await infra_queries.save_config(config, values)
        return await self.deployments.start(
            actor, serve, environment, artifact, action="deploy_model"
        )

    @transactional
    async def undeploy(self, actor: Actor, request: ModelUndeployRequest) -> Deployment:
        serve = await visible_serve(actor, request.serve_name, ProjectRole.EDITOR)
        environment = await environment_named(request.env)
        return await self.deployments.end(
            actor, serve, environment, version=request.artifact_version
        )

    async def _serve(self, actor: Actor, request: ModelDeployRequest) -> Serve:
        existing = await serve_queries.serve_by_name(request.serve_name)
        if existing is not None:
            serve = await visible_serve(actor, request.serve_name, ProjectRole.EDITOR)
            if serve.type != ServeType.API:
                raise InvalidInput(
                    f"serve '{serve.name}' exists but is not an api serve",
                    code="SERVE_TYPE_MISMATCH",
                    serve=serve.name,
                )
            return serve
        return await register_serve(
            actor,
            ServeCreate(
                name=request.serve_name,
                type=ServeType.API,
                space=request.space,
                description=f"model {request.model_uri}",
            ),
        )
