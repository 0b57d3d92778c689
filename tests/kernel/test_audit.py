"""Every mutation leaves an audit row; secrets never reach it."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.catalog.clusters import ClusterService
from galapagos_core.identity.service import IdentityService
from galapagos_core.kernel.actor import CLI
from galapagos_core.kernel.audit import REDACTED, redact
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.secrets import SecretBox, new_key_spec, parse_keys
from galapagos_core.services import secret_box
from galapagos_model.audit import AuditLog
from tests.factories import Factory, bearer
from tests.gitrepos import make_repo


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


async def test_the_platform_audits_what_it_does_itself(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    settings: Settings,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    """The worker's builds, the command line's tokens, promotions and key rotation leave
    audit records under system actors."""
    identity = IdentityService(settings.auth)
    await identity.issue_for_username("ops", admin=False, actor=CLI)
    await identity.issue_for_username("ops", admin=True, actor=CLI)

    await factory.serve("iris")
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": f"file://{repo}"},
        headers=bearer(admin),
    )
    assert await build_worker.run_once() == 1

    await api.post(
        "/api/v1/clusters",
        headers=bearer(admin),
        json={"name": "prod-eu", "kubeconfig": yaml.safe_dump(_KUBECONFIG)},
    )
    old = secret_box(settings)
    both = SecretBox({"k2": parse_keys(new_key_spec("k2"))["k2"], **old.keys})
    assert await ClusterService(both).rotate() == 1

    rows = await AuditLog.filter(actor__startswith="system:").order_by("created_at")
    assert [(r.actor, r.action, r.resource_name) for r in rows] == [
        ("system:cli", "user.create", "ops"),
        ("system:cli", "token.create", "ops"),
        ("system:cli", "user.promote", "ops"),
        ("system:cli", "token.create", "ops"),
        ("system:worker", "artifact.build", "iris"),
        ("system:cli", "cluster.reseal", "prod-eu"),
    ]
    built = rows[4]
    assert built.after is not None
    assert built.after["version"] == "v1"
    assert built.actor_id is None


_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "c",
    "clusters": [{"name": "c", "cluster": {"server": "https://k:6443"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
}
