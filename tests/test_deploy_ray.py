"""End to end on a real local Ray, through HTTP: build, deploy, predict, redeploy, roll back,
undeploy; failures keep the previous version serving; one-click model deploys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from galapagos_core.worker import Worker
from tests.factories import bearer
from tests.gitrepos import commit, make_repo

pytestmark = pytest.mark.ray

MODEL = """
class Model:
    def predict(self, instances):
        return ["{version}" for _ in instances]
"""


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _setup(api: httpx.AsyncClient, admin: str, env: str = "local") -> None:
    h = bearer(admin)
    await _ok(
        await api.post("/api/v1/environment", headers=h, json={"name": env, "ray_address": "local"})
    )
    await _ok(
        await api.post(
            "/api/v1/serve", headers=h, json={"name": "iris", "type": "api", "space": "ml"}
        )
    )
    await _ok(
        await api.post(
            f"/api/v1/serve/iris/infra-config/{env}",
            headers=h,
            json={
                "api_serve_config": {
                    "fast_api_config": {
                        "cores": 0.1,
                        "memory": 0.25,
                        "min_replicas": 1,
                        "max_replicas": 1,
                    }
                }
            },
        )
    )


async def _build(
    api: httpx.AsyncClient, admin: str, repo: Path, version: str, import_path: str = "main:Model"
) -> None:
    job = await _ok(
        await api.post(
            "/api/v1/artifact",
            headers=bearer(admin),
            json={
                "serve_name": "iris",
                "version": version,
                "github_repo_url": f"file://{repo}",
                "import_path": import_path,
            },
        )
    )
    for _ in range(200):
        status = await _ok(
            await api.get(
                f"/api/v1/artifact_builder_job/{job['job_id']}/status", headers=bearer(admin)
            )
        )
        if status["status"] not in ("PENDING", "RUNNING"):
            break
        await asyncio.sleep(0.1)
    assert status["status"] == "SUCCESSFUL", status


async def _deploy(
    api: httpx.AsyncClient, admin: str, version: str, path: str = "deploy", **body: Any
) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/serve/iris/{path}?wait=true&timeout=180",
        headers=bearer(admin),
        json={"env": "local", "artifact_version": version, **body} if path == "deploy" else body,
    )
    return await _ok(response)


async def _predict(url: str) -> Any:
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(50):
            response = await client.post(url, json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
            if response.status_code == 200:
                return response.json()["predictions"]
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url}: {response.status_code} {response.text}")


async def _ray_apps(worker: Worker) -> dict[str, Any]:
    """What Ray itself says is deployed (its dashboard API, with the head's token)."""
    endpoint = worker.backends.local_ray.endpoint()
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{endpoint.dashboard}/api/serve/applications/",
            headers={"Authorization": f"Bearer {endpoint.token}"},
        )
    apps: dict[str, Any] = response.json().get("applications") or {}
    return apps


async def test_build_deploy_roll_forward_back_and_undeploy(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": MODEL.format(version="v1")})
    await _setup(api, admin)
    await _build(api, admin, repo, "v1")
    commit(repo, {"main.py": MODEL.format(version="v2")})
    await _build(api, admin, repo, "v2")

    first = await _deploy(api, admin, "v1")
    assert first["status"] == "ACTIVE", first
    assert await _predict(first["service_url"]) == ["v1"]
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["status"] == "READY"

    second = await _deploy(api, admin, "v2")
    assert second["status"] == "ACTIVE", second
    assert await _predict(second["service_url"]) == ["v2"]

    back = await _deploy(api, admin, "", path="rollback/local")
    assert back["status"] == "ACTIVE", back
    assert back["artifact_version"] == "v1"
    assert await _predict(back["service_url"]) == ["v1"]

    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))
    for _ in range(100):
        if "iris" not in await _ray_apps(running):
            break
        await asyncio.sleep(0.2)
    assert "iris" not in await _ray_apps(running)
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["status"] == "NOT_READY"

    history = await _ok(await api.get("/api/v1/serve/iris/deployments", headers=bearer(admin)))
    steps = [(row["artifact_version"], row["status"]) for row in history["data"]]
    assert steps == [("v1", "ENDED"), ("v2", "SUPERSEDED"), ("v1", "SUPERSEDED")]
    detail = await _ok(
        await api.get(
            f"/api/v1/serve/iris/deployments/{back['deployment_id']}", headers=bearer(admin)
        )
    )
    assert [e["status"] for e in detail["events"]] == ["PENDING", "DEPLOYING", "ACTIVE", "ENDED"]


async def test_failed_start_keeps_the_previous_version_serving(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": MODEL.format(version="v1")})
    await _setup(api, admin)
    await _build(api, admin, repo, "v1")
    await _build(api, admin, repo, "broken", import_path="main:Missing")
    good = await _deploy(api, admin, "v1")
    assert good["status"] == "ACTIVE"

    bad = await _deploy(api, admin, "broken")
    assert bad["status"] == "FAILED", bad
    assert "Missing" in bad["error"]
    assert await _predict(good["service_url"]) == ["v1"]
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["artifact_version"] == "v1"
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


async def test_one_click_sklearn_model(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    features = [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
        [4.9, 3.0, 1.4, 0.2],
        [6.3, 2.9, 5.6, 1.8],
    ]
    model = LogisticRegression().fit(features, [0, 1, 0, 1])
    path = tmp_path / "iris.joblib"
    joblib.dump(model, path)
    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=bearer(admin),
            json={"name": "local", "ray_address": "local"},
        )
    )
    result = await _ok(
        await api.post(
            "/api/v1/serve/deploy-model?wait=true&timeout=180",
            headers=bearer(admin),
            json={
                "serve_name": "iris",
                "artifact_version": "m1",
                "model_uri": f"file://{path}",
                "env": "local",
                "cores": 0.1,
                "memory": 0.25,
                "node_capacity": "ondemand",
            },
        )
    )
    assert result["status"] == "ACTIVE", result
    assert await _predict(result["service_url"]) == [0]
    again = await api.post(
        "/api/v1/serve/deploy-model",
        headers=bearer(admin),
        json={
            "serve_name": "iris",
            "artifact_version": "m1",
            "model_uri": "file:///other.joblib",
            "env": "local",
        },
    )
    assert again.status_code == 409  # an existing artifact is never changed
    await _ok(
        await api.post(
            "/api/v1/serve/undeploy-model",
            headers=bearer(admin),
            json={"serve_name": "iris", "artifact_version": "m1", "env": "local"},
        )
    )
