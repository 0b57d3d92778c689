"""Deployments: deploy, undeploy, roll back, roll out again.

A request writes the desired state — the Deployment (PENDING) and its Workload's new spec —
in one transaction, rings the reconciler of this process once it has committed, and returns;
the reconciler applies it and records what it observes (galapagos_core.workloads.reconciler).
At most one deployment is in flight per (serve, environment): the database's unique
``inflight_key`` refuses a second one with 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from galapagos_core.artifacts.service import artifact_of
from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import visible_serve
from galapagos_core.deployments.env_secrets import EnvSecrets
from galapagos_core.deployments.specs import DeployRequest, RollbackRequest
from galapagos_core.deployments.workload_spec import (
    AppOptions,
    as_variant,
    service_url,
    workload_spec,
)
from galapagos_core.infra.service import api_config_of
from galapagos_core.infra.specs import spec_of
from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import RaySettings
from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.kernel.transactions import after_commit, transactional
from galapagos_model.artifacts import Artifact
from galapagos_model.base import uuid7
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Deployment
from galapagos_model.enums import (
    ArtifactKind,
    DeploymentStatus,
    DeploymentStrategy,
    EnvironmentBackend,
    ModelFormat,
    ProjectRole,
    ServeType,
    WorkloadRole,
)
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.traffic import STABLE, TrafficVariant

_SUPPORTED_KINDS = {
    EnvironmentBackend.RAY: {ArtifactKind.PACKAGE, ArtifactKind.MODEL},
    EnvironmentBackend.KUBERAY: {ArtifactKind.PACKAGE, ArtifactKind.MODEL},
    EnvironmentBackend.KSERVE: {ArtifactKind.MODEL, ArtifactKind.IMAGE},
}
# Model formats the generic model server loads (Ray) and those KServe has runtimes for.
_RAY_FORMATS = set(ModelFormat) - {ModelFormat.HUGGINGFACE}
_SERVED_FORMATS = {
    EnvironmentBackend.RAY: _RAY_FORMATS,
    EnvironmentBackend.KUBERAY: _RAY_FORMATS,
    EnvironmentBackend.KSERVE: set(ModelFormat) - {ModelFormat.PYTHON},
}
# What KServe's storage initializer downloads; registry URIs (models:/, runs:/) are MLflow's.
_KSERVE_SCHEMES = ("s3://", "gs://", "https://", "http://", "pvc://", "hdfs://", "oci://", "hf://")


def _check_model(artifact: Artifact, environment: Environment) -> None:
    """A model artifact the environment's backend can serve, or 422 saying why not."""
    if artifact.kind != ArtifactKind.MODEL or artifact.model_format is None:
        return
    backend = environment.backend
    if artifact.model_format not in _SERVED_FORMATS[backend]:
        raise InvalidInput(
            f"{artifact.model_format.value} models are not served on the {backend.value} "
            f"backend of '{environment.name}'",
            code="MODEL_FORMAT_UNSUPPORTED",
            format=artifact.model_format.value,
            backend=backend.value,
        )
    uri = artifact.model_uri or ""
    if backend == EnvironmentBackend.KSERVE and not uri.startswith(_KSERVE_SCHEMES):
        raise InvalidInput(
            f"KServe downloads models from {', '.join(_KSERVE_SCHEMES)} URIs, not '{uri}': "
            "register the model's storage URI, or deploy it to a Ray environment",
            code="MODEL_URI_UNSUPPORTED",
            uri=uri,
            backend=backend.value,
        )


@dataclass(frozen=True)
class Placement:
    """Where a traffic variant's deployment runs: its application, and its own route (a
    blue-green preview) or none (requests come through the serve's router)."""

    variant: TrafficVariant
    app_name: str
    route: str | None = None

    @property
    def stable(self) -> bool:
        return self.variant.name == STABLE


