"""Users, tokens, projects and the audit log (Galápagos extensions)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.identity.schemas import (
    AuditEntryRead,
    MemberRead,
    ProjectRead,
    TokenIssued,
    TokenRead,
    UserRead,
)
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_core.catalog.projects import MemberSet, ProjectCreate
from galapagos_core.identity.service import IssuedToken, TokenCreate
from galapagos_core.kernel.errors import NotFound
from galapagos_model.identity import ProjectMember

router = Router(tag="identity")


def _issued(issued: IssuedToken) -> TokenIssued:
    return TokenIssued.model_validate(
        {**TokenRead.model_validate(issued.token).model_dump(), "token": issued.secret}
    )


def _member(member: ProjectMember) -> MemberRead:
    return MemberRead(username=member.user.username, role=member.role, created_at=member.created_at)


def _uuid(value: str, what: NotFound) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise what from None


@router.get("/api/v1/users/me", summary="The calling user", response=UserRead)
async def get_me(call: Call[NoBody, NoQuery]) -> UserRead:
    return UserRead.model_validate(await call.services.identity.me(call.actor))


@router.post(
    "/api/v1/tokens",
    summary="Issue a token for the caller (the secret is shown once)",
    body=TokenCreate,
    response=TokenIssued,
    status_code=201,
)
async def create_token(call: Call[TokenCreate, NoQuery]) -> TokenIssued:
    return _issued(await call.services.identity.create_token(call.actor, call.body))


@router.get(
    "/api/v1/tokens",
    summary="The caller's tokens",
    query=PageQuery,
    response=PageOut[TokenRead],
)
async def list_tokens(call: Call[NoBody, PageQuery]) -> PageOut[TokenRead]:
    page = await call.services.identity.list_tokens(call.actor, call.query.request())
    return page_out(page, TokenRead)


@router.delete(
    "/api/v1/tokens/{token_id}",
    summary="Revoke one of the caller's tokens",
    response=TokenRead,
    errors=(404,),
)
async def revoke_token(call: Call[NoBody, NoQuery]) -> TokenRead:
    raw = call.path["token_id"]
    missing = NotFound(f"token '{raw}' not found", code="TOKEN_NOT_FOUND", token_id=raw)
    token = await call.services.identity.revoke_token(call.actor, _uuid(raw, missing))
    return TokenRead.model_validate(token)


@router.get(
    "/api/v1/projects",
    summary="Projects the caller belongs to (all, for admins)",
    query=PageQuery,
    response=PageOut[ProjectRead],
)
async def list_projects(call: Call[NoBody, PageQuery]) -> PageOut[ProjectRead]:
    page = await call.services.projects.list(call.actor, call.query.request())
    return page_out(page, ProjectRead)


@router.post(
    "/api/v1/projects",
    summary="Create a project; the caller becomes its owner",
    body=ProjectCreate,
    response=ProjectRead,
    status_code=201,
    errors=(409,),
)
async def create_project(call: Call[ProjectCreate, NoQuery]) -> ProjectRead:
    return ProjectRead.model_validate(await call.services.projects.create(call.actor, call.body))


@router.get(
    "/api/v1/projects/{project}", summary="One project", response=ProjectRead, errors=(404,)
)
async def get_project(call: Call[NoBody, NoQuery]) -> ProjectRead:
    project = await call.services.projects.get(call.actor, call.path["project"])
    return ProjectRead.model_validate(project)


@router.get(
    "/api/v1/projects/{project}/members",
    summary="Members of a project",
    response=list[MemberRead],
    errors=(404,),
)
async def list_members(call: Call[NoBody, NoQuery]) -> list[MemberRead]:
    members = await call.services.projects.members(call.actor, call.path["project"])
    return [_member(m) for m in members]


@router.post(
    "/api/v1/projects/{project}/members",
    summary="Add a member or change a role (owners)",
    body=MemberSet,
    response=MemberRead,
    errors=(403, 404, 409),
)
async def set_member(call: Call[MemberSet, NoQuery]) -> MemberRead:
    member = await call.services.projects.set_member(call.actor, call.path["project"], call.body)
    return _member(member)


@router.delete(
    "/api/v1/projects/{project}/members/{username}",
    summary="Remove a member (owners)",
    errors=(403, 404, 409),
)
async def remove_member(call: Call[NoBody, NoQuery]) -> None:
    await call.services.projects.remove_member(
        call.actor, call.path["project"], call.path["username"]
    )


class AuditQuery(PageQuery):
    resource_type: str | None = Field(None, max_length=32)
    resource_name: str | None = Field(None, max_length=255)
    actor: str | None = Field(None, max_length=50)
    project: str | None = Field(None, max_length=50)


@router.get(
    "/api/v1/audit",
    summary="The audit trail, newest first (platform admins)",
    query=AuditQuery,
    response=PageOut[AuditEntryRead],
    errors=(403,),
)
async def list_audit(call: Call[NoBody, AuditQuery]) -> PageOut[AuditEntryRead]:
    q = call.query
    page = await call.services.audit.list(
        call.actor,
        q.request(),
        resource_type=q.resource_type,
        resource_name=q.resource_name,
        username=q.actor,
        project=q.project,
    )
    return page_out(page, AuditEntryRead)
