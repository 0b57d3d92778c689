"""End to end on a real local Ray, through HTTP: build, deploy, predict, redeploy, roll back,
undeploy; failures keep the previous version serving; one-click model deploys."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from galapagos_core.kernel.config import Settings
from galapagos_core.worker import Worker
from galapagos_model.deployments import ActiveDeployment, Deployment
from galapagos_model.enums import DeploymentStatus
from tests.conftest import MYSQL_URL, TEST_DB
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
    """The environment ``env`` on the local Ray, and iris registered for it."""
    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=bearer(admin),
            json={"name": env, "ray_address": "local"},
        )
    )
    await _register(api, admin, "iris", env)


async def _register(api: httpx.AsyncClient, admin: str, serve: str, env: str = "local") -> None:
    """``serve`` registered, one small replica of it wanted in ``env``."""
    h = bearer(admin)
    await _ok(
        await api.post(
            "/api/v1/serve", headers=h, json={"name": serve, "type": "api", "space": "ml"}
        )
    )
    await _ok(
        await api.post(
            f"/api/v1/serve/{serve}/infra-config/{env}",
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
    api: httpx.AsyncClient,
    admin: str,
    repo: Path,
    version: str,
    import_path: str = "main:Model",
    serve: str = "iris",
) -> str:
    """Build ``version`` of ``serve`` from ``repo``; its package's (signed) URL."""
    job = await _ok(
        await api.post(
            "/api/v1/artifact",
            headers=bearer(admin),
            json={
                "serve_name": serve,
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
    listing = await _ok(await api.get(f"/api/v1/artifact/{serve}", headers=bearer(admin)))
    [artifact] = [a for a in listing["data"] if a["version"] == version]
    return str(artifact["package_url"])


async def _deploy(
    api: httpx.AsyncClient,
    admin: str,
    version: str,
    path: str = "deploy",
    serve: str = "iris",
    **body: Any,
) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/serve/{serve}/{path}?wait=true&timeout=180",
        timeout=200,  # the server waits up to 180 s
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
    # An app that raises on import passes the build (it is never run there) and fails to start.
    commit(repo, {"main.py": 'raise RuntimeError("boom at import")\n' + MODEL.format(version="x")})
    await _build(api, admin, repo, "broken")
    good = await _deploy(api, admin, "v1")
    assert good["status"] == "ACTIVE"

    bad = await _deploy(api, admin, "broken")
    assert bad["status"] == "FAILED", bad
    assert "boom at import" in bad["error"]
    assert "Traceback" in bad["error"]  # Ray's, as the app raised it
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


async def _put_apps(worker: Worker, change: Any) -> None:
    """Change Ray's applications behind the platform's back, with Ray's own API."""
    endpoint = worker.backends.local_ray.endpoint()
    headers = {"Authorization": f"Bearer {endpoint.token}"}
    async with httpx.AsyncClient() as client:
        details = (
            await client.get(f"{endpoint.dashboard}/api/serve/applications/", headers=headers)
        ).json()
        apps = [a["deployed_app_config"] for a in details["applications"].values()]
        response = await client.put(
            f"{endpoint.dashboard}/api/serve/applications/",
            headers=headers,
            json={
                "applications": change(apps),
                "http_options": endpoint.http_options,
                "proxy_location": details.get("proxy_location", "HeadOnly"),
            },
        )
        assert response.status_code == 200, response.text


async def _until(check: Any, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.25)):
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError("condition not reached")


async def test_drift_is_repaired_and_orphans_removed(
    api: httpx.AsyncClient, admin: str, worker_parts: Worker, tmp_path: Path
) -> None:
    worker = worker_parts  # driven pass by pass, to see each repair
    repo = make_repo(tmp_path / "repo", {"main.py": MODEL.format(version="v1")})
    await _setup(api, admin)
    job = await _ok(
        await api.post(
            "/api/v1/artifact",
            headers=bearer(admin),
            json={
                "serve_name": "iris",
                "version": "v1",
                "github_repo_url": f"file://{repo}",
                "import_path": "main:Model",
            },
        )
    )
    assert await worker.builds.run_once() == 1
    deployed = await _ok(
        await api.post(
            "/api/v1/serve/iris/deploy",
            headers=bearer(admin),
            json={"env": "local", "artifact_version": "v1"},
        )
    )
    await _until(lambda: _active(api, admin, deployed["deployment_id"], worker), 120)
    iris = (await _ray_apps(worker))["iris"]["deployed_app_config"]
    assert job["job_id"]

    # Deleted behind the platform's back: the next pass recreates it.
    await _put_apps(worker, lambda apps: [a for a in apps if a["name"] != "iris"])
    await _until(lambda: _has(worker, "iris", absent=True), 30)
    await worker.reconciler.run_once()
    await _until(lambda: _has(worker, "iris"))
    assert await _predict(deployed["service_url"]) == ["v1"]

    # A managed application nobody wants any more: the next pass removes it.
    orphan = {**iris, "name": "orphan", "route_prefix": "/orphan"}
    await _put_apps(worker, lambda apps: [*apps, orphan])
    await _until(lambda: _has(worker, "orphan"), 30)
    await worker.reconciler.run_once()
    await _until(lambda: _has(worker, "orphan", absent=True))
    assert await _has(worker, "iris")
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))
    await worker.reconciler.run_once()


