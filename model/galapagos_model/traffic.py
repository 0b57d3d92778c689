"""Traffic variants: a serve in an environment served by several versions at once (canary,
A/B test, shadow, blue-green), each its own workload, behind one route."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import fields

from galapagos_model.artifacts import Artifact
from galapagos_model.base import Entity
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import TrafficStatus, TrafficStrategy, VariantStatus

# The variant that is the serve's active deployment and keeps the weight no other is given.
STABLE = "stable"


class TrafficConfig(Entity):
    """How a serve's traffic in an environment is split among its variants."""

    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="traffic_configs", on_delete=fields.CASCADE
    )
    serve_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    strategy = fields.CharEnumField(TrafficStrategy, max_length=16)
    # The backend object that owns the serve's route (the router application, an HTTPRoute).
    route_name = fields.CharField(max_length=63)
    status = fields.CharEnumField(TrafficStatus, max_length=16, default=TrafficStatus.ACTIVE)
    # Requests with the same value of this header (or cookie) always reach the same variant.
    sticky_header = fields.CharField(max_length=128, null=True)
    sticky_cookie = fields.CharField(max_length=128, null=True)
    # A progressive rollout: {"steps": [weights], "interval_seconds", "gates": {...}}, the
    # step it is on and since when; None when traffic only moves by hand.
    rollout: dict[str, Any] | None = fields.JSONField(null=True)
    rollout_step: int | None = fields.IntField(null=True)
    step_started_at: datetime | None = fields.DatetimeField(null=True)
    variants: fields.ReverseRelation[TrafficVariant]

    @property
    def sticky(self) -> dict[str, str] | None:
        """``{"header": name}`` or ``{"cookie": name}``, as requests name it."""
        if self.sticky_header:
            return {"header": self.sticky_header}
        return {"cookie": self.sticky_cookie} if self.sticky_cookie else None

    class Meta:
        table = "traffic_configs"
        unique_together = (("serve", "environment"),)


class TrafficVariant(Entity):
    """One version taking part in a serve's traffic: its artifact, its weight (percent of
    the requests, or for a shadow of the copies), an optional header match that sends matching
    requests to it whatever the weights, and its own workload."""

    config: fields.ForeignKeyRelation[TrafficConfig] = fields.ForeignKeyField(
        "models.TrafficConfig", related_name="variants", on_delete=fields.CASCADE
    )
    config_id: UUID
    name = fields.CharField(max_length=100)
    artifact: fields.ForeignKeyRelation[Artifact] = fields.ForeignKeyField(
        "models.Artifact", related_name=False, on_delete=fields.RESTRICT
    )
    artifact_id: UUID
    weight = fields.IntField(default=0)
    header_match: dict[str, str] | None = fields.JSONField(null=True)
    status = fields.CharEnumField(VariantStatus, max_length=16, default=VariantStatus.PENDING)
    # Bumped whenever what the variant runs or receives changes.
    revision = fields.IntField(default=1)

    class Meta:
        table = "traffic_variants"
        unique_together = (("config", "name"),)
