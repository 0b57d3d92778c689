"""Project-role checks. Callers outside a project get 404 so they learn nothing about it."""

from __future__ import annotations

from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import NotFound, PermissionDenied
from galapagos_model.enums import ProjectRole
from galapagos_model.identity import Project
from galapagos_model.queries import projects as project_queries


async def require_role(
    actor: Actor, project: Project, required: ProjectRole, *, hidden: NotFound
) -> None:
    """Pass if ``actor`` holds ``required`` (or more) in ``project``; platform admins always pass.

    ``hidden`` is raised for non-members: it names what they asked for, not the project.
    """
    if actor.is_admin or actor.user_id is None:  # the platform itself is an admin
        return
    role = await project_queries.role_of(actor.user_id, project.id)
    check_role(actor, role, required, project=project.name, hidden=hidden)


def check_role(
    actor: Actor,
    role: ProjectRole | None,
    required: ProjectRole,
    *,
    project: str,
    hidden: NotFound,
) -> None:
    """:func:`require_role` for a ``role`` already read (None: not a member)."""
    if actor.is_admin:
        return
    if role is None:
        raise hidden
    if not role.allows(required):
        raise PermissionDenied(
            f"{required.value} role required in project '{project}' (you are {role.value})",
            project=project,
            required_role=required.value,
            role=role.value,
        )


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only platform admins can {what}", required_role="admin")
