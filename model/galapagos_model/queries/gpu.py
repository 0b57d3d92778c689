"""The GPU catalog (imports upsert by natural key) and GPU instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from galapagos_model.enums import GpuInstanceStatus, ProviderKind
from galapagos_model.gpu import (
    GpuInstance,
    GpuInstanceEvent,
    InstanceAvailability,
    InstanceType,
    LlmModel,
    Provider,
    Region,
    Zone,
)
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


async def offers(
    kind: ProviderKind | None = None, provider: str | None = None
) -> list[InstanceAvailability]:
    """Every (type, zone) offer (of providers of ``kind``, of ``provider``), with its type
    and zone."""
    query = InstanceAvailability.all().select_related("instance_type", "zone")
    if kind is not None:
        query = query.filter(instance_type__provider__kind=kind)
    if provider is not None:
        query = query.filter(instance_type__provider__name=provider)
    return list(await query)


async def llm_models(request: PageRequest) -> Page[LlmModel]:
    return await paginate(LlmModel.all().order_by("model_id"), request)


async def llm_model(model_id: str) -> LlmModel | None:
    return await LlmModel.get_or_none(model_id=model_id)


async def create_llm_model(**fields: Any) -> LlmModel:
    return await LlmModel.create(**fields)


_RELATED = ("project", "llm_model", "instance_type", "zone", "environment")
ENDED = (GpuInstanceStatus.TERMINATED, GpuInstanceStatus.FAILED)


async def create_instance(**fields: Any) -> GpuInstance:
    return await GpuInstance.create(**fields)


async def instance(instance_id: UUID, *, lock: bool = False) -> GpuInstance | None:
    query = GpuInstance.filter(id=instance_id).select_related(*_RELATED)
    if lock:
        query = query.select_for_update()
    return await query.first()


async def instances_visible_to(
    user_id: UUID | None,
    request: PageRequest,
    *,
    project: str | None = None,
    model_id: str | None = None,
    status: GpuInstanceStatus | None = None,
) -> Page[GpuInstance]:
    """Instances in projects ``user_id`` belongs to (all when None), newest first."""
    query = (
        GpuInstance.all()
        if user_id is None
        else GpuInstance.filter(project__members__user_id=user_id)
    )
    if project is not None:
        query = query.filter(project__name=project)
    if model_id is not None:
        query = query.filter(llm_model__model_id=model_id)
    if status is not None:
        query = query.filter(status=status)
    return await paginate(query.select_related(*_RELATED).order_by("-created_at", "-id"), request)


async def live_in(environment_id: UUID) -> list[GpuInstance]:
    """The environment's instances not yet ended, oldest first."""
    query = GpuInstance.filter(environment_id=environment_id).exclude(status__in=ENDED)
    return list(await query.select_related(*_RELATED).order_by("created_at"))


async def ready_of(model_id: str, project_id: UUID, environment_id: UUID) -> list[GpuInstance]:
    """The READY instances of the catalog model ``model_id`` a project runs on an environment,
    oldest first."""
    query = GpuInstance.filter(
        llm_model__model_id=model_id,
        project_id=project_id,
        environment_id=environment_id,
        status=GpuInstanceStatus.READY,
    )
    return list(await query.order_by("created_at", "id"))


async def changed_since(moment: datetime | None) -> list[GpuInstance]:
    """Instances written at or after ``moment`` (every one when None), with their model."""
    query = GpuInstance.all() if moment is None else GpuInstance.filter(updated_at__gte=moment)
    if moment is None:
        query = query.exclude(status__in=ENDED)
    return list(await query.select_related("llm_model").order_by("updated_at"))


async def update_instance(instance: GpuInstance, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)
    await instance.save(update_fields=[*fields, "updated_at"])


async def add_event(instance: GpuInstance, status: GpuInstanceStatus, message: str) -> None:
    await GpuInstanceEvent.create(instance=instance, status=status, message=message)


async def events_of(instance_id: UUID) -> list[GpuInstanceEvent]:
    return list(await GpuInstanceEvent.filter(instance_id=instance_id).order_by("created_at"))
