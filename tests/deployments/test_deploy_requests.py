"""Deploy requests without a backend in the loop: one in flight per (serve, environment),
idempotent replays, validation, and what is recorded."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Deployment, Workload
from galapagos_model.enums import ArtifactKind, DeploymentStatus
from tests.factories import Factory, bearer


async def _ready_to_deploy(
    factory: Factory,
    environment: Environment | None = None,
    *,
    model_uri: str = "file:///m.joblib",
    model_format: str = "sklearn",
) -> None:
    """Serve iris with an infra config in ``environment`` (else a new local Ray one) and a
    model artifact v1."""
    if environment is None:
        environment = await factory.environment("local")
        environment.ray_address = "local"
        await environment.save()
    serve = await factory.serve("iris")
    config = await factory.api_config(serve, environment)
    config.cores = Decimal("0.1")
    await config.save()
    await Artifact.create(
        serve=serve,
        version="v1",
        kind=ArtifactKind.MODEL,
        model_uri=model_uri,
        model_format=model_format,
    )


async def test_twenty_concurrent_deploys_one_proceeds(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    body = {"env": "local", "artifact_version": "v1"}
    responses = await asyncio.gather(
        *(
            api.post("/api/v1/serve/iris/deploy", json=body, headers=bearer(admin))
            for _ in range(20)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    conflicts = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert conflicts == {"DEPLOYMENT_IN_PROGRESS"}
    assert await Deployment.all().count() == 1
    assert await Workload.all().count() == 1
    started = next(r.json()["data"] for r in responses if r.status_code == 200)
    assert started["status"] == "PENDING"
    assert started["service_url"].endswith("/iris")
    history = await api.get("/api/v1/serve/iris/deployments", headers=bearer(admin))
    assert history.json()["data"]["total"] == 1


async def test_concurrent_deploys_to_many_environments_are_all_counted(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    """The history total is a counter on the serve: concurrent deploys must not lose a bump."""
    serve = await factory.serve("iris")
    names = [f"env-{i}" for i in range(10)]
    for name in names:
        environment = await factory.environment(name)
        environment.ray_address = "local"
        await environment.save()
        await factory.api_config(serve, environment)
    await Artifact.create(
        serve=serve,
        version="v1",
        kind=ArtifactKind.MODEL,
        model_uri="file:///m.joblib",
        model_format="sklearn",
    )
    responses = await asyncio.gather(
        *(
            api.post(
                "/api/v1/serve/iris/deploy",
                json={"env": name, "artifact_version": "v1"},
                headers=bearer(admin),
            )
            for name in names
        )
    )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    history = await api.get("/api/v1/serve/iris/deployments?limit=5", headers=bearer(admin))
    page = history.json()["data"]
    assert page["total"] == await Deployment.filter(serve=serve).count() == 10
    assert len(page["data"]) == 5
    pending = await api.get("/api/v1/serve/iris/deployments?status=pending", headers=bearer(admin))
    assert pending.json()["data"]["total"] == 10
    ended = await api.get("/api/v1/serve/iris/deployments?status=ended", headers=bearer(admin))
    assert ended.json()["data"] == {"data": [], "page": 1, "limit": 50, "total": 0}


async def test_idempotency_key_replays_the_first_result(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    headers = {**bearer(admin), "Idempotency-Key": "deploy-iris-1"}
    body = {"env": "local", "artifact_version": "v1"}
    first = await api.post("/api/v1/serve/iris/deploy", json=body, headers=headers)
    again = await api.post("/api/v1/serve/iris/deploy", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["deployment_id"] == again.json()["data"]["deployment_id"]
    assert await Deployment.all().count() == 1
    history = await api.get("/api/v1/serve/iris/deployments", headers=bearer(admin))
    assert history.json()["data"]["total"] == 1


async def test_deploy_errors_name_what_is_missing(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    h = bearer(admin)
    missing = await api.post(
        "/api/v1/serve/iris/deploy", headers=h, json={"env": "local", "artifact_version": "v9"}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ARTIFACT_NOT_FOUND"
    no_env = await api.post(
        "/api/v1/serve/iris/deploy", headers=h, json={"env": "nowhere", "artifact_version": "v1"}
    )
    assert no_env.json()["error"]["code"] == "ENVIRONMENT_NOT_FOUND"
    strategy = await api.post(
        "/api/v1/serve/iris/deploy",
        headers=h,
        json={
            "env": "local",
            "artifact_version": "v1",
            "api_serve_deployment_config": {"deployment_strategy": "teleport"},
        },
    )
    assert strategy.status_code == 422
    nothing = await api.post("/api/v1/serve/iris/undeploy/local", headers=h)
    assert nothing.json()["error"]["code"] == "NO_ACTIVE_DEPLOYMENT"
    rollback = await api.post("/api/v1/serve/iris/rollback/local", headers=h, json={})
    assert rollback.json()["error"]["code"] == "NOTHING_TO_ROLL_BACK_TO"
    assert await Deployment.all().count() == 0


async def test_secret_environment_values_are_never_echoed(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    response = await api.post(
        "/api/v1/serve/iris/deploy",
        headers=bearer(admin),
        json={
            "env": "local",
            "artifact_version": "v1",
            "api_serve_deployment_config": {
                "deployment_strategy": "ROLLING",
                "environment_variables": {"LOG_LEVEL": "debug", "DB_PASSWORD": "hunter2"},
            },
        },
    )
    deployment_id = response.json()["data"]["deployment_id"]
    detail = await api.get(f"/api/v1/serve/iris/deployments/{deployment_id}", headers=bearer(admin))
    assert detail.json()["data"]["environment_variables"] == {
        "LOG_LEVEL": "debug",
        "DB_PASSWORD": "***",
    }
    stored = await Deployment.get(id=deployment_id)
    assert "hunter2" not in str(stored.environment_variables)
    assert "hunter2" not in str(stored.spec)
    assert stored.status == DeploymentStatus.PENDING


async def _activate_first_deploy(api: httpx.AsyncClient, admin: str) -> str:
    """Deploy v1 and mark it ACTIVE as the reconciler would."""
    from galapagos_model.deployments import ActiveDeployment

    response = await api.post(
        "/api/v1/serve/iris/deploy",
        headers=bearer(admin),
        json={"env": "local", "artifact_version": "v1"},
    )
    deployment = await Deployment.get(id=response.json()["data"]["deployment_id"])
    deployment.status = DeploymentStatus.ACTIVE
    deployment.inflight_key = None
    await deployment.save()
    await ActiveDeployment.create(
        serve_id=deployment.serve_id,
        environment_id=deployment.environment_id,
        deployment=deployment,
    )
    return str(deployment.id)


async def test_infra_config_patch_rolls_the_active_deployment_out_again(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    first = await _activate_first_deploy(api, admin)
    patched = await api.patch(
        "/api/v1/serve/iris/infra-config/local",
        headers=bearer(admin),
        json={"api_serve_config": {"fast_api_config": {"max_replicas": 4}}},
    )
    assert patched.status_code == 200
    redeploy = await Deployment.exclude(id=first).get()
    assert redeploy.status == DeploymentStatus.PENDING
    assert redeploy.spec["max_replicas"] == 4
    workload = await Workload.get()
    assert workload.spec["max_replicas"] == 4


async def test_scaling_config_scales_every_environment(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await _ready_to_deploy(factory)
    await _activate_first_deploy(api, admin)
    response = await api.post(
        "/api/v1/serve/iris/scaling-config",
        headers=bearer(admin),
        json={"scaling_strategy": "SCALAR", "scaling_factor": 2.5},
    )
    assert response.status_code == 200, response.text
    redeploy = await Deployment.filter(status=DeploymentStatus.PENDING).get()
    assert (redeploy.spec["min_replicas"], redeploy.spec["max_replicas"]) == (3, 8)  # 1, 3 x 2.5

    ladder = {
        "scaling_strategy": "LADDER",
        "scaling_ladder": [
            {"load": 0, "replicas": 1},
            {"load": 20, "replicas": 4},
            {"load": 50, "replicas": 10},
        ],
    }
    busy = await api.post("/api/v1/serve/iris/scaling-config", headers=bearer(admin), json=ladder)
    assert busy.status_code == 409  # the scaled rollout is still in flight
    invalid = await api.post(
        "/api/v1/serve/iris/scaling-config",
        headers=bearer(admin),
        json={"scaling_strategy": "LADDER"},
    )
    assert invalid.status_code == 422
