"""Serves, environments and infra configs as rendered."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from galapagos_app.schemas.common import ReadModel, Timestamp
from galapagos_core.infra_specs import ApiServeConfig, WorkflowServeConfig
from galapagos_model.enums import EnvironmentBackend, ServeType


class ServeRead(ReadModel):
    id: UUID
    name: str
    type: ServeType
    description: str
    space: str
    created_by: str | None
    created_at: Timestamp
    updated_at: Timestamp


class InfraConfigRead(ReadModel):
    """A config in Darwin's shape: one of the two keys is set, per the serve's type."""

    env: str
    api_serve_config: ApiServeConfig | None = None
    workflow_serve_config: WorkflowServeConfig | None = None


class ServeOverview(ServeRead):
    infra_configs: list[InfraConfigRead] = Field(default_factory=list)


class EnvironmentCreated(ReadModel):
    id: UUID
    name: str


class EnvironmentRead(ReadModel):
    id: UUID
    name: str
    environment_configs: dict[str, Any] = Field(validation_alias="env_configs")
    backend: EnvironmentBackend
    ray_address: str | None
    is_protected: bool
    created_at: Timestamp
    updated_at: Timestamp
