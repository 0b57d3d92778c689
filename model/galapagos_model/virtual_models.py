"""Virtual models: one model name a project publishes (``chat-default``), answered by several
LLM backends (external OpenAI-compatible providers, the project's own serves, GPU-instance
models) with weights inside a priority tier and fallback to the next tier."""

from __future__ import annotations

from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import BackendKind, VirtualModelStatus, WorkloadState
from galapagos_model.identity import Project


class VirtualModel(Entity):
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name=False, on_delete=fields.RESTRICT
    )
    project_id: UUID
    name = fields.CharField(max_length=128)
    description = fields.TextField(null=True)
    # The object routing it on Kubernetes (an AIGatewayRoute).
    route_name = fields.CharField(max_length=63)
    status = fields.CharEnumField(
        VirtualModelStatus, max_length=16, default=VirtualModelStatus.ACTIVE
    )
    backends: fields.ReverseRelation[VirtualModelBackend]
    placements: fields.ReverseRelation[VirtualModelPlacement]

    class Meta:
        table = "virtual_models"
        unique_together = (("project", "name"),)


class VirtualModelBackend(Entity):
    """Where a virtual model's requests may go: an external endpoint (base URL, API key sealed
    like every secret), a serve of the project, or a model of the GPU catalog. With the model
    name sent upstream (None: the virtual name), its weight within its tier, and its tier (its
    priority, 0 first)."""

    virtual_model: fields.ForeignKeyRelation[VirtualModel] = fields.ForeignKeyField(
        "models.VirtualModel", related_name="backends", on_delete=fields.CASCADE
    )
    virtual_model_id: UUID
    # Its name on Kubernetes (the AIServiceBackend), unique with the override in its model.
    name = fields.CharField(max_length=63)
    kind = fields.CharEnumField(BackendKind, max_length=16)
    base_url = fields.CharField(max_length=1024, null=True)
    api_key_encrypted = fields.TextField(null=True)
    serve: fields.ForeignKeyNullableRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name=False, on_delete=fields.RESTRICT, null=True
    )
    serve_id: UUID | None
    model_id = fields.CharField(max_length=255, null=True)
    namespace = fields.CharField(max_length=63, null=True)
    model_name_override = fields.CharField(max_length=255, null=True)
    # The override as the unique key sees it ("" for none: NULLs never collide in a key).
    override_key = fields.CharField(max_length=255, default="")
    weight = fields.IntField(default=1)
    priority = fields.IntField(default=0)
    status = fields.CharEnumField(
        VirtualModelStatus, max_length=16, default=VirtualModelStatus.ACTIVE
    )

    class Meta:
        table = "virtual_model_backends"
        unique_together = (("virtual_model", "name", "override_key"),)


class VirtualModelPlacement(Entity):
    """A virtual model deployed on an environment: its environment's LLM router answers it
    (one router per environment, for all the virtual models placed there). The router's
    state and endpoint are recorded here by the reconciler."""

    virtual_model: fields.ForeignKeyRelation[VirtualModel] = fields.ForeignKeyField(
        "models.VirtualModel", related_name="placements", on_delete=fields.CASCADE
    )
    virtual_model_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    state = fields.CharEnumField(WorkloadState, max_length=16, default=WorkloadState.PENDING)
    endpoint = fields.CharField(max_length=1024, null=True)
    message = fields.TextField(null=True)

    class Meta:
        table = "virtual_model_placements"
        unique_together = (("virtual_model", "environment"),)
