"""The audit trail."""

from __future__ import annotations

from typing import Any

from galapagos_model.audit import AuditLog
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def record(**values: Any) -> AuditLog:
    return await AuditLog.create(**values)


async def audit_entries(
    request: PageRequest,
    *,
    resource_type: str | None = None,
    resource_name: str | None = None,
    actor: str | None = None,
    project: str | None = None,
) -> Page[AuditLog]:
    query = AuditLog.all()
    filters = {
        "resource_type": resource_type,
        "resource_name": resource_name,
        "actor": actor,
        "project": project,
    }
    query = query.filter(**{key: value for key, value in filters.items() if value is not None})
    return await paginate(query.order_by("-created_at", "-id"), request)
