"""Serves (what is served) and environments (where it is served)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.enums import EnvironmentBackend, ServeType
from galapagos_model.identity import Project, User

if TYPE_CHECKING:
    from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig


class Serve(Entity):
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="serves", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=50, unique=True)
    type = fields.CharEnumField(ServeType, max_length=16)
    description = fields.TextField(default="")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    api_configs: fields.ReverseRelation[ApiServeInfraConfig]
    workflow_configs: fields.ReverseRelation[WorkflowServeInfraConfig]

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
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "environments"
