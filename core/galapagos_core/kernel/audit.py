"""Audit records, written in the same transaction as the change they describe."""

from __future__ import annotations

import re
from typing import Any

from galapagos_core.kernel.access import require_admin
from galapagos_core.kernel.actor import Actor
from galapagos_model.audit import AuditLog
from galapagos_model.enums import AuditOutcome
from galapagos_model.queries import audit as audit_queries
from galapagos_model.queries.paging import Page, PageRequest

_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|credential|private|api[_-]?key|kubeconfig", re.I
)
REDACTED = "***"


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEY.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


async def record(
    actor: Actor,
    action: str,
    resource_type: str,
    *,
    resource_id: object = None,
    resource_name: str | None = None,
    project: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
) -> None:
    await audit_queries.record(
        actor_id=actor.user_id,
        actor=actor.username,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        resource_name=resource_name,
        project=project,
        request_id=actor.request_id,
        source_ip=actor.source_ip,
        before=redact(before) if before is not None else None,
        after=redact(after) if after is not None else None,
        outcome=outcome,
    )


class AuditService:
    """Reads the audit trail (platform admins only)."""

    async def list(
        self,
        actor: Actor,
        page: PageRequest,
        *,
        resource_type: str | None = None,
        resource_name: str | None = None,
        username: str | None = None,
        project: str | None = None,
    ) -> Page[AuditLog]:
        require_admin(actor, "read the audit log")
        return await audit_queries.audit_entries(
            page,
            resource_type=resource_type,
            resource_name=resource_name,
            actor=username,
            project=project,
        )
