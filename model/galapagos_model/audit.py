"""The audit trail: one row per mutation."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.enums import AuditOutcome


class AuditLog(Entity):
    actor_id = fields.UUIDField(null=True)
    actor = fields.CharField(max_length=50)
    action = fields.CharField(max_length=64)
    resource_type = fields.CharField(max_length=32)
    resource_id = fields.CharField(max_length=64, null=True)
    resource_name = fields.CharField(max_length=255, null=True)
    project = fields.CharField(max_length=50, null=True)
    request_id = fields.CharField(max_length=64, null=True)
    source_ip = fields.CharField(max_length=64, null=True)
    before: dict[str, Any] | None = fields.JSONField(null=True)
    after: dict[str, Any] | None = fields.JSONField(null=True)
    outcome = fields.CharEnumField(AuditOutcome, max_length=16, default=AuditOutcome.SUCCESS)

    class Meta:
        table = "audit_logs"
        indexes = (("resource_type", "resource_id"), ("created_at",))
