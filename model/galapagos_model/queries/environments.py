"""Environments."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from galapagos_model.catalog import Environment
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def environment_by_name(name: str) -> Environment | None:
    return await Environment.get_or_none(name=name)


async def environment_for_update(name: str) -> Environment | None:
    return await Environment.filter(name=name).select_for_update().first()


async def environments(request: PageRequest) -> Page[Environment]:
    return await paginate(Environment.all().order_by("name"), request)


async def create_environment(**values: Any) -> Environment:
    return await Environment.create(**values)


async def with_secrets() -> list[Environment]:
    """Environments holding sealed values (a Ray token or variables), locked."""
    sealed = Q(ray_token_encrypted__isnull=False) | Q(variables__isnull=False)
    return await Environment.filter(sealed).select_for_update()


async def change_environment(
    environment: Environment,
    *,
    env_configs: dict[str, Any],
    ray_address: str | None,
    is_protected: bool,
    variables: dict[str, str] | None,
) -> None:
    environment.env_configs = env_configs
    environment.ray_address = ray_address
    environment.is_protected = is_protected
    environment.variables = variables
    await environment.save(
        update_fields=["env_configs", "ray_address", "is_protected", "variables", "updated_at"]
    )


async def reseal(
    environment: Environment, ray_token: str | None, variables: dict[str, str] | None
) -> None:
    """The environment's sealed values, sealed again under the current key."""
    environment.ray_token_encrypted = ray_token
    environment.variables = variables
    await environment.save(update_fields=["ray_token_encrypted", "variables", "updated_at"])


async def delete_environment(environment: Environment) -> None:
    """Gone, unless anything still references it (the foreign keys refuse)."""
    await environment.delete()
