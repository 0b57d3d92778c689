"""The Tortoise app module: every model of Galápagos, in one namespace."""

from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import ActiveDeployment, Deployment
from galapagos_model.identity import ApiToken, Project, ProjectMember, User
from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig

__all__ = [
    "ActiveDeployment",
    "ApiServeInfraConfig",
    "ApiToken",
    "Artifact",
    "ArtifactBuilderJob",
    "AuditLog",
    "Deployment",
    "Environment",
    "Project",
    "ProjectMember",
    "Serve",
    "User",
    "WorkflowServeInfraConfig",
]
