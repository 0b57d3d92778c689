"""The GPU catalog: imports (upserts by natural key) and reads."""

from __future__ import annotations

from typing import Any

from galapagos_model.gpu import InstanceAvailability, InstanceType, LlmModel, Provider, Region, Zone
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def upsert_provider(name: str, **fields: Any) -> tuple[Provider, bool]:
    return await Provider.update_or_create(defaults=fields, name=name)


async def upsert_region(provider: Provider, name: str) -> tuple[Region, bool]:
    return await Region.get_or_create(provider=provider, name=name)


async def upsert_zone(region: Region, name: str) -> tuple[Zone, bool]:
    return await Zone.get_or_create(region=region, name=name)


async def upsert_instance_type(
    provider: Provider, name: str, **fields: Any
) -> tuple[InstanceType, bool]:
    return await InstanceType.update_or_create(defaults=fields, provider=provider, name=name)


async def upsert_availability(
    instance_type: InstanceType, zone: Zone, capacity: list[str]
) -> tuple[InstanceAvailability, bool]:
    return await InstanceAvailability.update_or_create(
        defaults={"capacity": capacity}, instance_type=instance_type, zone=zone
    )


async def upsert_llm_model(model_id: str, **fields: Any) -> tuple[LlmModel, bool]:
    return await LlmModel.update_or_create(defaults=fields, model_id=model_id)


async def providers(request: PageRequest) -> Page[Provider]:
    query = Provider.all().order_by("name").prefetch_related("regions__zones")
    return await paginate(query, request)


async def instance_types(request: PageRequest, provider: str | None = None) -> Page[InstanceType]:
    query = (
        InstanceType.all()
        .select_related("provider")
        .prefetch_related("availability__zone")
        .order_by("provider__name", "name")
    )
    if provider is not None:
        query = query.filter(provider__name=provider)
    return await paginate(query, request)


async def offers() -> list[InstanceAvailability]:
    """Every (type, zone) offer, with its type and zone."""
    return list(await InstanceAvailability.all().select_related("instance_type", "zone"))


async def llm_models(request: PageRequest) -> Page[LlmModel]:
    return await paginate(LlmModel.all().order_by("model_id"), request)


async def llm_model(model_id: str) -> LlmModel | None:
    return await LlmModel.get_or_none(model_id=model_id)


async def create_llm_model(**fields: Any) -> LlmModel:
    return await LlmModel.create(**fields)
