"""Deployments of artifacts to environments and the active-deployment pointer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields

from galapagos_model.artifacts import Artifact
from galapagos_model.base import Entity
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import (
    DeploymentStatus,
    DeploymentStrategy,
    DesiredState,
    EnvironmentBackend,
    WorkloadRole,
    WorkloadState,
)
from galapagos_model.identity import User
from galapagos_model.traffic import TrafficVariant


class Deployment(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="deployments", on_delete=fields.RESTRICT
    )
    serve_id: UUID
    artifact: fields.ForeignKeyRelation[Artifact] = fields.ForeignKeyField(
        "models.Artifact", related_name="deployments", on_delete=fields.RESTRICT
    )
    artifact_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="deployments", on_delete=fields.RESTRICT
    )
    environment_id: UUID
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: UUID | None
    status = fields.CharEnumField(DeploymentStatus, max_length=16, default=DeploymentStatus.PENDING)
    strategy = fields.CharEnumField(
        DeploymentStrategy, max_length=16, default=DeploymentStrategy.ROLLING
    )
    config_snapshot: dict[str, Any] = fields.JSONField(default=dict)
    # The backend-neutral workload spec this deployment runs (see galapagos_core.workloads.spec).
    spec: dict[str, Any] = fields.JSONField(default=dict)
    # Names and non-secret values; secret values are kept encrypted, never echoed.
    environment_variables: dict[str, Any] = fields.JSONField(default=dict)
    error = fields.TextField(null=True)
    started_at = fields.DatetimeField(null=True)
    ready_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    idempotency_key = fields.CharField(max_length=128, null=True, unique=True)
    service_url = fields.CharField(max_length=1024, null=True)
    # Rollbacks point at the deployment whose artifact and config they restore.
    rollback_of: fields.ForeignKeyNullableRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    rollback_of_id: UUID | None
    # "<serve id>:<environment id>" while PENDING/DEPLOYING, NULL otherwise: the unique
    # index allows at most one deployment in flight per (serve, environment).
    inflight_key = fields.CharField(max_length=80, null=True, unique=True)
    # The traffic variant this deployment rolls out (None: the serve's only version).
    variant: fields.ForeignKeyNullableRelation[TrafficVariant] = fields.ForeignKeyField(
        "models.TrafficVariant", related_name="deployments", null=True, on_delete=fields.SET_NULL
    )
    variant_id: UUID | None

    workloads: fields.ReverseRelation[Workload]
    events: fields.ReverseRelation[DeploymentEvent]

    class Meta:
        table = "deployments"
        indexes = (("serve_id", "created_at"), ("serve_id", "status"))


class Workload(Entity):
    """An object a serve has on an environment's backend (a Ray Serve application, a
    RayService or an InferenceService). The spec is what should run there, taken from the
    deployment, and the reconciler makes the backend match it and records what it sees.

    A serve has one per environment, unless it has traffic variants: then one per variant and
    the router that owns its route (its role)."""

    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="workloads", on_delete=fields.RESTRICT
    )
    environment_id: UUID
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="workloads", on_delete=fields.RESTRICT
    )
    serve_id: UUID
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="workloads", on_delete=fields.RESTRICT
    )
    deployment_id: UUID
    backend = fields.CharEnumField(EnvironmentBackend, max_length=16)
    role = fields.CharEnumField(WorkloadRole, max_length=16, default=WorkloadRole.APP)
    variant: fields.ForeignKeyNullableRelation[TrafficVariant] = fields.ForeignKeyField(
        "models.TrafficVariant", related_name="workloads", null=True, on_delete=fields.SET_NULL
    )
    variant_id: UUID | None
    name = fields.CharField(max_length=63)
    external_id = fields.CharField(max_length=128, null=True)
    desired_state = fields.CharEnumField(DesiredState, max_length=16, default=DesiredState.DEPLOYED)
    current_state = fields.CharEnumField(
        WorkloadState, max_length=16, default=WorkloadState.PENDING
    )
    spec: dict[str, Any] = fields.JSONField()
    spec_hash = fields.CharField(max_length=64)
    url = fields.CharField(max_length=1024, null=True)
    last_error = fields.TextField(null=True)
    labels: dict[str, str] = fields.JSONField(default=dict)
    generation = fields.IntField(default=1)
    observed_generation = fields.IntField(default=0)
    last_reconciled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workloads"
        unique_together = (("environment", "name"),)


class DeploymentEvent(Entity):
    """The status history of a deployment."""

    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name="events", on_delete=fields.CASCADE
    )
    deployment_id: UUID
    status = fields.CharEnumField(DeploymentStatus, max_length=16)
    message = fields.TextField(null=True)

    class Meta:
        table = "deployment_events"


class ActiveDeployment(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="active_deployments", on_delete=fields.CASCADE
    )
    serve_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    deployment: fields.ForeignKeyRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name=False, on_delete=fields.RESTRICT
    )
    deployment_id: UUID
    previous_deployment: fields.ForeignKeyNullableRelation[Deployment] = fields.ForeignKeyField(
        "models.Deployment", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    previous_deployment_id: UUID | None

    class Meta:
        table = "active_deployments"
        unique_together = (("serve", "environment"),)
