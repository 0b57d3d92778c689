"""Users and API tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from galapagos_model.identity import ApiToken, User
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def user_by_name(username: str) -> User | None:
    return await User.get_or_none(username=username)


async def user_by_id(user_id: UUID) -> User | None:
    return await User.get_or_none(id=user_id)


async def create_user(username: str, *, is_admin: bool) -> User:
    return await User.create(username=username, is_admin=is_admin)


async def token_by_hash(token_hash: str) -> ApiToken | None:
    return await ApiToken.get_or_none(token_hash=token_hash).select_related("user")


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
