"""Projects (Darwin's "space") and their members."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.errors import project_not_found
from galapagos_core.kernel import audit
from galapagos_core.kernel.access import require_role
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import Conflict, NotFound
from galapagos_core.kernel.names import ResourceName, Username
from galapagos_core.kernel.transactions import transactional
from galapagos_model.enums import ProjectRole
from galapagos_model.identity import Project, ProjectMember
from galapagos_model.queries import identity as identity_queries
from galapagos_model.queries import projects as project_queries
from galapagos_model.queries.paging import Page, PageRequest


class ProjectCreate(BaseModel):
    name: ResourceName
    description: str = Field("", max_length=2000)


class MemberSet(BaseModel):
    username: Username
    role: ProjectRole


async def ensure_project(actor: Actor, name: str) -> tuple[Project, bool]:
    """The project called ``name``, created with ``actor`` as owner if it does not exist yet.

    Must run inside the caller's transaction; safe when several requests create it at once.
    """
    project = await project_queries.project_by_name(name)
    if project is not None:
        return project, False
    try:
        project = await project_queries.create_project(name)
    except IntegrityError:
        # Someone created it between our read and our insert: use theirs.
        existing = await project_queries.project_by_name_for_update(name)
        if existing is None:
            raise
        return existing, False
    await _founded(actor, project, {"name": name})
    return project, True


async def _founded(actor: Actor, project: Project, spec: dict[str, str]) -> None:
    """A new project: its creator owns it (the platform itself owns nothing); audited."""
    owner = await identity_queries.user_by_id(actor.user_id)
    if owner is not None:
        await project_queries.add_member(project, owner, ProjectRole.OWNER)
    await audit.record(
        actor,
        "project.create",
        "project",
        resource_id=project.id,
        resource_name=project.name,
        project=project.name,
        after=spec,
    )


class ProjectService:
    async def list(self, actor: Actor, page: PageRequest) -> Page[Project]:
        return await project_queries.projects_visible_to(actor.visibility, page)

    async def get(self, actor: Actor, name: str) -> Project:
        project = await project_queries.project_by_name(name)
        if project is None:
            raise project_not_found(name)
        await require_role(actor, project, ProjectRole.VIEWER, hidden=project_not_found(name))
        return project

    @transactional
    async def create(self, actor: Actor, spec: ProjectCreate) -> Project:
        try:
            project = await project_queries.create_project(spec.name, spec.description)
        except IntegrityError:
            raise Conflict(
                f"project '{spec.name}' already exists",
                code="PROJECT_ALREADY_EXISTS",
                project=spec.name,
            ) from None
        await _founded(actor, project, spec.model_dump())
        return project

    async def members(self, actor: Actor, name: str) -> Sequence[ProjectMember]:
        project = await self.get(actor, name)
        return await project_queries.members_of(project.id)

    @transactional
    async def set_member(self, actor: Actor, name: str, spec: MemberSet) -> ProjectMember:
        """Add a member or change their role (owners only); the last owner cannot step down."""
        project = await self._managed(actor, name)
        user = await identity_queries.user_by_name(spec.username)
        if user is None:
            raise NotFound(
                f"user '{spec.username}' does not exist: they get an account with their first "
                "token (galapagos token create --user …)",
                code="USER_NOT_FOUND",
                username=spec.username,
            )
        member = await project_queries.member_for_update(project.id, user.id)
        before = {"role": member.role.value} if member else None
        if member is None:
            try:
                member = await project_queries.add_member(project, user, spec.role)
            except IntegrityError:
                raise Conflict(
                    f"'{spec.username}' was added to '{name}' concurrently; retry",
                    code="MEMBER_CONFLICT",
                ) from None
            member.user = user
        else:
            await self._keep_an_owner(member, spec.role)
            await project_queries.change_role(member, spec.role)
        await audit.record(
            actor,
            "project.member.set",
            "project",
            resource_id=project.id,
            resource_name=name,
            project=name,
            before=before,
            after={"username": spec.username, "role": spec.role.value},
        )
        return member

    @transactional
    async def remove_member(self, actor: Actor, name: str, username: str) -> None:
        project = await self._managed(actor, name)
        user = await identity_queries.user_by_name(username)
        member = await project_queries.member_for_update(project.id, user.id) if user else None
        if member is None:
            raise NotFound(
                f"'{username}' is not a member of project '{name}'",
                code="MEMBER_NOT_FOUND",
                project=name,
                username=username,
            )
        await self._keep_an_owner(member, None)
        await project_queries.remove_member(member)
        await audit.record(
            actor,
            "project.member.remove",
            "project",
            resource_id=project.id,
            resource_name=name,
            project=name,
            before={"username": username, "role": member.role.value},
        )

    async def _managed(self, actor: Actor, name: str) -> Project:
        project = await project_queries.project_by_name_for_update(name)
        if project is None:
            raise project_not_found(name)
        await require_role(actor, project, ProjectRole.OWNER, hidden=project_not_found(name))
        return project

    async def _keep_an_owner(self, member: ProjectMember, new_role: ProjectRole | None) -> None:
        if member.role != ProjectRole.OWNER or new_role == ProjectRole.OWNER:
            return
        if await project_queries.owner_count(member.project_id) <= 1:
            raise Conflict(
                "a project needs at least one owner: add another owner first",
                code="LAST_OWNER",
            )
