"""The traffic config's rules through the API, each with its code; refused changes write
nothing; concurrent weight changes cannot together break the 100 (the config's row lock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from galapagos_model.deployments import Workload
from galapagos_model.traffic import TrafficConfig, TrafficVariant
from tests.factories import Factory, bearer

TRAFFIC = "/api/v1/serve/iris/traffic/prod"


async def _call(
    api: httpx.AsyncClient, admin: str, method: str, path: str, body: Any = None
) -> httpx.Response:
    return await api.request(method, f"{TRAFFIC}{path}", headers=bearer(admin), json=body)


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def _variants(*entries: tuple[str, str | None, int]) -> list[dict[str, Any]]:
    return [
        {"variant_name": name, "artifact_version": version, "weight": weight}
        for name, version, weight in entries
    ]


@pytest.mark.parametrize(
    ("strategy", "variants", "status", "code"),
    [
        ("canary", _variants(("stable", None, 101)), 422, "INVALID_TRAFFIC_WEIGHT"),
        ("canary", _variants(("stable", None, -1)), 422, "INVALID_TRAFFIC_WEIGHT"),
        (
            "canary",
            _variants(("stable", None, 90), ("Canary", "v2", 10)),
            422,
            "INVALID_VARIANT_NAME",
        ),
        ("canary", _variants(("canary", "v2", 10)), 422, "NO_STABLE_VARIANT"),
        (
            "ab_test",
            _variants(("stable", None, 70), ("b", "v2", 40)),
            422,
            "WEIGHT_SUM_EXCEEDS_100",
        ),
        (
            "ab_test",
            _variants(("stable", None, 50), ("b", "v2", 1), ("b", "v3", 1)),
            409,
            "VARIANT_ALREADY_EXISTS",
        ),
        (
            "canary",
            _variants(("stable", None, 80), ("c1", "v2", 10), ("c2", "v3", 10)),
            409,
            "CANARY_ALREADY_EXISTS",
        ),
        (
            "canary",
            _variants(("stable", "v3", 90), ("canary", "v2", 10)),
            422,
            "STABLE_VERSION_MISMATCH",
        ),
        (
            "canary",
            _variants(("stable", None, 90), ("canary", "v9", 10)),
            404,
            "ARTIFACT_NOT_FOUND",
        ),
    ],
)
async def test_a_config_that_breaks_a_rule_is_refused_whole(
    api: httpx.AsyncClient,
    admin: str,
    deployed: None,
    strategy: str,
    variants: list[dict[str, Any]],
    status: int,
    code: str,
) -> None:
    response = await _call(api, admin, "POST", "", {"strategy": strategy, "variants": variants})
    assert response.status_code == status, response.text
    assert _code(response) == code
    assert await TrafficConfig.all().count() == 0
    assert await TrafficVariant.all().count() == 0
    assert await Workload.all().count() == 1  # the serve's own, untouched


async def test_variant_rules_each_with_its_code(
    api: httpx.AsyncClient, admin: str, deployed: None
) -> None:
    missing = await _call(api, admin, "GET", "")
    assert (missing.status_code, _code(missing)) == (404, "TRAFFIC_CONFIG_NOT_FOUND")
    variants = _variants(("stable", None, 90), ("canary", "v2", 10))
    created = await _call(api, admin, "POST", "", {"strategy": "canary", "variants": variants})
    assert created.status_code == 200, created.text
    config = created.json()["data"]
    assert [(v["variant_name"], v["status"]) for v in config["variants"]] == [
        ("stable", "active"),
        ("canary", "pending"),
    ]
    again = await _call(api, admin, "POST", "", {"strategy": "canary", "variants": variants})
    assert (again.status_code, _code(again)) == (409, "TRAFFIC_CONFIG_EXISTS")

    cases: list[tuple[str, str, Any, int, str]] = [
        (
            "POST",
            "/variants",
            {"variant_name": "canary", "artifact_version": "v3"},
            409,
            "VARIANT_ALREADY_EXISTS",
        ),
        (
            "POST",
            "/variants",
            {"variant_name": "canary2", "artifact_version": "v3"},
            409,
            "CANARY_ALREADY_EXISTS",
        ),
        (
            "POST",
            "/variants",
            {"variant_name": "x-y", "artifact_version": "v3"},
            422,
            "INVALID_VARIANT_NAME",
        ),
        ("PATCH", "/variants/canary", {"weight": 11}, 422, "WEIGHT_SUM_EXCEEDS_100"),
        ("PATCH", "/variants/canary", {"weight": 200}, 422, "INVALID_TRAFFIC_WEIGHT"),
        ("PATCH", "/variants/ghost", {"weight": 1}, 404, "TRAFFIC_VARIANT_NOT_FOUND"),
        (
            "PUT",
            "/weights",
            {"weights": {"stable": 10, "ghost": 1}},
            404,
            "TRAFFIC_VARIANT_NOT_FOUND",
        ),
        (
            "PUT",
            "/weights",
            {"weights": {"stable": 60, "canary": 41}},
            422,
            "WEIGHT_SUM_EXCEEDS_100",
        ),
        ("POST", "/promote", {"variant": "stable"}, 409, "CANNOT_PROMOTE_STABLE"),
        ("POST", "/promote", {"variant": "canary"}, 409, "CANNOT_PROMOTE_INACTIVE"),
        ("POST", "/promote", {"variant": "ghost"}, 404, "TRAFFIC_VARIANT_NOT_FOUND"),
        ("DELETE", "/variants/stable", None, 409, "CANNOT_DELETE_STABLE"),
    ]
    for method, path, body, status, code in cases:
        response = await _call(api, admin, method, path, body)
        assert (response.status_code, _code(response)) == (status, code), (path, body)
    weights = {v.name: v.weight for v in await TrafficVariant.all()}
    assert weights == {"stable": 90, "canary": 10}  # nothing refused was written

    shadow = await _call(
        api,
        admin,
        "POST",
        "/variants",
        {"variant_name": "shadow", "artifact_version": "v3", "weight": 100},
    )
    assert shadow.status_code == 200, shadow.text  # a shadow's copies are not part of the 100
    both = await _call(api, admin, "PUT", "/weights", {"weights": {"stable": 50, "canary": 50}})
    assert both.status_code == 200, both.text
    assert {v["variant_name"]: v["weight"] for v in both.json()["data"]["variants"]} == {
        "stable": 50,
        "canary": 50,
        "shadow": 100,
    }


async def test_a_rollout_needs_one_candidate_and_can_be_paused(
    api: httpx.AsyncClient, admin: str, deployed: None
) -> None:
    plan = {"steps": [10, 50], "interval_seconds": 30}
    ab = {"strategy": "ab_test", "variants": _variants(("stable", None, 0)), "rollout": plan}
    refused = await _call(api, admin, "POST", "", ab)
    assert (refused.status_code, _code(refused)) == (422, "ROLLOUT_STRATEGY_UNSUPPORTED")
    steps = {**plan, "steps": [10, 101]}
    canary = {"strategy": "canary", "variants": _variants(("stable", None, 0), ("canary", "v2", 0))}
    bad_step = await _call(api, admin, "POST", "", {**canary, "rollout": steps})
    assert (bad_step.status_code, _code(bad_step)) == (422, "INVALID_TRAFFIC_WEIGHT")
    created = await _call(api, admin, "POST", "", {**canary, "rollout": plan})
    assert created.status_code == 200, created.text
    config = created.json()["data"]
    assert config["rollout_step"] == 0
    assert {v["variant_name"]: v["weight"] for v in config["variants"]}["canary"] == 10
    paused = await _call(api, admin, "POST", "/pause")
    assert paused.json()["data"]["status"] == "paused"
    resumed = await _call(api, admin, "POST", "/resume")
    assert resumed.json()["data"]["status"] == "active"
    rolled_back = await _call(api, admin, "POST", "/rollback")
    data = rolled_back.json()["data"]
    assert data["rollout_step"] is None
    assert [v["status"] for v in data["variants"]] == ["active", "draining"]


async def test_concurrent_weight_changes_cannot_exceed_100_together(
    api: httpx.AsyncClient, admin: str, deployed: None
) -> None:
    variants = _variants(("stable", None, 50), ("b", "v2", 40))
    created = await _call(api, admin, "POST", "", {"strategy": "ab_test", "variants": variants})
    assert created.status_code == 200, created.text
    # Each alone keeps the sum at 100; both together would make it 110.
    first, second = await asyncio.gather(
        _call(api, admin, "PATCH", "/variants/b", {"weight": 50}),
        _call(api, admin, "PATCH", "/variants/stable", {"weight": 60}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 422]
    refused = first if first.status_code == 422 else second
    assert _code(refused) == "WEIGHT_SUM_EXCEEDS_100"
    assert sum(v.weight for v in await TrafficVariant.all()) == 100


async def test_a_serve_without_an_active_deployment_has_no_stable_variant_to_split(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await api.post("/api/v1/environment", headers=bearer(admin), json={"name": "prod"})
    await factory.serve("iris")
    variants = _variants(("stable", None, 100))
    response = await _call(api, admin, "POST", "", {"strategy": "canary", "variants": variants})
    assert (response.status_code, _code(response)) == (409, "NO_ACTIVE_DEPLOYMENT")


async def test_metrics_windows_each_with_its_code(
    api: httpx.AsyncClient, admin: str, deployed: None, unused_tcp_port: int
) -> None:
    variants = _variants(("stable", None, 90), ("canary", "v2", 10))
    created = await _call(api, admin, "POST", "", {"strategy": "canary", "variants": variants})
    assert created.status_code == 200, created.text
    now = datetime.now(UTC)

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat()

    refused = [
        ({"since": at(timedelta()), "until": at(-timedelta(hours=1))}, "before until"),
        ({"until": at(timedelta(hours=1))}, "in the future"),
        ({"since": at(-timedelta(days=40))}, "at most 31 days"),
        ({"since": at(-timedelta(hours=1))}, "no metrics history"),  # no Prometheus here
    ]
    for query, why in refused:
        response = await api.get(f"{TRAFFIC}/metrics", headers=bearer(admin), params=query)
        assert (response.status_code, _code(response)) == (422, "INVALID_TIME_RANGE"), query
        assert why in response.json()["message"]
    unknown = await api.get(f"{TRAFFIC}/metrics?variant=nobody", headers=bearer(admin))
    assert (unknown.status_code, _code(unknown)) == (404, "TRAFFIC_VARIANT_NOT_FOUND")

    # Prometheus named but not answering: the read fails with its code, the view still answers.
    down = f"http://127.0.0.1:{unused_tcp_port}"
    patched = await api.patch(
        "/api/v1/environment/prod",
        headers=bearer(admin),
        json={"environment_configs": {"prometheus_url": down}},
    )
    assert patched.status_code == 200, patched.text
    failed = await api.get(f"{TRAFFIC}/metrics?variant=canary", headers=bearer(admin))
    assert (failed.status_code, _code(failed)) == (502, "PROMETHEUS_QUERY_FAILED")
    view = (await _call(api, admin, "GET", "")).json()["data"]
    assert view["metrics_error"].startswith(f"Prometheus at {down}")
    assert [v["metrics"] for v in view["variants"]] == [None, None]
