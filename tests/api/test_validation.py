"""Malformed requests get 422 with field paths, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Environment, Serve
from galapagos_model.infra import ApiServeInfraConfig, WorkflowServeInfraConfig
from tests.factories import Factory, bearer


def _locs(response: httpx.Response) -> list[str]:
    body = response.json()
    assert response.status_code == 422, body
    assert body["status"] == "ERROR"
    return [".".join(str(p) for p in e["loc"]) for e in body["error"]["params"]["errors"]]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"type": "api", "space": "ml"}, "body.name"),
        ({"name": "my_serve", "type": "api", "space": "ml"}, "body.name"),
        ({"name": "a" * 51, "type": "api", "space": "ml"}, "body.name"),
        ({"name": "Upper", "type": "api", "space": "ml"}, "body.name"),
        ({"name": "ok", "type": "batch", "space": "ml"}, "body.type"),
        ({"name": "ok", "type": "api", "space": 5}, "body.space"),
        ({"name": ["x"], "type": "api", "space": "ml"}, "body.name"),
    ],
)
async def test_serve_body_errors_name_the_field(
    api: httpx.AsyncClient, admin: str, body: dict[str, Any], loc: str
) -> None:
    response = await api.post("/api/v1/serve", json=body, headers=bearer(admin))
    assert loc in _locs(response)
    assert await Serve.all().count() == 0
    assert await AuditLog.all().count() == 0


async def test_invalid_json_is_422(api: httpx.AsyncClient, admin: str) -> None:
    response = await api.post(
        "/api/v1/serve",
        content=b"{not json",
        headers={**bearer(admin), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_JSON"


API_CONFIG = {
    "backend_type": "fastapi",
    "fast_api_config": {
        "cores": 2,
        "memory": 4,
        "node_capacity_type": "spot",
        "min_replicas": 1,
        "max_replicas": 2,
    },
}


def _api_config(**fast: Any) -> dict[str, Any]:
    return {
        "api_serve_config": {
            **API_CONFIG,
            "fast_api_config": {**API_CONFIG["fast_api_config"], **fast},
        }
    }


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (_api_config(cores="two"), "body.api_serve_config.fast_api_config.cores"),
        (_api_config(memory=-1), "body.api_serve_config.fast_api_config.memory"),
        (
            _api_config(node_capacity_type="preemptible"),
            "body.api_serve_config.fast_api_config.node_capacity_type",
        ),
        (_api_config(min_replicas=5, max_replicas=2), "body.api_serve_config.fast_api_config"),
        (_api_config(max_replicas=101), "body.api_serve_config.fast_api_config.max_replicas"),
        (
            {"api_serve_config": {"backend_type": "fastapi"}},
            "body.api_serve_config.fast_api_config",
        ),
        ({}, "body"),
    ],
)
async def test_api_infra_config_errors(
    api: httpx.AsyncClient, admin: str, factory: Factory, body: dict[str, Any], loc: str
) -> None:
    await factory.environment("prod")
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/serve/iris/infra-config/prod", json=body, headers=bearer(admin)
    )
    assert loc in _locs(response)
    assert await ApiServeInfraConfig.all().count() == 0


WORKFLOW = {
    "schedule": "0 * * * *",
    "head_node_config": {"cores": 2, "memory": 4, "node_capacity_type": "on-demand"},
    "worker_node_config": [
        {
            "cores_per_pods": 2,
            "memory_per_pods": 8,
            "min_pods": 1,
            "max_pods": 4,
            "node_capacity_type": "spot",
        }
    ],
}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"schedule": "every hour"}, "body.workflow_serve_config.schedule"),
        ({"schedule": "61 * * * *"}, "body.workflow_serve_config.schedule"),
        ({"timezone": "Mars/Olympus"}, "body.workflow_serve_config.timezone"),
        (
            {
                "worker_node_config": [
                    {"cores_per_pods": 1, "memory_per_pods": 1, "min_pods": 3, "max_pods": 2}
                ]
            },
            "body.workflow_serve_config.worker_node_config.0",
        ),
        (
            {"head_node_config": {"cores": 1, "memory": 1, "node_capacity_type": "reserved"}},
            "body.workflow_serve_config.head_node_config.node_capacity_type",
        ),
    ],
)
async def test_workflow_infra_config_errors(
    api: httpx.AsyncClient, admin: str, factory: Factory, change: dict[str, Any], loc: str
) -> None:
    await factory.environment("prod")
    from galapagos_model.enums import ServeType

    await factory.serve("etl", type=ServeType.WORKFLOW)
    body = {"workflow_serve_config": {**WORKFLOW, **change}}
    response = await api.post(
        "/api/v1/serve/etl/infra-config/prod", json=body, headers=bearer(admin)
    )
    assert loc in _locs(response)
    assert await WorkflowServeInfraConfig.all().count() == 0


async def test_patch_that_breaks_bounds_is_rejected_and_keeps_the_config(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    serve = await factory.serve("iris")
    await factory.api_config(serve, await factory.environment("prod"))
    response = await api.patch(
        "/api/v1/serve/iris/infra-config/prod",
        json={"api_serve_config": {"fast_api_config": {"min_replicas": 10}}},
        headers=bearer(admin),
    )
    assert "body.api_serve_config.fast_api_config" in _locs(response)
    stored = await ApiServeInfraConfig.get(serve=serve)
    assert (stored.min_replicas, stored.max_replicas) == (1, 3)


async def test_wrong_config_shape_for_serve_type(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await factory.environment("prod")
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/serve/iris/infra-config/prod",
        json={"workflow_serve_config": WORKFLOW},
        headers=bearer(admin),
    )
    assert "body.api_serve_config" in _locs(response)


async def test_query_parameters_are_validated(api: httpx.AsyncClient, admin: str) -> None:
    assert "query.limit" in _locs(await api.get("/api/v1/serve?limit=1000", headers=bearer(admin)))
    assert "query.page" in _locs(await api.get("/api/v1/serve?page=0", headers=bearer(admin)))


async def test_environment_name_rules(api: httpx.AsyncClient, admin: str) -> None:
    response = await api.post(
        "/api/v1/environment", json={"name": "prod_eu"}, headers=bearer(admin)
    )
    assert "body.name" in _locs(response)
    assert await Environment.all().count() == 0
