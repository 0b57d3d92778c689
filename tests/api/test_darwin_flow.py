"""A Darwin ML Serve client's whole flow, unchanged, over real HTTP and in-process."""

from __future__ import annotations

import httpx
import pytest

from galapagos_model.artifacts import ArtifactBuilderJob
from tests.factories import Factory, bearer


@pytest.fixture(params=["http", "asgi"])
def client(
    request: pytest.FixtureRequest, api: httpx.AsyncClient, asgi_api: httpx.AsyncClient
) -> httpx.AsyncClient:
    return api if request.param == "http" else asgi_api


async def test_darwin_client_flow(client: httpx.AsyncClient, admin: str, factory: Factory) -> None:
    h = bearer(admin)

    env = await client.post(
        "/api/v1/environment",
        json={
            "name": "prod",
            "environment_configs": {
                "domain_suffix": ".serve.example.com",
                "cluster_name": "k8s-prod",
                "namespace": "serving",
                "security_group": "sg-1",
                "subnets": ["a", "b"],
                "ft_redis_url": "redis://r:6379",
                "workflow_url": "http://wf",
            },
        },
        headers=h,
    )
    assert env.status_code == 200  # as Darwin answers
    assert set(env.json()["data"]) == {"id", "name"}
    assert env.json()["status"] == "SUCCESS"

    serve = await client.post(
        "/api/v1/serve",
        json={"name": "iris", "type": "api", "space": "ml", "description": "iris classifier"},
        headers=h,
    )
    assert serve.status_code == 201
    assert serve.json()["data"]["name"] == "iris"

    config = {
        "api_serve_config": {
            "backend_type": "fastapi",
            "additional_hosts": [],
            "fast_api_config": {
                "cores": 2,
                "memory": 4,
                "node_capacity_type": "ondemand",
                "min_replicas": 1,
                "max_replicas": 3,
            },
        }
    }
    created = await client.post("/api/v1/serve/iris/infra-config/prod", json=config, headers=h)
    assert created.status_code == 201
    row = created.json()["data"]
    assert row["env"] == "prod"
    assert row["backend_type"] == "fastapi"
    assert row["fast_api_config"]["node_capacity_type"] == "on-demand"  # Darwin's alias, honoured

    patched = await client.patch(
        "/api/v1/serve/iris/infra-config/prod",
        json={"api_serve_config": {"fast_api_config": {"max_replicas": 5, "cores": None}}},
        headers=h,
    )
    assert patched.status_code == 200
    fast = patched.json()["data"]["fast_api_config"]
    assert fast["max_replicas"] == 5
    assert float(fast["cores"]) == 2  # null keeps the stored value
    fetched = await client.get("/api/v1/serve/iris/infra-config/prod", headers=h)
    assert fetched.json()["data"] == patched.json()["data"]

    overview = (await client.get("/api/v1/serve/iris", headers=h)).json()["data"]
    assert overview["serve"]["name"] == "iris"
    assert overview["serve"]["space"] == "ml"
    [summary] = overview["infra_configs"]
    assert summary["env"] == "prod"
    assert summary["type"] == "API"
    assert summary["fast_api_config"]["max_replicas"] == 5

    environment = (await client.get("/api/v1/environment/prod", headers=h)).json()["data"]
    assert environment["env_configs"]["namespace"] == "serving"
    flat_patch = await client.patch(
        "/api/v1/environment/prod", json={"namespace": "serving-2"}, headers=h
    )
    assert flat_patch.json()["data"]["env_configs"]["namespace"] == "serving-2"
    assert flat_patch.json()["data"]["env_configs"]["cluster_name"] == "k8s-prod"

    registered = await client.post(
        "/api/v1/artifact",
        json={
            "serve_name": "iris",
            "version": "v1",
            "github_repo_url": "https://github.com/example/iris.git",
            "branch": "main",
            "file_path": "serve",
        },
        headers=h,
    )
    assert registered.status_code == 201
    job_id = registered.json()["data"]["job_id"]
    status = await client.get(f"/api/v1/artifact_builder_job/{job_id}/status", headers=h)
    assert status.status_code == 200
    assert status.json()["data"]["status"] == "PENDING"
    assert status.json()["data"]["version"] == "v1"
    logs = await client.get(status.json()["data"]["logs_url"], headers=h)
    assert logs.status_code == 200

    jobs = await client.get("/api/v1/artifact_builder_job?serve_name=iris", headers=h)
    assert [j["id"] for j in jobs.json()["data"]["data"]] == [job_id]
    assert await ArtifactBuilderJob.filter(serve__name="iris").count() == 1

    history = await client.get("/api/v1/serve/iris/deployments?page=1&limit=10", headers=h)
    assert history.status_code == 200
    assert history.json()["data"] == {"data": [], "page": 1, "limit": 10, "total": 0}
    active = await client.get("/api/v1/serve/iris/deployments?status=active", headers=h)
    assert active.json()["data"]["limit"] == 50  # Darwin's default page size


async def test_workflow_artifact_is_created_directly(api: httpx.AsyncClient, admin: str) -> None:
    h = bearer(admin)
    await api.post(
        "/api/v1/serve", json={"name": "etl", "type": "workflow", "space": "ml"}, headers=h
    )
    response = await api.post(
        "/api/v1/artifact",
        json={
            "serve_name": "etl",
            "version": "1.0.0",
            "github_repo_url": "https://g/x.git",
            "branch": "main",
            "file_path": "jobs/etl.py",
        },
        headers=h,
    )
    assert response.status_code == 201
    assert response.json()["data"]["version"] == "1.0.0"
    listing = await api.get("/api/v1/artifact/etl", headers=h)
    assert [a["version"] for a in listing.json()["data"]["data"]] == ["1.0.0"]
    missing = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "etl", "version": "1.0.1"},
        headers=h,
    )
    assert missing.status_code == 422
    locs = {e["loc"][-1] for e in missing.json()["error"]["params"]["errors"]}
    assert locs == {"branch", "file_path"}  # the git URL comes from the previous artifact
    again = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "etl", "version": "1.0.0", "github_repo_url": "https://g/y.git"},
        headers=h,
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ARTIFACT_ALREADY_EXISTS"
