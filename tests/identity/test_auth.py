"""Authentication and authorization through real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from galapagos_core.identity.service import IdentityService
from galapagos_core.kernel.config import AuthSettings
from galapagos_model.enums import ProjectRole
from galapagos_model.identity import ApiToken
from tests.factories import Factory, bearer


async def test_missing_token_is_401_with_code(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/serve")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "ERROR"
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_bad_tokens_are_401(api: httpx.AsyncClient) -> None:
    for header in ("Bearer glp_not-a-real-token", "Bearer", "Basic Zm9vOmJhcg==", "Bearer x"):
        response = await api.get("/api/v1/serve", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_healthcheck_needs_no_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthcheck")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_revoked_and_expired_tokens_are_refused(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    token = await factory.token("alice")
    assert (await api.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
    listed = (await api.get("/api/v1/tokens", headers=bearer(token))).json()["data"]["data"]
    revoked = await api.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(token))
    assert revoked.status_code == 200
    assert revoked.json()["data"]["revoked_at"].endswith("Z")
    assert (await api.get("/api/v1/users/me", headers=bearer(token))).status_code == 401

    other = await factory.token("bob")
    await ApiToken.filter(user__username="bob").update(expires_at=datetime(2001, 1, 1, tzinfo=UTC))
    assert (await api.get("/api/v1/users/me", headers=bearer(other))).status_code == 401


async def test_a_remembered_token_is_rechecked_once_its_time_is_up(factory: Factory) -> None:
    identity = IdentityService(AuthSettings(token_cache_seconds=0.3))
    secret = await factory.token("alice")
    for _ in range(2):  # the first use records last_used_at, the second is remembered
        assert await identity.authenticate(secret) is not None
    # Revoked by another API process: this one trusts what it read for a little longer.
    await ApiToken.filter(user__username="alice").update(revoked_at=datetime.now(UTC))
    assert await identity.authenticate(secret) is not None
    await asyncio.sleep(0.4)
    assert await identity.authenticate(secret) is None


async def test_without_the_cache_every_request_reads_the_token(factory: Factory) -> None:
    identity = IdentityService(AuthSettings(token_cache_seconds=0))
    secret = await factory.token("alice")
    assert await identity.authenticate(secret) is not None
    await ApiToken.filter(user__username="alice").update(revoked_at=datetime.now(UTC))
    assert await identity.authenticate(secret) is None


async def test_a_remembered_token_still_expires_and_is_revoked_at_once_here(
    factory: Factory,
) -> None:
    identity = IdentityService(AuthSettings(token_cache_seconds=300))
    soon = await factory.token("alice")
    await ApiToken.filter(user__username="alice").update(
        expires_at=datetime.now(UTC) + timedelta(seconds=0.5)
    )
    for _ in range(2):  # remembered from the second use on
        assert await identity.authenticate(soon) is not None
    await ApiToken.filter(user__username="alice").delete()  # gone from the database...
    assert await identity.authenticate(soon) is not None  # ...but remembered here
    await asyncio.sleep(0.6)
    assert await identity.authenticate(soon) is None

    secret = await factory.token("bob")
    actor = await identity.authenticate(secret)
    assert actor is not None
    assert actor.token_id is not None
    await identity.revoke_token(actor, actor.token_id)
    assert await identity.authenticate(secret) is None


async def test_token_secret_is_shown_once_and_never_stored(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    token = await factory.token("alice")
    created = await api.post(
        "/api/v1/tokens", json={"name": "laptop", "expires_in_days": 7}, headers=bearer(token)
    )
    assert created.status_code == 201
    secret = created.json()["data"]["token"]
    assert secret.startswith("glp_")
    assert (await api.get("/api/v1/users/me", headers=bearer(secret))).json()["data"][
        "username"
    ] == "alice"
    listing = await api.get("/api/v1/tokens", headers=bearer(token))
    text = listing.text
    stored = await ApiToken.all().values_list("token_hash", flat=True)
    assert secret not in text
    assert all(h not in text for h in stored)
    assert all(secret not in h for h in stored)
    assert "token_hash" not in text


async def test_viewer_cannot_write_and_outsider_sees_nothing(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.serve("fraud", project="risk")
    viewer = await factory.member("risk", "vic", ProjectRole.VIEWER)
    outsider = await factory.member("growth", "olga", ProjectRole.OWNER)

    assert (await api.get("/api/v1/serve/fraud", headers=bearer(viewer))).status_code == 200
    denied = await api.post(
        "/api/v1/serve",
        json={"name": "fraud-v2", "type": "api", "space": "risk"},
        headers=bearer(viewer),
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "PERMISSION_DENIED"
    assert denied.json()["error"]["params"]["required_role"] == "editor"

    hidden = await api.get("/api/v1/serve/fraud", headers=bearer(outsider))
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "SERVE_NOT_FOUND"
    listing = await api.get("/api/v1/serve", headers=bearer(outsider))
    assert listing.json()["data"]["total"] == 0
    history = await api.get("/api/v1/serve/fraud/deployments", headers=bearer(outsider))
    assert history.status_code == 404


async def test_only_admins_manage_environments(api: httpx.AsyncClient, factory: Factory) -> None:
    editor = await factory.member("ml", "ed", ProjectRole.EDITOR)
    response = await api.post("/api/v1/environment", json={"name": "prod"}, headers=bearer(editor))
    assert response.status_code == 403
    assert (await api.get("/api/v1/environment", headers=bearer(editor))).status_code == 200
