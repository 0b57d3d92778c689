"""Serves and their overview."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tortoise.queryset import QuerySet

from galapagos_model.catalog import Serve
from galapagos_model.enums import ProjectRole, ServeType
from galapagos_model.identity import Project, User
from galapagos_model.queries.paging import Page, PageRequest, paginate
from galapagos_model.queries.statements import Statement


@dataclass(frozen=True)
class ServeAccess:
    """What a read needs of a serve: its key, its project, the caller's role there (None
    for non-members) and its deployment counter."""

    id: UUID
    project: str
    role: ProjectRole | None
    deployment_count: int


_ACCESS = Statement(
    """
    SELECT s.id, p.name AS project, m.role, s.deployment_count
    FROM serves s
    JOIN projects p ON p.id = s.project_id
    LEFT JOIN project_members m ON m.project_id = s.project_id AND m.user_id = %s
    WHERE s.name = %s
    """,
    id=UUID,
    role=ProjectRole,
)


async def serve_access(name: str, user_id: UUID | None) -> ServeAccess | None:
    """The serve called ``name`` as :class:`ServeAccess` for ``user_id`` (one query; no role
    for None, the platform itself)."""
    row = await _ACCESS.first(user_id, name)
    return ServeAccess(**row) if row else None


def _visible(user_id: UUID | None) -> QuerySet[Serve]:
    return Serve.all() if user_id is None else Serve.filter(project__members__user_id=user_id)


async def serves_visible_to(
    user_id: UUID | None, request: PageRequest, *, project: str | None = None
) -> Page[Serve]:
    """Serves in projects ``user_id`` belongs to (all serves when None), newest first."""
    query = _visible(user_id).select_related("project", "created_by").order_by("-created_at", "-id")
    if project is not None:
        query = query.filter(project__name=project)
    return await paginate(query, request)


async def serve_by_name(name: str) -> Serve | None:
    return await Serve.get_or_none(name=name).select_related("project", "created_by")


async def serve_overview(name: str) -> Serve | None:
    """The serve with its project and every infra config (and environment) prefetched."""
    return (
        await Serve.filter(name=name)
        .select_related("project", "created_by")
        .prefetch_related("api_configs__environment", "workflow_configs__environment")
        .first()
    )


async def serve_for_update(serve_id: UUID) -> Serve | None:
    return await Serve.filter(id=serve_id).select_for_update().first()


async def create_serve(
    *,
    project: Project,
    name: str,
    type: ServeType,
    description: str,
    health_path: str | None,
    created_by: User | None,
) -> Serve:
    return await Serve.create(
        project=project,
        name=name,
        type=type,
        description=description,
        health_path=health_path,
        created_by=created_by,
    )


async def describe_serve(serve: Serve, description: str, health_path: str | None) -> None:
    """What the serve says about itself: its description, and the route that says it answers."""
    serve.description, serve.health_path = description, health_path
    await serve.save(update_fields=["description", "health_path", "updated_at"])


async def delete_serve(serve: Serve) -> None:
    """Gone, unless it has a deployment history (the foreign keys refuse)."""
    await serve.delete()
