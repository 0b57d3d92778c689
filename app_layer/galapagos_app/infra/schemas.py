"""Infra configs as rendered: Darwin's flat rows, one per environment."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from galapagos_app.paging import Timestamp
from galapagos_core.infra.specs import (
    ApiServeConfig,
    FastApiConfig,
    HeadNodeConfig,
    WorkerNodeConfig,
    spec_of,
)
from galapagos_model.enums import ConcurrencyPolicy, ServingFramework
from galapagos_model.queries.infra import InfraConfig


class _InfraConfigRead(BaseModel):
    id: UUID
    env: str
    created_at: Timestamp
    updated_at: Timestamp


class ApiInfraConfigRead(_InfraConfigRead):
    type: Literal["API"] = "API"
    backend_type: ServingFramework
    additional_hosts: list[str]
    fast_api_config: FastApiConfig


class WorkflowInfraConfigRead(_InfraConfigRead):
    type: Literal["WORKFLOW"] = "WORKFLOW"
    schedule: str | None
    timezone: str
    head_node_config: HeadNodeConfig
    worker_node_config: list[WorkerNodeConfig]
    concurrency_policy: ConcurrencyPolicy
    retries: int


InfraConfigRead = Annotated[
    ApiInfraConfigRead | WorkflowInfraConfigRead, Field(discriminator="type")
]


def infra_config_read(
    env: str, config: InfraConfig
) -> ApiInfraConfigRead | WorkflowInfraConfigRead:
    """Darwin's flat config row: the spec's fields beside id, env, type and timestamps."""
    spec = spec_of(config)
    values: dict[str, Any] = {
        **dict(spec),
        "id": config.id,
        "env": env,
        "created_at": config.created_at,
        "updated_at": config.updated_at,
    }
    if isinstance(spec, ApiServeConfig):
        return ApiInfraConfigRead(**values)
    return WorkflowInfraConfigRead(**values)
