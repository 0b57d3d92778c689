"""The service registry a process builds once at startup and hands to its callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from galapagos_core.artifacts.builds.store import DirectoryStore
from galapagos_core.artifacts.links import PackageLinks, package_links
from galapagos_core.artifacts.service import ArtifactService
from galapagos_core.catalog.clusters import ClusterService
from galapagos_core.catalog.environments import EnvironmentService
from galapagos_core.catalog.projects import ProjectService
from galapagos_core.catalog.serves import ServeService
from galapagos_core.deployments.commands import DeploymentService
from galapagos_core.deployments.env_secrets import EnvSecrets
from galapagos_core.deployments.one_click import ModelDeployService
from galapagos_core.deployments.reads import DeploymentReads
from galapagos_core.gpu.catalog import CatalogService
from galapagos_core.gpu.discovery import Discovery, MemoryStore
from galapagos_core.gpu.instances import GpuInstanceService
from galapagos_core.gpu.redis_store import RedisStore
from galapagos_core.identity.service import IdentityService
from galapagos_core.infra.service import InfraConfigService, ScalingService
from galapagos_core.kernel.audit import AuditService
from galapagos_core.kernel.boundaries import git_hosts, local_sources
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.kernel.loops import Wakeups
from galapagos_core.kernel.secrets import SecretBox, local_key_spec, parse_keys
from galapagos_core.traffic.figures import TrafficFigures
from galapagos_core.traffic.metrics import RouterMetrics
from galapagos_core.traffic.service import TrafficService
from galapagos_core.virtual_models.routing import LlmFigures
from galapagos_core.virtual_models.service import VirtualModelService
from galapagos_core.workloads.backends.local_ray import LocalRay, local_gpus
from galapagos_core.workloads.backends.ray import RayEndpoint
from galapagos_model.catalog import Environment


@dataclass(frozen=True)
class Services:
    settings: Settings
    secrets: SecretBox
    links: PackageLinks
    # Rung by intents recorded here, so this process's worker loops act on them at once.
    wakeups: Wakeups
    env_secrets: EnvSecrets
    identity: IdentityService
    projects: ProjectService
    serves: ServeService
    environments: EnvironmentService
    clusters: ClusterService
    infra_configs: InfraConfigService
    scaling: ScalingService
    artifacts: ArtifactService
    deployments: DeploymentService
    deployment_reads: DeploymentReads
    model_deploys: ModelDeployService
    traffic: TrafficService
    traffic_figures: TrafficFigures
    virtual_models: VirtualModelService
    gpu_catalog: CatalogService
    gpu_instances: GpuInstanceService
    discovery: Discovery  # kept fresh by the API's lifespan (Discovery.run)
    audit: AuditService
    http: HttpClient  # reads the API makes elsewhere (metrics): quick, never retried

    @classmethod
    def build(cls, settings: Settings) -> Services:
        secrets = secret_box(settings)
        wakeups = Wakeups()
        env_secrets = EnvSecrets(secrets)
        deployments = DeploymentService(settings.ray, env_secrets, wakeups.reconcile)
        artifacts = ArtifactService(
            settings.builds,
            DirectoryStore(settings.package_dir),
            local_sources(settings),
            git_hosts(settings),
            wakeups.builds,
        )
        http = HttpClient(timeout=5, retries=0)
        metrics_endpoint = _metrics_endpoint(settings, http)
        store = RedisStore(settings.gpu.redis_url) if settings.gpu.redis_url else MemoryStore()
        discovery = Discovery(store, settings.gpu.discovery_refresh_seconds)
        return cls(
            settings=settings,
            secrets=secrets,
            links=package_links(settings, secrets),
            wakeups=wakeups,
            env_secrets=env_secrets,
            identity=IdentityService(settings.auth),
            projects=ProjectService(),
            serves=ServeService(),
            environments=EnvironmentService(secrets),
            clusters=ClusterService(secrets),
            infra_configs=InfraConfigService(deployments.redeploy_active),
            scaling=ScalingService(deployments.redeploy_active),
            artifacts=artifacts,
            deployments=deployments,
            deployment_reads=DeploymentReads(settings.reconcile),
            model_deploys=ModelDeployService(deployments, artifacts),
            traffic=TrafficService(deployments, settings.traffic, wakeups.reconcile),
            traffic_figures=TrafficFigures(RouterMetrics(http, metrics_endpoint)),
            virtual_models=VirtualModelService(
                secrets,
                LlmFigures(http, metrics_endpoint),
                wakeups.reconcile,
                settings.reconcile.wait_timeout_seconds,
            ),
            gpu_catalog=CatalogService(),
            gpu_instances=GpuInstanceService(
                settings.gpu, discovery, wakeups.reconcile, local_gpus(settings.ray)
            ),
            discovery=discovery,
            audit=AuditService(),
            http=http,
        )

    async def close(self) -> None:
        await self.http.close()
        await self.discovery.close()


def _metrics_endpoint(
    settings: Settings, http: HttpClient
) -> Callable[[Environment], Awaitable[RayEndpoint]]:
    """Where an environment's Ray metrics are, without starting anything: the local Ray's
    endpoint when it runs (else the read fails, as it should), none for another Ray."""
    local = LocalRay(settings.ray, settings.data_dir, http)

    async def resolve(environment: Environment) -> RayEndpoint:
        if environment.ray_address == "local":
            return local.endpoint()
        return RayEndpoint(str(environment.ray_address or ""), None, "")

    return resolve


def secret_box(settings: Settings) -> SecretBox:
    """Keys from GALAPAGOS_SECRETS__KEYS; the embedded default keeps one in its data dir."""
    keys = settings.secrets.keys
    spec = keys.get_secret_value() if keys else local_key_spec(settings.data_dir)
    return SecretBox(parse_keys(spec))
