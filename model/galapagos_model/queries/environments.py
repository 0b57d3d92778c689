"""Environments."""

from __future__ import annotations

from typing import Any

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


async def with_ray_tokens() -> list[Environment]:
    return await Environment.filter(ray_token_encrypted__isnull=False).select_for_update()


async def change_environment(
    environment: Environment,
    *,
    env_configs: dict[str, Any],
    ray_address: str | None,
    is_protected: bool,
) -> None:
    environment.env_configs = env_configs
    environment.ray_address = ray_address
    environment.is_protected = is_protected
    await environment.save(
        update_fields=["env_configs", "ray_address", "is_protected", "updated_at"]
    )


async def reseal_ray_token(environment: Environment, sealed: str) -> None:
    environment.ray_token_encrypted = sealed
    await environment.save(update_fields=["ray_token_encrypted", "updated_at"])


async def delete_environment(environment: Environment) -> None:
    """Gone, unless anything still references it (the foreign keys refuse)."""
    await environment.delete()
