"""Virtual models and their backends."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet

from galapagos_model.queries.paging import Page, PageRequest, paginate
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend


def _visible(user_id: UUID | None) -> QuerySet[VirtualModel]:
    if user_id is None:
        return VirtualModel.all()
    return VirtualModel.filter(project__members__user_id=user_id)


async def models_visible_to(
    user_id: UUID | None, request: PageRequest, *, project: str | None = None
) -> Page[VirtualModel]:
    """Virtual models in projects ``user_id`` belongs to (all when None), newest first."""
    query = _visible(user_id).select_related("project").order_by("-created_at", "-id")
    if project is not None:
        query = query.filter(project__name=project)
    return await paginate(query, request)


async def models_named(
    name: str, project: str | None = None, *, lock: bool = False
) -> list[VirtualModel]:
    """Every virtual model called ``name`` (in ``project`` when given), with its project."""
    query = VirtualModel.filter(name=name).select_related("project")
    if project is not None:
        query = query.filter(project__name=project)
    if lock:
        query = query.select_for_update()
    return list(await query.order_by("created_at"))


async def create_model(**fields: Any) -> VirtualModel:
    return await VirtualModel.create(**fields)


async def update(row: VirtualModel | VirtualModelBackend, **changes: Any) -> None:
    """Change these fields of a virtual model or a backend (and its update time)."""
    for key, value in changes.items():
        setattr(row, key, value)
    await row.save(update_fields=[*changes, "updated_at"])


async def delete_model(model: VirtualModel) -> None:
    await model.delete()


async def backends_of(model_id: UUID) -> list[VirtualModelBackend]:
    """A virtual model's backends, tier by tier, in the order they were added."""
    query = VirtualModelBackend.filter(virtual_model_id=model_id).select_related("serve")
    return list(await query.order_by("priority", "created_at", "id"))


async def backend_of(model_id: UUID, backend_id: UUID) -> VirtualModelBackend | None:
    return await VirtualModelBackend.get_or_none(
        id=backend_id, virtual_model_id=model_id
    ).select_related("serve")


async def create_backend(**fields: Any) -> VirtualModelBackend:
    return await VirtualModelBackend.create(**fields)


async def delete_backend(backend: VirtualModelBackend) -> None:
    await backend.delete()
