"""Every mutation leaves an audit row; secrets never reach it."""

from __future__ import annotations

import httpx

from galapagos_core.kernel.audit import REDACTED, redact
from galapagos_model.audit import AuditLog
from tests.factories import Factory, bearer


async def test_mutations_are_audited_with_request_context(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    h = {**bearer(admin), "X-Request-ID": "req-42"}
    await api.post("/api/v1/environment", json={"name": "prod"}, headers=h)
    await api.post("/api/v1/serve", json={"name": "iris", "type": "api", "space": "ml"}, headers=h)
    await api.patch("/api/v1/environment/prod", json={"is_protected": True}, headers=h)
    await api.post("/api/v1/tokens", json={"name": "ci"}, headers=h)

    actions = await AuditLog.all().order_by("created_at").values_list("action", flat=True)
    assert actions == [
        "environment.create",
        "project.create",
        "serve.create",
        "environment.update",
        "token.create",
    ]
    entry = await AuditLog.get(action="environment.update")
    assert entry.actor == "root"
    assert entry.request_id == "req-42"
    assert entry.source_ip == "127.0.0.1"
    assert entry.before is not None
    assert entry.before["is_protected"] is False
    assert entry.after is not None
    assert entry.after["is_protected"] is True

    listing = await api.get("/api/v1/audit?resource_type=environment", headers=bearer(admin))
    assert [e["action"] for e in listing.json()["data"]["data"]] == [
        "environment.update",
        "environment.create",
    ]


async def test_audit_log_is_for_admins(api: httpx.AsyncClient, factory: Factory) -> None:
    token = await factory.token("someone")
    assert (await api.get("/api/v1/audit", headers=bearer(token))).status_code == 403


def test_redaction_is_recursive() -> None:
    assert redact({"a": 1, "password": "p", "nested": [{"api_key": "k", "x": {"token": "t"}}]}) == {
        "a": 1,
        "password": REDACTED,
        "nested": [{"api_key": REDACTED, "x": {"token": REDACTED}}],
    }
