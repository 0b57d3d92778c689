"""Putting virtual models on environments through the API (every rule with its code), and the
configuration each Ray environment's LLM router gets on a reconcile pass: the placed models,
their backends (API keys opened, a serve only where it runs) and the callers' keys (admins and
members of those projects, live tokens only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from galapagos_runtime.llm_proxy import key_digest

from galapagos_core.kernel.config import Settings
from galapagos_core.virtual_models.routers import LLM_ROUTER, ROUTE, LlmRouters
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend, ProjectRole, WorkloadState
from galapagos_model.identity import ApiToken
from tests.factories import Factory, bearer

BASE = "/api/v1/virtual-models"


async def _call(
    api: httpx.AsyncClient, token: str, method: str, path: str, body: Any = None, **params: str
) -> httpx.Response:
    return await api.request(method, path, headers=bearer(token), json=body, params=params)


async def _published(api: httpx.AsyncClient, token: str, project: str, name: str = "chat") -> None:
    created = await _call(api, token, "POST", BASE, {"name": name, "project": project})
    assert created.status_code == 201, created.text


@pytest.fixture
async def ray_env(factory: Factory) -> Environment:
    return await Environment.create(
        name="ray-prod", backend=EnvironmentBackend.RAY, ray_address="http://ray:8265"
    )


async def test_deploy_rules_and_codes(
    api: httpx.AsyncClient, admin: str, factory: Factory, ray_env: Environment
) -> None:
    await factory.project("team")
    await factory.project("other")
    await _published(api, admin, "team")
    await _published(api, admin, "other")
    await Environment.create(name="kserve-prod", backend=EnvironmentBackend.KSERVE)

    placed = await _call(
        api, admin, "POST", f"{BASE}/chat/deploy", {"env": "ray-prod"}, project="team"
    )
    assert placed.status_code == 202, placed.text
    assert placed.json()["data"]["state"] == "PENDING"
    again = await _call(
        api, admin, "POST", f"{BASE}/chat/deploy", {"env": "ray-prod"}, project="team"
    )
    assert again.status_code == 202  # idempotent
    detail = (await _call(api, admin, "GET", f"{BASE}/chat", project="team")).json()["data"]
    assert [(d["env"], d["state"], d["endpoint"]) for d in detail["deployments"]] == [
        ("ray-prod", "PENDING", None)
    ]

    cases = [
        ({"env": "ray-prod"}, {"project": "other"}, 409, "VIRTUAL_MODEL_EXISTS"),
        ({"env": "kserve-prod"}, {"project": "team"}, 422, "LLM_ROUTER_UNSUPPORTED"),
        ({"env": "nowhere"}, {"project": "team"}, 404, "ENVIRONMENT_NOT_FOUND"),
        ({"env": "ray-prod"}, {}, 409, "VIRTUAL_MODEL_AMBIGUOUS"),
    ]
    for body, params, status, code in cases:
        refused = await _call(api, admin, "POST", f"{BASE}/chat/deploy", body, **params)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), body

    gone = await _call(
        api, admin, "POST", f"{BASE}/chat/undeploy", {"env": "ray-prod"}, project="team"
    )
    assert gone.status_code == 200, gone.text
    missing = await _call(
        api, admin, "POST", f"{BASE}/chat/undeploy", {"env": "ray-prod"}, project="team"
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "VIRTUAL_MODEL_NOT_DEPLOYED",
    )


async def test_viewers_may_not_deploy(
    api: httpx.AsyncClient, admin: str, factory: Factory, ray_env: Environment
) -> None:
    viewer = await factory.member("team", "viewer", ProjectRole.VIEWER)
    await _published(api, admin, "team")
    refused = await _call(api, viewer, "POST", f"{BASE}/chat/deploy", {"env": "ray-prod"})
    assert refused.status_code == 403


async def test_the_routers_configuration_follows_the_database(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    settings: Settings,
    server: Any,
    ray_env: Environment,
) -> None:
    member = await factory.member("team", "member", ProjectRole.VIEWER)
    outsider = await factory.member("elsewhere", "outsider", ProjectRole.EDITOR)
    revoked = await factory.member("team", "leaver", ProjectRole.EDITOR)
    await ApiToken.filter(token_hash=key_digest(revoked)).update(
        revoked_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    await factory.serve("llm-serve", project="team")
    await _published(api, admin, "team")
    for body in (
        {
            "kind": "external",
            "name": "openai",
            "base_url": "https://api.example.com/v1",
            "api_key": "sk-abc",
            "weight": 70,
        },
        {
            "kind": "external",
            "name": "backup",
            "base_url": "https://backup.example.com/v1",
            "priority": 1,
            "model_name_override": "gpt-x",
        },
        {"kind": "serve", "serve": "llm-serve"},
    ):
        added = await _call(api, admin, "POST", f"{BASE}/chat/backends", body)
        assert added.status_code == 201, added.text
    # The effective order: tiers as tried, the heaviest first, each one's share of its tier.
    routing = (await _call(api, admin, "GET", f"{BASE}/chat/routing")).json()["data"]
    assert [[(b["name"], b["share"]) for b in t["backends"]] for t in routing["tiers"]] == [
        [("openai", round(70 / 71, 4)), ("llm-serve", round(1 / 71, 4))],
        [("backup", 1.0)],
    ]
    assert [t["priority"] for t in routing["tiers"]] == [0, 1]
    routers = LlmRouters(settings.llm, server[1].state["services"].secrets)
    assert await routers.prepare(ray_env) == []  # nothing placed there yet

    await _call(api, admin, "POST", f"{BASE}/chat/deploy", {"env": "ray-prod"})
    [spec] = await routers.prepare(ray_env)
    assert (spec.name, spec.route_prefix) == (LLM_ROUTER, ROUTE)
    config = spec.llm_routing
    assert config is not None
    [model] = config["models"]
    assert (model["name"], model["project"]) == ("chat", "team")
    # The serve does not run on ray-prod: it is left out until it does.
    assert [
        (b["name"], b["url"], b["model"], b["weight"], b["priority"], b["api_key"])
        for b in model["backends"]
    ] == [
        ("openai", "https://api.example.com/v1", "chat", 70, 0, "sk-abc"),
        ("backup", "https://backup.example.com/v1", "gpt-x", 1, 1, None),
    ]
    keys = config["keys"]
    assert keys[key_digest(admin)]["projects"] is None
    assert keys[key_digest(member)]["projects"] == ["team"]
    assert key_digest(outsider) not in keys
    assert key_digest(revoked) not in keys

    # The router's state is recorded on the placement.
    await routers.observed(ray_env, {LLM_ROUTER: None})
    detail = (await _call(api, admin, "GET", f"{BASE}/chat")).json()["data"]
    assert detail["deployments"][0]["state"] == WorkloadState.DEPLOYING
    # A Ray whose metrics cannot be read: the view says so instead of failing.
    routing = (await _call(api, admin, "GET", f"{BASE}/chat/routing")).json()["data"]
    [deployed] = routing["deployments"]
    assert (deployed["env"], deployed["cooling"]) == ("ray-prod", [])
    assert "prometheus_url" in deployed["cooling_error"]
    await _call(api, admin, "POST", f"{BASE}/chat/undeploy", {"env": "ray-prod"})
    assert await routers.prepare(ray_env) == []
