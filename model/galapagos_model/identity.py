"""Users, API tokens, projects and project membership."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.enums import ProjectRole

if TYPE_CHECKING:
    from galapagos_model.catalog import Serve


class User(Entity):
    username = fields.CharField(max_length=50, unique=True)
    is_admin = fields.BooleanField(default=False)

    tokens: fields.ReverseRelation[ApiToken]
    memberships: fields.ReverseRelation[ProjectMember]

    class Meta:
        table = "users"


class ApiToken(Entity):
    """A bearer token: only the SHA-256 of the secret is stored, the prefix is for display."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: UUID
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class Project(Entity):
    name = fields.CharField(max_length=50, unique=True)
    description = fields.TextField(default="")

    serves: fields.ReverseRelation[Serve]
    members: fields.ReverseRelation[ProjectMember]

    class Meta:
        table = "projects"


class ProjectMember(Entity):
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="members", on_delete=fields.CASCADE
    )
    project_id: UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: UUID
    role = fields.CharEnumField(ProjectRole, max_length=16)

    class Meta:
        table = "project_members"
        unique_together = (("project", "user"),)
