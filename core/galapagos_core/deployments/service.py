"""Deployments: deploy, undeploy, roll back, read status and history.

A request writes the desired state — the Deployment (PENDING) and its Workload's new spec —
in one transaction and returns; the reconciler applies it and records what it observes
(galapagos_core.workloads.reconciler). At most one deployment is in flight per (serve, environment):
the database's unique ``inflight_key`` refuses a second one with 409.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from galapagos_core.artifacts.errors import artifact_not_found
from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import readable_serve, visible_serve
from galapagos_core.deployments.errors import deployment_not_found
from galapagos_core.deployments.specs import DeployRequest, RollbackRequest
from galapagos_core.infra.errors import infra_config_not_found
from galapagos_core.infra.specs import spec_of
from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.audit import redact
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound
from galapagos_core.kernel.naming import resource_name
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.kernel.transactions import transactional
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import ActiveDeployment, Deployment
from galapagos_model.enums import (
    ArtifactKind,
    DeploymentStatus,
    DeploymentStrategy,
    DesiredState,
    EnvironmentBackend,
    ProjectRole,
    ServeType,
    WorkloadState,
)
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.queries import artifacts as artifact_queries
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import infra as infra_queries
from galapagos_model.queries.paging import Page, PageRequest

_SUPPORTED_KINDS = {
    EnvironmentBackend.RAY: {ArtifactKind.PACKAGE, ArtifactKind.MODEL},
    EnvironmentBackend.KUBERAY: {ArtifactKind.PACKAGE, ArtifactKind.MODEL},
    EnvironmentBackend.KSERVE: {ArtifactKind.MODEL, ArtifactKind.IMAGE},
}
_TERMINAL = {
    DeploymentStatus.ACTIVE,
    DeploymentStatus.FAILED,
    DeploymentStatus.SUPERSEDED,
    DeploymentStatus.ENDED,
}


def secret_context(deployment_id: UUID, name: str) -> str:
    return f"deployment:{deployment_id}:env:{name}"


def _is_secret(name: str) -> bool:
    return bool(redact({name: "x"})[name] != "x")


class DeploymentService:
    def __init__(self, settings: Settings, secrets: SecretBox) -> None:
        self.settings = settings
        self.secrets = secrets

    # Reading ------------------------------------------------------------------------------

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
    ) -> tuple[ActiveDeployment | None, Deployment | None, Any]:
        """The active deployment, the one in flight, and the serve's workload there."""
        serve = await readable_serve(actor, serve_name)
        environment = await environment_named(env_name)
        active = await deployment_queries.active_for(serve.id, environment.id)
        flight = await deployment_queries.in_flight(serve.id, environment.id)
        workload = await deployment_queries.workload_for(environment.id, serve.id)
        return active, flight, workload

    async def wait(self, deployment_id: UUID, seconds: float) -> Deployment:
        """Poll until the deployment leaves PENDING/DEPLOYING or ``seconds`` pass."""
        seconds = min(seconds, self.settings.reconcile.wait_timeout_seconds)
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            deployment = await deployment_queries.deployment_by_id(deployment_id)
            assert deployment is not None
            if deployment.status in _TERMINAL or asyncio.get_running_loop().time() >= deadline:
                return deployment
            await asyncio.sleep(0.25)

    # Writing ------------------------------------------------------------------------------

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
        artifact = await artifact_queries.artifact_by_version(serve.id, request.artifact_version)
        if artifact is None:
            raise artifact_not_found(serve_name, request.artifact_version)
        options = request.api_serve_deployment_config
        return await self.start(
            actor,
            serve,
            environment,
            artifact,
            env_vars=(options.environment_variables if options else None),
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
        idempotency_key: str | None = None,
        rollback_of: Deployment | None = None,
        action: str = "deploy",
    ) -> Deployment:
        """Record a deployment and the workload spec it wants (inside the caller's transaction)."""
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
        config = await infra_queries.config_for(serve, environment.id)
        if not isinstance(config, ApiServeInfraConfig):
            raise infra_config_not_found(serve.name, environment.name)
        if env_vars is None:
            # As Darwin does: without a deploy config, the last deployment's variables carry over.
            active = await deployment_queries.active_for(serve.id, environment.id)
            env_vars = self.open_env_vars(active.deployment) if active else {}
        now = datetime.now(UTC)
        try:
            deployment = await deployment_queries.create_deployment(
                serve=serve,
                environment=environment,
                artifact=artifact,
                created_by_id=actor.user_id,
                status=DeploymentStatus.PENDING,
                strategy=DeploymentStrategy.ROLLING,
                config_snapshot=spec_of(config).model_dump(mode="json"),
                idempotency_key=idempotency_key,
                started_at=now,
                inflight_key=f"{serve.id}:{environment.id}",
                rollback_of=rollback_of,
            )
        except IntegrityError:
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
            ) from None
        deployment.environment_variables = {
            name: self.secrets.seal(value, secret_context(deployment.id, name))
            if _is_secret(name)
            else value
            for name, value in env_vars.items()
        }
        spec = self.workload_spec(
            serve, environment, artifact, config, deployment, deployment.environment_variables
        )
        deployment.spec = spec.model_dump(mode="json")
        deployment.service_url = self.service_url(environment, spec)
        await deployment.save()
        await self._want(serve, environment, deployment, spec)
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
        return deployment

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
        deployment = active.deployment
        deployment.environment = environment
        deployment.status = DeploymentStatus.ENDED
        deployment.ended_at = datetime.now(UTC)
        await deployment.save(update_fields=["status", "ended_at", "updated_at"])
        await active.delete()
        workload = await deployment_queries.workload_for(environment.id, serve.id, lock=True)
        if workload is not None:
            workload.desired_state = DesiredState.UNDEPLOYED
            workload.generation += 1
            await workload.save()
        await deployment_queries.record_event(deployment, DeploymentStatus.ENDED, "undeployed")
        await audit.record(
            actor,
            "deployment.undeploy",
            "serve",
            resource_id=serve.id,
            resource_name=serve.name,
            project=serve.project.name,
            before={"env": environment.name, "deployment_id": str(deployment.id)},
        )
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
            artifact = await artifact_queries.artifact_by_version(
                serve.id, request.artifact_version
            )
            if artifact is None:
                raise artifact_not_found(serve_name, request.artifact_version)
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
            env_vars=self.open_env_vars(target) if target else None,
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
            env_vars=self.open_env_vars(active.deployment),
            action="redeploy",
        )

    # Helpers ------------------------------------------------------------------------------

    def open_env_vars(self, deployment: Deployment) -> dict[str, str]:
        return self._open(deployment.id, deployment.environment_variables)

    def open_spec(self, payload: dict[str, Any]) -> WorkloadSpec:
        """A stored workload spec, ready to render: its secret values opened."""
        spec = WorkloadSpec.model_validate(payload)
        return spec.with_opened_env(self._open(UUID(spec.deployment_id), spec.env_vars))

    def _open(self, deployment_id: UUID, values: dict[str, str]) -> dict[str, str]:
        return {
            name: self.secrets.open(value, secret_context(deployment_id, name))
            if _is_secret(name)
            else value
            for name, value in values.items()
        }

    def workload_spec(
        self,
        serve: Serve,
        environment: Environment,
        artifact: Artifact,
        config: ApiServeInfraConfig,
        deployment: Deployment,
        env_vars: dict[str, str],
    ) -> WorkloadSpec:
        replicas = scaled_replicas(config)
        return WorkloadSpec(
            name=resource_name(serve.name),
            project=serve.project.name,
            serve=serve.name,
            environment=environment.name,
            deployment_id=str(deployment.id),
            route_prefix=f"/{serve.name}",
            artifact_kind=artifact.kind,
            artifact_version=artifact.version,
            package_sha256=artifact.package_sha256,
            import_path=artifact.import_path,
            image_url=artifact.image_url,
            model_uri=artifact.model_uri,
            model_format=artifact.model_format.value if artifact.model_format else None,
            min_replicas=replicas[0],
            max_replicas=replicas[1],
            autoscaling_target=replicas[2],
            cpus=float(config.cores),
            memory_gib=float(config.memory),
            gpus=config.gpus,
            gpu_type=config.gpu_type,
            node_capacity=config.node_capacity_type,
            env_vars=env_vars,
        )

    def service_url(self, environment: Environment, spec: WorkloadSpec) -> str | None:
        """Where the serve answers, when known before it is ready (Ray: its route)."""
        if environment.backend != EnvironmentBackend.RAY:
            return None
        if environment.ray_address == "local":
            base = f"http://127.0.0.1:{self.settings.ray.serve_port}"
        else:
            base = str(environment.env_configs.get("serve_url") or "")
        return f"{base.rstrip('/')}{spec.route_prefix}" if base else None

    async def _want(
        self, serve: Serve, environment: Environment, deployment: Deployment, spec: WorkloadSpec
    ) -> None:
        workload = await deployment_queries.workload_for(environment.id, serve.id, lock=True)
        if workload is None:
            await deployment_queries.create_workload(
                environment=environment,
                serve=serve,
                deployment=deployment,
                backend=environment.backend,
                name=spec.name,
                spec=spec.model_dump(mode="json"),
                spec_hash=spec.digest(),
                labels=spec.labels(),
                desired_state=DesiredState.DEPLOYED,
                current_state=WorkloadState.PENDING,
            )
            return
        workload.deployment = deployment
        workload.spec = spec.model_dump(mode="json")
        workload.spec_hash = spec.digest()
        workload.labels = spec.labels()
        workload.desired_state = DesiredState.DEPLOYED
        workload.generation += 1
        await workload.save()


def scaled_replicas(config: ApiServeInfraConfig) -> tuple[int, int, int | None]:
    """(min, max, target ongoing requests) after the serve's scaling policy, if any.

    SCALAR multiplies both bounds by ``scaling_factor`` (rounded up, at least 1, at most
    100). LADDER takes its smallest and largest rung as the bounds and the lowest positive
    load threshold as the autoscaling target.
    """
    low, high, target = config.min_replicas, config.max_replicas, config.autoscaling_target
    policy = config.scaling_policy
    if not policy:
        return low, high, target
    if policy.get("scaling_strategy") == "LADDER" and policy.get("scaling_ladder"):
        ladder = policy["scaling_ladder"]
        replicas = [int(step["replicas"]) for step in ladder]
        loads = [float(step["load"]) for step in ladder if float(step["load"]) > 0]
        return min(replicas), max(replicas), int(min(loads)) if loads else target
    factor = float(policy.get("scaling_factor", 1.0))

    def scale(replicas: int) -> int:
        return max(1, min(100, math.ceil(replicas * factor)))

    return scale(low), max(scale(low), scale(high)), target
