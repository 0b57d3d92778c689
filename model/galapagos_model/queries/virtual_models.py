"""Virtual models and their backends."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from galapagos_model.catalog import Environment
from galapagos_model.enums import WorkloadState
from galapagos_model.queries.paging import Page, PageRequest, paginate
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend, VirtualModelPlacement


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


# -- placements: virtual models on environments, answered by the environment's LLM router ----


async def place(model: VirtualModel, environment: Environment) -> VirtualModelPlacement:
    """The model's placement on ``environment``, created if new."""
    placement, _ = await VirtualModelPlacement.get_or_create(
        virtual_model=model, environment=environment
    )
    return placement


async def placement_of(model_id: UUID, environment_id: UUID) -> VirtualModelPlacement | None:
    return await VirtualModelPlacement.filter(
        virtual_model_id=model_id, environment_id=environment_id
    ).first()


async def placements_of(model_id: UUID) -> list[VirtualModelPlacement]:
    return list(
        await VirtualModelPlacement.filter(virtual_model_id=model_id)
        .select_related("environment")
        .order_by("created_at")
    )


async def placed_in(environment_id: UUID) -> list[VirtualModelPlacement]:
    """The placements on an environment, with their models and projects."""
    return list(
        await VirtualModelPlacement.filter(environment_id=environment_id)
        .select_related("virtual_model__project")
        .order_by("created_at")
    )


async def placed_named(environment_id: UUID, name: str) -> list[VirtualModelPlacement]:
    """The placements on an environment of models called ``name`` (any project)."""
    return list(
        await VirtualModelPlacement.filter(
            environment_id=environment_id, virtual_model__name=name
        ).select_related("virtual_model__project")
    )


async def unplace(placement: VirtualModelPlacement) -> None:
    await placement.delete()


def _differs(field: str, value: str | None) -> Q:
    null: dict[str, Any] = {f"{field}__isnull": value is not None}
    return Q(**null) if value is None else Q(**null) | ~Q(**{field: value})


async def record_router(
    environment_id: UUID, state: WorkloadState, endpoint: str | None, message: str | None
) -> None:
    """What the environment's LLM router shows, on every placement there (written only where
    it changed)."""
    changed = (
        _differs("state", state) | _differs("endpoint", endpoint) | _differs("message", message)
    )
    await VirtualModelPlacement.filter(Q(environment_id=environment_id) & changed).update(
        state=state, endpoint=endpoint, message=message
    )


async def record_placement(
    placement: VirtualModelPlacement,
    state: WorkloadState,
    endpoint: str | None,
    message: str | None,
) -> None:
    """What the environment shows of one placement (written only when it changed)."""
    if (placement.state, placement.endpoint, placement.message) != (state, endpoint, message):
        await VirtualModelPlacement.filter(id=placement.id).update(
            state=state, endpoint=endpoint, message=message
        )
