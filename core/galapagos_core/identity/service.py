"""Users and bearer tokens: issue, authenticate, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from cachetools import TTLCache
from pydantic import BaseModel, Field
from tortoise.exceptions import IntegrityError

from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import AuthSettings
from galapagos_core.kernel.errors import NotFound
from galapagos_core.kernel.transactions import transactional
from galapagos_model.identity import ApiToken, User
from galapagos_model.queries import identity as identity_queries
from galapagos_model.queries.identity import TokenOwner
from galapagos_model.queries.paging import Page, PageRequest

TOKEN_PREFIX = "glp_"
# last_used_at is refreshed at most this often, so authentication stays a read.
_TOUCH_INTERVAL = timedelta(minutes=1)
# Tokens remembered at once per process; the least recently used go first beyond that.
_KNOWN_TOKENS = 10_000


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenCreate(BaseModel):
    name: str = Field("default", min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="lifetime; the configured default when absent"
    )


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``secret`` exists only here: it is never stored."""

    token: ApiToken
    secret: str


class IdentityService:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        # Token hash → its owner row, as last read (see AuthSettings.token_cache_seconds).
        self._known: TTLCache[str, TokenOwner] = TTLCache(
            maxsize=_KNOWN_TOKENS, ttl=settings.token_cache_seconds
        )

    async def authenticate(self, secret: str) -> Actor | None:
        """The actor a bearer secret belongs to, or None if unknown, revoked or expired."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        token_hash = hash_secret(secret)
        token = self._known.get(token_hash)
        if token is None:
            token = await identity_queries.token_owner(token_hash)
            if token is None:
                return None
            if self._settings.token_cache_seconds:
                self._known[token_hash] = token
        now = datetime.now(UTC)
        if token.revoked_at is not None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_INTERVAL:
            await identity_queries.touch_token(token.id, now)
            self._known.pop(token_hash, None)  # re-read with its new last_used_at next time
        return Actor(
            user_id=token.user_id,
            username=token.username,
            is_admin=token.is_admin,
            token_id=token.id,
        )

    @transactional
    async def issue_for_username(
        self,
        username: str,
        *,
        admin: bool,
        name: str = "cli",
        expires_in_days: int | None = None,
        actor: Actor | None = None,
    ) -> IssuedToken:
        """Create the user if needed (promoting it when ``admin``) and issue a token (CLI path);
        each change is audited under ``actor`` when one is given (the CLI gives its own)."""
        user = await identity_queries.user_by_name(username)
        if user is None:
            try:
                user = await identity_queries.create_user(username, is_admin=admin)
                await self._audit(actor, "user.create", user, {"is_admin": admin})
            except IntegrityError:
                user = await identity_queries.user_by_name(username)
                assert user is not None
        if admin and not user.is_admin:
            await identity_queries.promote_to_admin(user)
            await self._audit(actor, "user.promote", user, {"is_admin": True})
        issued = await self._issue(user, TokenCreate(name=name, expires_in_days=expires_in_days))
        await self._audit(
            actor, "token.create", user, {"name": name, "prefix": issued.token.prefix}
        )
        return issued

    async def _audit(
        self, actor: Actor | None, action: str, user: User, after: dict[str, Any]
    ) -> None:
        if actor is not None:
            await audit.record(
                actor, action, "user", resource_id=user.id, resource_name=user.username, after=after
            )

    @transactional
    async def bootstrap_admin(self, username: str = "admin") -> IssuedToken | None:
        """The first admin token of an empty installation; None once any admin token exists."""
        if await identity_queries.admin_token_exists():
            return None
        user = await identity_queries.user_by_name(username) or await identity_queries.create_user(
            username, is_admin=True
        )
        return await self._issue(
            user, TokenCreate(name="bootstrap", expires_in_days=None), ttl=False
        )

    async def me(self, actor: Actor) -> User:
        user = await identity_queries.user_by_id(actor.user_id)
        if user is None:
            raise NotFound("user not found", code="USER_NOT_FOUND")
        return user

    @transactional
    async def create_token(self, actor: Actor, spec: TokenCreate) -> IssuedToken:
        user = await self.me(actor)
        issued = await self._issue(user, spec)
        await audit.record(
            actor,
            "token.create",
            "token",
            resource_id=issued.token.id,
            resource_name=spec.name,
            after={"name": spec.name, "prefix": issued.token.prefix},
        )
        return issued

    async def list_tokens(self, actor: Actor, page: PageRequest) -> Page[ApiToken]:
        return await identity_queries.tokens_of(actor.account_id, page)

    async def revoke_token(self, actor: Actor, token_id: UUID) -> ApiToken:
        token = await self._revoke(actor, token_id)
        # Once committed, so no request here can cache the row as it was before.
        self._known.pop(token.token_hash, None)
        return token

    @transactional
    async def _revoke(self, actor: Actor, token_id: UUID) -> ApiToken:
        token = await identity_queries.token_of_user_for_update(actor.account_id, token_id)
        if token is None:
            raise NotFound(
                f"token '{token_id}' not found", code="TOKEN_NOT_FOUND", token_id=str(token_id)
            )
        if token.revoked_at is None:
            await identity_queries.revoke_token(token, datetime.now(UTC))
            await audit.record(
                actor, "token.revoke", "token", resource_id=token.id, resource_name=token.name
            )
        return token

    async def _issue(self, user: User, spec: TokenCreate, *, ttl: bool = True) -> IssuedToken:
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        days = spec.expires_in_days or (self._settings.default_token_ttl_days if ttl else 0)
        expires_at = datetime.now(UTC) + timedelta(days=days) if days else None
        token = await identity_queries.create_token(
            user,
            name=spec.name,
            token_hash=hash_secret(secret),
            prefix=secret[:12],
            expires_at=expires_at,
        )
        return IssuedToken(token=token, secret=secret)
