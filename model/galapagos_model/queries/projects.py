"""Projects and their members."""

from __future__ import annotations

from uuid import UUID

from galapagos_model.enums import ProjectRole
from galapagos_model.identity import Project, ProjectMember, User
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def project_by_name(name: str) -> Project | None:
    return await Project.get_or_none(name=name)


async def project_by_name_for_update(name: str) -> Project | None:
    # A locking read sees the latest committed row, not the transaction's snapshot.
    return await Project.filter(name=name).select_for_update().first()


async def create_project(name: str, description: str = "") -> Project:
    return await Project.create(name=name, description=description)


async def role_of(user_id: UUID, project_id: UUID) -> ProjectRole | None:
    member = await ProjectMember.get_or_none(user_id=user_id, project_id=project_id)
    return member.role if member else None


async def projects_visible_to(user_id: UUID | None, request: PageRequest) -> Page[Project]:
    """Projects ``user_id`` belongs to; every project when ``user_id`` is None (admins)."""
    query = Project.all() if user_id is None else Project.filter(members__user_id=user_id)
    return await paginate(query.order_by("name"), request)


async def members_of(project_id: UUID) -> list[ProjectMember]:
    return (
        await ProjectMember.filter(project_id=project_id)
        .select_related("user")
        .order_by("created_at")
    )


async def add_member(project: Project, user: User, role: ProjectRole) -> ProjectMember:
    return await ProjectMember.create(project=project, user=user, role=role)


async def member_for_update(project_id: UUID, user_id: UUID) -> ProjectMember | None:
    return (
        await ProjectMember.filter(project_id=project_id, user_id=user_id)
        .select_for_update()
        .select_related("user")
        .first()
    )


async def owner_count(project_id: UUID) -> int:
    return await ProjectMember.filter(project_id=project_id, role=ProjectRole.OWNER).count()


async def change_role(member: ProjectMember, role: ProjectRole) -> None:
    member.role = role
    await member.save(update_fields=["role", "updated_at"])


async def remove_member(member: ProjectMember) -> None:
    await member.delete()