async def _active(api: httpx.AsyncClient, admin: str, deployment_id: str, worker: Worker) -> bool:
    await worker.reconciler.run_once()
    detail = await _ok(
        await api.get(f"/api/v1/serve/iris/deployments/{deployment_id}", headers=bearer(admin))
    )
    return bool(detail["status"] == "ACTIVE")


async def _has(worker: Worker, name: str, *, absent: bool = False) -> bool:
    return (name in await _ray_apps(worker)) != absent


async def worker_process(settings: Settings) -> asyncio.subprocess.Process:
    """`galapagos worker` in its own process, on the session's database and Ray head, with a
    short lease (so that another worker takes over soon after it dies)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GALAPAGOS_", "MYSQL_"))},
        "ENV": "test",
        "GALAPAGOS_DATA_DIR": str(settings.data_dir),
        "GALAPAGOS_API__PUBLIC_URL": str(settings.api.public_url),
        "GALAPAGOS_RECONCILE__LEASE_SECONDS": "2",
        "GALAPAGOS_RECONCILE__INTERVAL_SECONDS": "0.2",
        "GALAPAGOS_BUILDS__LOCAL_SOURCE_ROOTS": json.dumps(
            [str(root) for root in settings.builds.local_source_roots]
        ),
        **{
            f"GALAPAGOS_RAY__{k.upper()}": json.dumps(v) if isinstance(v, dict) else str(v)
            for k, v in settings.ray.model_dump().items()
            if v is not None
        },
    }
    if TEST_DB == "mysql":
        env["GALAPAGOS_DATABASE__URL"] = MYSQL_URL
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "galapagos_app.cli",
        "worker",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_killed_worker_between_apply_and_ready_converges(
    api: httpx.AsyncClient, admin: str, worker_parts: Worker, settings: Settings, tmp_path: Path
) -> None:
    worker = worker_parts
    repo = make_repo(tmp_path / "repo", {"main.py": MODEL.format(version="v1")})
    await _setup(api, admin)
    await _ok(
        await api.post(
            "/api/v1/artifact",
            headers=bearer(admin),
            json={
                "serve_name": "iris",
                "version": "v1",
                "github_repo_url": f"file://{repo}",
                "import_path": "main:Model",
            },
        )
    )
    assert await worker.builds.run_once() == 1
    await worker.backends.local_ray.ensure_started()
    deployed = await _ok(
        await api.post(
            "/api/v1/serve/iris/deploy",
            headers=bearer(admin),
            json={"env": "local", "artifact_version": "v1"},
        )
    )

    process = await worker_process(settings)
    try:  # applied, not yet observed ready: kill it there
        for _ in range(600):
            if (
                await Deployment.get(id=deployed["deployment_id"])
            ).status != DeploymentStatus.PENDING:
                break
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert (await Deployment.get(id=deployed["deployment_id"])).status == DeploymentStatus.DEPLOYING

    await asyncio.sleep(2.5)  # the dead worker's environment lease runs out
    await _until(lambda: _active(api, admin, deployed["deployment_id"], worker), 120)
    assert [name for name in await _ray_apps(worker) if name == "iris"] == ["iris"]
    assert await ActiveDeployment.all().count() == 1
    assert await Deployment.filter(status=DeploymentStatus.ACTIVE).count() == 1
    assert await _predict(deployed["service_url"]) == ["v1"]
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))
    await worker.reconciler.run_once()
