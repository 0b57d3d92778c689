"""The service registry a process builds once at startup and hands to its callers."""

from __future__ import annotations

from dataclasses import dataclass

from galapagos_core.artifacts import ArtifactService
from galapagos_core.audit import AuditService
from galapagos_core.boundaries import git_hosts, local_sources
from galapagos_core.builds.links import PackageLinks, package_links
from galapagos_core.builds.store import DirectoryStore
from galapagos_core.clusters import ClusterService
from galapagos_core.config import Settings
from galapagos_core.deployments import DeploymentService
from galapagos_core.environments import EnvironmentService
from galapagos_core.identity import IdentityService
from galapagos_core.infra_configs import InfraConfigService, ScalingService
from galapagos_core.one_click import ModelDeployService
from galapagos_core.projects import ProjectService
from galapagos_core.secrets import SecretBox, local_key_spec, parse_keys
from galapagos_core.serves import ServeService


@dataclass(frozen=True)
class Services:
    settings: Settings
    secrets: SecretBox
    links: PackageLinks
    identity: IdentityService
    projects: ProjectService
    serves: ServeService
    environments: EnvironmentService
    clusters: ClusterService
    infra_configs: InfraConfigService
    scaling: ScalingService
    artifacts: ArtifactService
    deployments: DeploymentService
    model_deploys: ModelDeployService
    audit: AuditService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        secrets = secret_box(settings)
        deployments = DeploymentService(settings, secrets)
        artifacts = ArtifactService(
            settings.builds,
            DirectoryStore(settings.package_dir),
            local_sources(settings),
            git_hosts(settings),
        )
        return cls(
            settings=settings,
            secrets=secrets,
            links=package_links(settings, secrets),
            identity=IdentityService(settings.auth),
            projects=ProjectService(),
            serves=ServeService(),
            environments=EnvironmentService(secrets),
            clusters=ClusterService(secrets),
            infra_configs=InfraConfigService(deployments),
            scaling=ScalingService(deployments),
            artifacts=artifacts,
            deployments=deployments,
            model_deploys=ModelDeployService(deployments, artifacts),
            audit=AuditService(),
        )


def secret_box(settings: Settings) -> SecretBox:
    """Keys from GALAPAGOS_SECRETS__KEYS; the embedded default keeps one in its data dir."""
    keys = settings.secrets.keys
    spec = keys.get_secret_value() if keys else local_key_spec(settings.data_dir)
    return SecretBox(parse_keys(spec))
