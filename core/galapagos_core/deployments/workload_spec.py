"""What a deployment asks its environment's backend to run: the workload spec, built from the
serve, the artifact and the infra config, and the URL the serve answers at."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from galapagos_core.artifacts.builds.inspection import HEALTH_PATH
from galapagos_core.kernel.config import RaySettings
from galapagos_core.kernel.naming import resource_name
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import ArtifactKind, EnvironmentBackend
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.traffic import TrafficVariant


@dataclass(frozen=True)
class AppOptions:
    """What a deploy asks of the user's Serve application: its builder's arguments and Serve
    options per deployment (carried over to later deploys, like environment variables)."""

    args: dict[str, Any] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, stored_spec: dict[str, Any]) -> AppOptions:
        """Those a recorded deployment ran with."""
        return cls(stored_spec.get("app_args") or {}, stored_spec.get("deployment_options") or {})


def workload_spec(
    serve: Serve,
    environment: Environment,
    artifact: Artifact,
    config: ApiServeInfraConfig,
    deployment_id: UUID,
    env_vars: dict[str, str],
    app: AppOptions,
) -> WorkloadSpec:
    """The spec of ``deployment_id`` (``env_vars`` as stored: secret values sealed). The
    package's requirements are installed where it runs, unless the environment's image has
    them (``environment_configs.install_requirements: false``)."""
    low, high, target = scaled_replicas(config)
    install = environment.env_configs.get("install_requirements", True) is not False
    return WorkloadSpec(
        name=resource_name(serve.name),
        project=serve.project.name,
        serve=serve.name,
        environment=environment.name,
        deployment_id=str(deployment_id),
        route_prefix=f"/{serve.name}",
        artifact_kind=artifact.kind,
        artifact_version=artifact.version,
        package_sha256=artifact.package_sha256,
        import_path=artifact.import_path,
        image_url=artifact.image_url,
        model_uri=artifact.model_uri,
        model_format=artifact.model_format.value if artifact.model_format else None,
        min_replicas=low,
        max_replicas=high,
        autoscaling_target=target,
        cpus=float(config.cores),
        memory_gib=float(config.memory),
        gpus=config.gpus,
        gpu_type=config.gpu_type,
        node_capacity=config.node_capacity_type,
        env_vars=env_vars,
        pip=list(artifact.requirements or []) if install else [],
        app_args=app.args,
        deployment_options=app.deployments,
        health_path=serve.health_path or health_path_of(artifact),
    )


def health_path_of(artifact: Artifact) -> str | None:
    """The route that says the artifact answers: what its build found in the code, the model
    server's own for models; None leaves readiness to the backend."""
    if artifact.kind == ArtifactKind.MODEL:
        return HEALTH_PATH
    return artifact.health_path


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


def service_url(ray: RaySettings, environment: Environment, spec: WorkloadSpec) -> str | None:
    """Where the serve answers, when known before it is ready (Ray: its route, which a
    traffic variant's router owns; a blue-green preview has a route of its own)."""
    if environment.backend != EnvironmentBackend.RAY:
        return None
    if environment.ray_address == "local":
        base = f"http://127.0.0.1:{ray.serve_port}"
    else:
        base = str(environment.env_configs.get("serve_url") or "")
    route = spec.route_prefix or f"/{spec.serve}"
    return f"{base.rstrip('/')}{route}" if base else None


def preview_route(serve: Serve) -> str:
    """Where a blue-green config's new colour answers before the switch."""
    return f"/{serve.name}-preview"


def as_variant(
    spec: WorkloadSpec, variant: TrafficVariant, app_name: str, route: str | None
) -> WorkloadSpec:
    """``spec`` run as a traffic variant: its own application, no route of its own (unless
    ``route``: a preview), requests from the serve's router."""
    return spec.model_copy(
        update={"name": app_name, "route_prefix": route, "variant": str(variant.id)}
    )
