"""Serves and environments as rendered (Darwin's field names)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from galapagos_app.infra.schemas import InfraConfigRead
from galapagos_app.paging import ReadModel, Timestamp
from galapagos_core.kernel.audit import redact
from galapagos_model.enums import EnvironmentBackend, ServeType


class ServeRead(ReadModel):
    id: UUID
    name: str
    type: ServeType
    description: str
    space: str
    health_path: str | None = None
    created_by: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ServeOverview(BaseModel):
    """Darwin's overview: the serve, then its infra configs (api first, then workflow)."""

    serve: ServeRead
    infra_configs: list[InfraConfigRead]


class EnvironmentCreated(ReadModel):
    id: UUID
    name: str


class EnvironmentRead(ReadModel):
    id: UUID
    name: str
    env_configs: dict[str, Any]
    backend: EnvironmentBackend
    ray_address: str | None
    is_protected: bool
    variables: dict[str, str] = Field(
        default_factory=dict,
        description="what every workload here gets; secret-looking values are never returned",
    )
    last_reconciled_at: Timestamp | None = Field(
        None, description="when the reconciler last brought it in line"
    )
    reconcile_error: str | None = Field(None, description="why its last reconcile pass failed")
    created_at: Timestamp
    updated_at: Timestamp

    @field_validator("variables", mode="before")
    @classmethod
    def _redacted(cls, value: Any) -> Any:
        return redact(value or {})
