"""Users and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q

from galapagos_model.identity import ApiToken, ProjectMember, User
from galapagos_model.queries.paging import Page, PageRequest, paginate
from galapagos_model.queries.statements import Statement


async def user_by_name(username: str) -> User | None:
    return await User.get_or_none(username=username)


async def user_by_id(user_id: UUID | None) -> User | None:
    return await User.get_or_none(id=user_id) if user_id is not None else None


async def create_user(username: str, *, is_admin: bool) -> User:
    return await User.create(username=username, is_admin=is_admin)


@dataclass(frozen=True)
class TokenOwner:
    """A token's validity and its user: what authenticating a request reads."""

    id: UUID
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    user_id: UUID
    username: str
    is_admin: bool


_TOKEN_OWNER = Statement(
    """
    SELECT t.id, t.expires_at, t.last_used_at, t.revoked_at,
           u.id AS user_id, u.username, u.is_admin
    FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = %s
    """,
    id=UUID,
    expires_at=datetime,
    last_used_at=datetime,
    revoked_at=datetime,
    user_id=UUID,
    is_admin=bool,
)


async def token_owner(token_hash: str) -> TokenOwner | None:
    row = await _TOKEN_OWNER.first(token_hash)
    return TokenOwner(**row) if row else None


async def create_token(
    user: User, *, name: str, token_hash: str, prefix: str, expires_at: datetime | None
) -> ApiToken:
    return await ApiToken.create(
        user=user, name=name, token_hash=token_hash, prefix=prefix, expires_at=expires_at
    )


async def tokens_of(user_id: UUID, request: PageRequest) -> Page[ApiToken]:
    return await paginate(ApiToken.filter(user_id=user_id).order_by("-created_at", "-id"), request)


async def token_of_user_for_update(user_id: UUID, token_id: UUID) -> ApiToken | None:
    return await ApiToken.filter(id=token_id, user_id=user_id).select_for_update().first()


async def touch_token(token_id: UUID, at: datetime) -> None:
    await ApiToken.filter(id=token_id).update(last_used_at=at)


async def admin_token_exists() -> bool:
    return await ApiToken.filter(user__is_admin=True, revoked_at=None).exists()


async def promote_to_admin(user: User) -> None:
    user.is_admin = True
    await user.save(update_fields=["is_admin", "updated_at"])


async def revoke_token(token: ApiToken, at: datetime) -> None:
    token.revoked_at = at
    await token.save(update_fields=["revoked_at", "updated_at"])


@dataclass(frozen=True)
class Grant:
    """A live token's hash and the projects its user may call (None: an admin's, all)."""

    token_hash: str
    expires_at: datetime | None
    projects: list[str] | None


async def grants_for(project_ids: list[UUID], now: datetime) -> list[Grant]:
    """The live tokens of admins and of members of these projects, each with the projects
    among them its user belongs to."""
    projects_of: dict[UUID, list[str]] = {}
    for user_id, project in await ProjectMember.filter(project_id__in=project_ids).values_list(
        "user_id", "project__name"
    ):
        projects_of.setdefault(user_id, []).append(project)
    live = await (
        ApiToken.filter(revoked_at=None)
        .filter(Q(expires_at=None) | Q(expires_at__gt=now))
        .filter(Q(user__is_admin=True) | Q(user_id__in=list(projects_of)))
        .order_by("token_hash")
        .values_list("token_hash", "expires_at", "user_id", "user__is_admin")
    )
    return [
        Grant(digest, expires, None if admin else sorted(projects_of[user_id]))
        for digest, expires, user_id, admin in live
    ]
