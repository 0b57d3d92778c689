"""Bearer-token authentication as Starlette middleware; endpoints then require an actor."""

from __future__ import annotations

from typing import cast

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection

from galapagos_app.state import AppState
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.log import request_id_var


class ApiUser(BaseUser):
    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.actor.username


class BearerTokenBackend(AuthenticationBackend):
    """Resolves ``Authorization: Bearer <token>`` to an :class:`Actor` (one query)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError("use 'Authorization: Bearer <token>'")
        services = cast(AppState, conn.state).services
        actor = await services.identity.authenticate(secret.strip())
        if actor is None:
            raise AuthenticationError("the bearer token is invalid, expired or revoked")
        client = conn.client.host if conn.client else None
        actor = Actor(
            user_id=actor.user_id,
            username=actor.username,
            is_admin=actor.is_admin,
            token_id=actor.token_id,
            request_id=request_id_var.get(),
            source_ip=client,
        )
        scopes = ["authenticated", "admin"] if actor.is_admin else ["authenticated"]
        return AuthCredentials(scopes), ApiUser(actor)
