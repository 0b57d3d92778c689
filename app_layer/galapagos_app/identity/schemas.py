"""Users, tokens, projects, members, audit entries."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_app.paging import ReadModel, Timestamp
from galapagos_model.enums import AuditOutcome, ProjectRole


class UserRead(ReadModel):
    id: UUID
    username: str
    is_admin: bool
    created_at: Timestamp


class TokenRead(ReadModel):
    """A token as listed: never its secret nor its hash."""

    id: UUID
    name: str
    prefix: str
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    created_at: Timestamp


class TokenIssued(TokenRead):
    token: str
    """The secret, shown this once."""


class ProjectRead(ReadModel):
    id: UUID
    name: str
    description: str
    created_at: Timestamp


class MemberRead(ReadModel):
    username: str
    role: ProjectRole
    created_at: Timestamp


class AuditEntryRead(ReadModel):
    id: UUID
    created_at: Timestamp
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    resource_name: str | None
    project: str | None
    request_id: str | None
    source_ip: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: AuditOutcome
