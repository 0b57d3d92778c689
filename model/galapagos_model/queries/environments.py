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
