"""Per (serve, environment) infra configs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import ServeType
from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig

InfraConfig = ApiServeInfraConfig | WorkflowServeInfraConfig


def _model(serve: Serve) -> type[ApiServeInfraConfig] | type[WorkflowServeInfraConfig]:
    return ApiServeInfraConfig if serve.type == ServeType.API else WorkflowServeInfraConfig


async def config_for(
    serve: Serve, environment_id: UUID, *, lock: bool = False
) -> InfraConfig | None:
    query = _model(serve).filter(serve_id=serve.id, environment_id=environment_id)
    if lock:
        query = query.select_for_update()
    return await query.first()


async def create_config(
    serve: Serve, environment: Environment, values: dict[str, Any]
) -> InfraConfig:
    return await _model(serve).create(serve=serve, environment=environment, **values)


async def save_config(config: InfraConfig, values: dict[str, Any]) -> None:
    config.update_from_dict(values)
    await config.save()


async def api_configs_of(serve_id: UUID) -> list[ApiServeInfraConfig]:
    """The serve's api configs, row-locked, with their environments."""
    return (
        await ApiServeInfraConfig.filter(serve_id=serve_id)
        .select_for_update()
        .select_related("environment")
        .order_by("created_at")
    )
