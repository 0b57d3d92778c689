"""Serves: register, list, read with their infra configs, update, delete."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.errors import project_not_found, serve_not_found
from galapagos_core.catalog.projects import ensure_project
from galapagos_core.kernel import audit
from galapagos_core.kernel.access import check_role, require_role
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.darwin import DarwinBody
from galapagos_core.kernel.errors import Conflict
from galapagos_core.kernel.names import ResourceName
from galapagos_core.kernel.transactions import transactional
from galapagos_model.catalog import Serve
from galapagos_model.enums import ProjectRole, ServeType
from galapagos_model.queries import identity as identity_queries
from galapagos_model.queries import serves as serve_queries
from galapagos_model.queries.paging import Page, PageRequest
from galapagos_model.queries.serves import ServeAccess

HealthPath = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^/[!-~]*$"),
    Field(description="the route that says the app answers (default: /healthcheck if it has one)"),
]


class ServeCreate(DarwinBody):
    name: ResourceName
    type: ServeType
    space: ResourceName = Field(description="the project (Darwin's space); created if new")
    description: str = Field("", max_length=2000)
    health_path: HealthPath | None = None


class ServeUpdate(BaseModel):
    description: str | None = Field(None, max_length=2000)
    health_path: HealthPath | None = None


async def visible_serve(actor: Actor, name: str, required: ProjectRole) -> Serve:
    """The serve called ``name`` if ``actor`` holds ``required`` in its project, else 404/403."""
    serve = await serve_queries.serve_by_name(name)
    if serve is None:
        raise serve_not_found(name)
    await require_role(actor, serve.project, required, hidden=serve_not_found(name))
    return serve


async def readable_serve(actor: Actor, name: str) -> ServeAccess:
    """The serve called ``name`` if ``actor`` may read it, else 404: for reads that need
    only its key, in one query (the role comes with the serve)."""
    access = await serve_queries.serve_access(name, actor.user_id)
    if access is None:
        raise serve_not_found(name)
    check_role(
        actor, access.role, ProjectRole.VIEWER, project=access.project, hidden=serve_not_found(name)
    )
    return access


async def register_serve(actor: Actor, spec: ServeCreate) -> Serve:
    """Create a serve in its space (the project, created for the actor when new); editors of
    an existing project only. Runs in the caller's transaction."""
    project, created = await ensure_project(actor, spec.space)
    if not created:
        await require_role(actor, project, ProjectRole.EDITOR, hidden=project_not_found(spec.space))
    creator = await identity_queries.user_by_id(actor.user_id)
    try:
        serve = await serve_queries.create_serve(
            project=project,
            name=spec.name,
            type=spec.type,
            description=spec.description,
            health_path=spec.health_path,
            created_by=creator,
        )
    except IntegrityError:
        raise Conflict(
            f"serve '{spec.name}' already exists", code="SERVE_ALREADY_EXISTS", serve=spec.name
        ) from None
    await audit.record(
        actor,
        "serve.create",
        "serve",
        resource_id=serve.id,
        resource_name=serve.name,
        project=project.name,
        after=spec.model_dump(mode="json"),
    )
    return serve


class ServeService:
    @transactional
    async def create(self, actor: Actor, spec: ServeCreate) -> Serve:
        return await register_serve(actor, spec)

    async def list(
        self, actor: Actor, page: PageRequest, *, project: str | None = None
    ) -> Page[Serve]:
        return await serve_queries.serves_visible_to(actor.visibility, page, project=project)

    async def overview(self, actor: Actor, name: str) -> Serve:
        """The serve with every infra config and its environment loaded."""
        serve = await serve_queries.serve_overview(name)
        if serve is None:
            raise serve_not_found(name)
        await require_role(actor, serve.project, ProjectRole.VIEWER, hidden=serve_not_found(name))
        return serve

    @transactional
    async def update(self, actor: Actor, name: str, spec: ServeUpdate) -> Serve:
        serve = await visible_serve(actor, name, ProjectRole.EDITOR)
        before = {"description": serve.description, "health_path": serve.health_path}
        await serve_queries.describe_serve(
            serve,
            serve.description if spec.description is None else spec.description,
            serve.health_path if spec.health_path is None else spec.health_path,
        )
        await audit.record(
            actor,
            "serve.update",
            "serve",
            resource_id=serve.id,
            resource_name=name,
            project=serve.project.name,
            before=before,
            after={"description": serve.description, "health_path": serve.health_path},
        )
        return serve

    @transactional
    async def delete(self, actor: Actor, name: str) -> None:
        """Delete a serve that has never been deployed (its history must stay)."""
        serve = await visible_serve(actor, name, ProjectRole.OWNER)
        try:
            await serve_queries.delete_serve(serve)
        except IntegrityError:
            raise Conflict(
                f"serve '{name}' has deployments and cannot be deleted",
                code="SERVE_IN_USE",
                serve=name,
            ) from None
        await audit.record(
            actor,
            "serve.delete",
            "serve",
            resource_id=serve.id,
            resource_name=name,
            project=serve.project.name,
            before={"name": name, "type": serve.type.value},
        )
