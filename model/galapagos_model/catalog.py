"""Serves (what is served) and environments (where it is served)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.enums import ClusterStatus, EnvironmentBackend, ServeType
from galapagos_model.identity import Project, User

if TYPE_CHECKING:
    from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
    from galapagos_model.deployments import ActiveDeployment, Deployment, Workload
    from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig


class Serve(Entity):
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="serves", on_delete=fields.RESTRICT
    )
    project_id: UUID
    name = fields.CharField(max_length=50, unique=True)
    type = fields.CharEnumField(ServeType, max_length=16)
    description = fields.TextField(default="")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: UUID | None
    # How many deployments the serve has had: the history page's total without a COUNT
    # over them. Bumped in the transaction that records each deployment.
    deployment_count = fields.IntField(default=0)
    # The route that says the app answers; None: /healthcheck where the app has one.
    health_path = fields.CharField(max_length=255, null=True)

    api_configs: fields.ReverseRelation[ApiServeInfraConfig]
    workflow_configs: fields.ReverseRelation[WorkflowServeInfraConfig]
    builder_jobs: fields.ReverseRelation[ArtifactBuilderJob]
    artifacts: fields.ReverseRelation[Artifact]
    deployments: fields.ReverseRelation[Deployment]
    workloads: fields.ReverseRelation[Workload]
    active_deployments: fields.ReverseRelation[ActiveDeployment]

    class Meta:
        table = "serves"


class Environment(Entity):
    name = fields.CharField(max_length=50, unique=True)
    env_configs: dict[str, Any] = fields.JSONField(default=dict)
    is_protected = fields.BooleanField(default=False)
    backend = fields.CharEnumField(
        EnvironmentBackend, max_length=16, default=EnvironmentBackend.RAY
    )
    # For the ray backend: the dashboard address, or "local" for a Ray the platform starts.
    ray_address = fields.CharField(max_length=255, null=True)
    # The Ray dashboard's bearer token, encrypted (see galapagos_core.kernel.secrets).
    ray_token_encrypted: str | None = fields.TextField(null=True)
    # Environment variables every workload here gets (secret-looking values sealed), e.g. an
    # MLflow tracking URI and its credentials; a deployment's own variables win.
    variables: dict[str, str] | None = fields.JSONField(null=True)
    # For the kuberay and kserve backends: where they run.
    cluster: fields.ForeignKeyNullableRelation[Cluster] = fields.ForeignKeyField(
        "models.Cluster", related_name="environments", null=True, on_delete=fields.RESTRICT
    )
    cluster_id: UUID | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: UUID | None
    # The reconciler that holds this environment, and until when (row lease).
    reconcile_owner = fields.CharField(max_length=64, null=True)
    reconcile_until = fields.DatetimeField(null=True)
    last_reconciled_at = fields.DatetimeField(null=True)  # the last pass that succeeded
    reconcile_error = fields.TextField(null=True)  # why the last pass failed; None once one works
    deployments: fields.ReverseRelation[Deployment]
    workloads: fields.ReverseRelation[Workload]

    class Meta:
        table = "environments"


class Cluster(Entity):
    """A Kubernetes cluster. Its kubeconfig is stored encrypted and never returned."""

    name = fields.CharField(max_length=50, unique=True)
    api_server_url = fields.CharField(max_length=255)
    kubeconfig_encrypted = fields.TextField()
    status = fields.CharEnumField(ClusterStatus, max_length=16, default=ClusterStatus.UNKNOWN)
    status_message = fields.TextField(null=True)
    # Which custom resources exist there, e.g. {"rayservices.ray.io": ["v1"]}.
    capabilities: dict[str, Any] = fields.JSONField(default=dict)
    checked_at = fields.DatetimeField(null=True)
    environments: fields.ReverseRelation[Environment]

    class Meta:
        table = "clusters"