class DeploymentService:
    def __init__(self, ray: RaySettings, env: EnvSecrets, reconcile: Wakeup) -> None:
        self.ray = ray
        self.env = env
        self.reconcile = reconcile

    @transactional
    async def deploy(
        self, actor: Actor, serve_name: str, request: DeployRequest, idempotency_key: str | None
    ) -> Deployment:
        if idempotency_key is not None:
            replay = await deployment_queries.by_idempotency_key(idempotency_key)
            if replay is not None:
                return replay
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(request.env)
        artifact = await artifact_of(serve.id, serve.name, request.artifact_version)
        options = request.api_serve_deployment_config
        app = None
        if options is not None and (options.args is not None or options.deployments is not None):
            app = AppOptions(
                options.args or {},
                {
                    name: values.model_dump(exclude_none=True)
                    for name, values in (options.deployments or {}).items()
                },
            )
        return await self.start(
            actor,
            serve,
            environment,
            artifact,
            env_vars=(options.environment_variables if options else None),
            app=app,
            idempotency_key=idempotency_key,
        )

    async def start(
        self,
        actor: Actor,
        serve: Serve,
        environment: Environment,
        artifact: Artifact,
        *,
        env_vars: dict[str, str] | None = None,
        app: AppOptions | None = None,
        idempotency_key: str | None = None,
        rollback_of: Deployment | None = None,
        action: str = "deploy",
        placement: Placement | None = None,
    ) -> Deployment:
        """Record a deployment and the workload spec it wants (inside the caller's transaction).
        A serve with traffic variants deploys to its stable variant unless ``placement`` names
        another."""
        if serve.type == ServeType.WORKFLOW:
            raise InvalidInput(
                f"'{serve.name}' is a workflow serve: workflows are scheduled, not deployed here",
                code="WORKFLOW_DEPLOY_UNSUPPORTED",
            )
        if artifact.kind not in _SUPPORTED_KINDS[environment.backend]:
            raise InvalidInput(
                f"a {artifact.kind.value} artifact cannot run on the {environment.backend.value} "
                f"backend of '{environment.name}'",
                code="ARTIFACT_KIND_UNSUPPORTED",
                kind=artifact.kind.value,
                backend=environment.backend.value,
            )
        _check_model(artifact, environment)
        config = await api_config_of(serve, environment)
        if env_vars is None or app is None:
            # As Darwin does: without a deploy config, the last deployment's settings carry over.
            active = await deployment_queries.active_for(serve.id, environment.id)
            last = active.deployment if active else None
            if env_vars is None:
                env_vars = self.env.of(last) if last else {}
            if app is None:
                app = AppOptions.of(last.spec) if last else AppOptions()
        deployment_id = uuid7()  # the secrets and the spec are bound to it
        sealed = self.env.seal(deployment_id, env_vars)
        # What the workload gets: the environment's variables, then the deployment's.
        workload_env = self.env.seal(
            deployment_id, {**self.env.of_environment(environment), **env_vars}
        )
        spec = workload_spec(serve, environment, artifact, config, deployment_id, workload_env, app)
        placement = placement or await self._stable_placement(serve, environment)
        if placement is not None:
            spec = as_variant(spec, placement.variant, placement.app_name, placement.route)
            await traffic_queries.update_variant(placement.variant, artifact_id=artifact.id)
        in_flight = (
            f"{serve.id}:{environment.id}"
            if placement is None or placement.stable
            else f"variant:{placement.variant.id}"
        )
        try:
            deployment = await deployment_queries.create_deployment(
                id=deployment_id,
                serve=serve,
                environment=environment,
                artifact=artifact,
                created_by_id=actor.user_id,
                status=DeploymentStatus.PENDING,
                strategy=DeploymentStrategy.ROLLING,
                config_snapshot=spec_of(config).model_dump(mode="json"),
                environment_variables=sealed,
                spec=spec.model_dump(mode="json"),
                service_url=service_url(self.ray, environment, spec),
                idempotency_key=idempotency_key,
                started_at=datetime.now(UTC),
                inflight_key=in_flight,
                rollback_of=rollback_of,
                variant=placement.variant if placement else None,
            )
        except IntegrityError:
            return await self._replay_or_refuse(serve, environment, idempotency_key)
        await workload_queries.want(
            serve,
            environment,
            deployment,
            name=spec.name,
            spec=spec.model_dump(mode="json"),
            spec_hash=spec.digest(),
            labels=spec.labels(),
            role=WorkloadRole.VARIANT if placement else WorkloadRole.APP,
            variant_id=placement.variant.id if placement else None,
        )
        await deployment_queries.record_event(
            deployment, DeploymentStatus.PENDING, f"{action} requested"
        )
        await audit.record(
            actor,
            f"deployment.{action}",
            "serve",
            resource_id=serve.id,
            resource_name=serve.name,
            project=serve.project.name,
            after={
                "env": environment.name,
                "artifact_version": artifact.version,
                "deployment_id": str(deployment.id),
                "environment_variables": sorted(env_vars),
            },
        )
        after_commit(self.reconcile.ring)
        return deployment

    async def _stable_placement(self, serve: Serve, environment: Environment) -> Placement | None:
        """Where the serve's stable variant runs, when it has traffic variants there."""
        config = await traffic_queries.config_for(serve.id, environment.id)
        if config is None:
            return None
        stable = await traffic_queries.variant_named(config.id, STABLE)
        workload = await workload_queries.workload_of_variant(stable.id) if stable else None
        if stable is None or workload is None:
            return None
        return Placement(stable, workload.name, workload.spec.get("route_prefix"))

    async def _replay_or_refuse(
        self, serve: Serve, environment: Environment, idempotency_key: str | None
    ) -> Deployment:
        """After a clash on insert: the deployment a concurrent request with the same
        idempotency key recorded, or 409 for the one already in flight."""
        flight = await deployment_queries.in_flight(serve.id, environment.id)
        if flight is None and idempotency_key is not None:
            replay = await deployment_queries.by_idempotency_key(idempotency_key)
            if replay is not None:
                return replay
        raise Conflict(
            f"a deployment of '{serve.name}' to '{environment.name}' is already in progress",
            code="DEPLOYMENT_IN_PROGRESS",
            serve=serve.name,
            env=environment.name,
            deployment_id=str(flight.id) if flight else None,
        )

    @transactional
    async def undeploy(self, actor: Actor, serve_name: str, env_name: str) -> Deployment:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        return await self.end(actor, serve, environment)

    async def end(
        self, actor: Actor, serve: Serve, environment: Environment, *, version: str | None = None
    ) -> Deployment:
        """End the active deployment (inside the caller's transaction); keeps the history."""
        if await deployment_queries.in_flight(serve.id, environment.id):
            raise Conflict(
                f"a deployment of '{serve.name}' to '{environment.name}' is in progress; "
                "wait for it before undeploying",
                code="DEPLOYMENT_IN_PROGRESS",
                serve=serve.name,
                env=environment.name,
            )
        active = await deployment_queries.active_for(serve.id, environment.id, lock=True)
        if active is None or (version and active.deployment.artifact.version != version):
            raise NotFound(
                f"no active deployment of '{serve.name}'"
                + (f" version '{version}'" if version else "")
                + f" in '{environment.name}'",
                code="NO_ACTIVE_DEPLOYMENT",
                serve=serve.name,
                env=environment.name,
            )
        deployment = await deployment_queries.end_active(active, datetime.now(UTC))
        deployment.environment = environment
        await workload_queries.retire(environment.id, serve.id)
        config = await traffic_queries.config_for(serve.id, environment.id, lock=True)
        if config is not None:  # its variants and router go with the serve
            await traffic_queries.delete_config(config)
        await audit.record(
            actor,
            "deployment.undeploy",
            "serve",
            resource_id=serve.id,
            resource_name=serve.name,
            project=serve.project.name,
            before={"env": environment.name, "deployment_id": str(deployment.id)},
        )
        after_commit(self.reconcile.ring)
        return deployment

    @transactional
    async def rollback(
        self, actor: Actor, serve_name: str, env_name: str, request: RollbackRequest
    ) -> Deployment:
        """Deploy again what ran before: the previous deployment, or a named version."""
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        active = await deployment_queries.active_for(serve.id, environment.id, lock=True)
        if request.artifact_version is not None:
            artifact = await artifact_of(serve.id, serve.name, request.artifact_version)
            target = None
        else:
            target = active.previous_deployment if active else None
            if target is None:
                raise Conflict(
                    f"'{serve_name}' has no previous deployment in '{env_name}' to roll back to",
                    code="NOTHING_TO_ROLL_BACK_TO",
                    serve=serve_name,
                    env=env_name,
                )
            artifact = target.artifact
        return await self.start(
            actor,
            serve,
            environment,
            artifact,
            env_vars=self.env.of(target) if target else None,
            app=AppOptions.of(target.spec) if target else None,
            rollback_of=target,
            action="rollback",
        )

    async def redeploy_active(
        self, actor: Actor, serve: Serve, environment: Environment
    ) -> Deployment | None:
        """Roll the active deployment out again with the current infra config (if any)."""
        active = await deployment_queries.active_for(serve.id, environment.id, lock=True)
        if active is None:
            return None
        return await self.start(
            actor,
            serve,
            environment,
            active.deployment.artifact,
            env_vars=self.env.of(active.deployment),
            app=AppOptions.of(active.deployment.spec),
            action="redeploy",
        )
