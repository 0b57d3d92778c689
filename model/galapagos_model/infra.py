"""Per (serve, environment) infrastructure configuration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import ConcurrencyPolicy, NodeCapacityType, ServingFramework


class ApiServeInfraConfig(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="api_configs", on_delete=fields.CASCADE
    )
    serve_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    backend_type = fields.CharEnumField(ServingFramework, max_length=16)
    cores = fields.DecimalField(max_digits=6, decimal_places=2)
    memory = fields.DecimalField(max_digits=7, decimal_places=2)  # GiB
    gpus = fields.IntField(default=0)
    gpu_type = fields.CharField(max_length=64, null=True)
    node_capacity_type = fields.CharEnumField(NodeCapacityType, max_length=16)
    min_replicas = fields.IntField()
    max_replicas = fields.IntField()
    autoscaling_target = fields.IntField(null=True)  # ongoing requests per replica
    additional_hosts: list[str] = fields.JSONField(default=list)
    # Darwin's scaling-config: strategy, factor and optional ladder (see the README).
    scaling_policy: dict[str, Any] | None = fields.JSONField(null=True)

    class Meta:
        table = "api_serve_infra_configs"
        unique_together = (("serve", "environment"),)


class WorkflowServeInfraConfig(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="workflow_configs", on_delete=fields.CASCADE
    )
    serve_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    schedule = fields.CharField(max_length=100, null=True)
    timezone = fields.CharField(max_length=64, default="UTC")
    head_node_config: dict[str, Any] = fields.JSONField()
    worker_node_config: list[dict[str, Any]] = fields.JSONField(default=list)
    concurrency_policy = fields.CharEnumField(
        ConcurrencyPolicy, max_length=16, default=ConcurrencyPolicy.FORBID
    )
    retries = fields.IntField(default=0)

    class Meta:
        table = "workflow_serve_infra_configs"
        unique_together = (("serve", "environment"),)
