"""The Tortoise app module: every model of Galápagos, in one namespace."""

from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Cluster, Environment, Serve
from galapagos_model.deployments import ActiveDeployment, Deployment, DeploymentEvent, Workload
from galapagos_model.gpu import (
    GpuInstance,
    GpuInstanceEvent,
    InstanceAvailability,
    InstanceType,
    LlmModel,
    Provider,
    Region,
    Zone,
)
from galapagos_model.identity import ApiToken, Project, ProjectMember, User
from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig
from galapagos_model.traffic import TrafficConfig, TrafficVariant
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend, VirtualModelPlacement

__all__ = [
    "ActiveDeployment",
    "ApiServeInfraConfig",
    "ApiToken",
    "Artifact",
    "ArtifactBuilderJob",
    "AuditLog",
    "Cluster",
    "Deployment",
    "DeploymentEvent",
    "Environment",
    "GpuInstance",
    "GpuInstanceEvent",
    "InstanceAvailability",
    "InstanceType",
    "LlmModel",
    "Project",
    "ProjectMember",
    "Provider",
    "Region",
    "Serve",
    "TrafficConfig",
    "TrafficVariant",
    "User",
    "VirtualModel",
    "VirtualModelBackend",
    "VirtualModelPlacement",
    "WorkflowServeInfraConfig",
    "Workload",
    "Zone",
]
