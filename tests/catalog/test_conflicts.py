"""Duplicates get 409, races are settled by the database, rejected requests write nothing."""

from __future__ import annotations

import asyncio

import httpx

from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Environment, Serve
from galapagos_model.identity import Project, ProjectMember
from galapagos_model.infra import ApiServeInfraConfig
from tests.factories import Factory, bearer

SERVE = {"name": "iris", "type": "api", "space": "vision"}


async def test_duplicate_serve_is_409(api: httpx.AsyncClient, admin: str) -> None:
    assert (await api.post("/api/v1/serve", json=SERVE, headers=bearer(admin))).status_code == 201
    again = await api.post("/api/v1/serve", json=SERVE, headers=bearer(admin))
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "SERVE_ALREADY_EXISTS", "params": {"serve": "iris"}}


async def test_twenty_identical_serve_creates_race_to_one(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    # A new space: the project is created by the same racing requests.
    token = await factory.token("racer")
    responses = await asyncio.gather(
        *(api.post("/api/v1/serve", json=SERVE, headers=bearer(token)) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, [r.json() for r in responses if r.status_code >= 500]
    assert await Serve.all().count() == 1
    assert await Project.filter(name="vision").count() == 1
    assert await ProjectMember.filter(project__name="vision").count() == 1
    assert await AuditLog.filter(action="serve.create").count() == 1


async def test_twenty_environment_creates_race_to_one(api: httpx.AsyncClient, admin: str) -> None:
    responses = await asyncio.gather(
        *(
            api.post("/api/v1/environment", json={"name": "prod"}, headers=bearer(admin))
            for _ in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 19
    assert await Environment.all().count() == 1


async def test_twenty_infra_config_creates_race_to_one(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await factory.environment("prod")
    await factory.serve("iris")
    body = {"api_serve_config": {"fast_api_config": {"cores": 1, "memory": 2}}}
    responses = await asyncio.gather(
        *(
            api.post("/api/v1/serve/iris/infra-config/prod", json=body, headers=bearer(admin))
            for _ in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19
    assert await ApiServeInfraConfig.all().count() == 1


async def test_twenty_artifact_registrations_give_one_job(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await factory.serve("iris")
    body = {"serve_name": "iris", "version": "v1", "github_repo_url": "https://g/iris.git"}
    responses = await asyncio.gather(
        *(api.post("/api/v1/artifact", json=body, headers=bearer(admin)) for _ in range(20))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19
    job_id = next(r.json()["data"]["job_id"] for r in responses if r.status_code == 201)
    conflicts = [r.json()["error"] for r in responses if r.status_code == 409]
    assert {c["code"] for c in conflicts} == {"BUILD_IN_PROGRESS"}
    assert {c["params"]["job_id"] for c in conflicts} == {job_id}
    assert await ArtifactBuilderJob.all().count() == 1


async def test_environment_in_use_cannot_be_deleted(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    environment = await factory.environment("prod")
    await factory.api_config(await factory.serve("iris"), environment)
    response = await api.delete("/api/v1/environment/prod", headers=bearer(admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ENVIRONMENT_IN_USE"
    assert await Environment.filter(name="prod").exists()
    assert not await AuditLog.filter(action="environment.delete").exists()

    await factory.environment("staging")
    assert (
        await api.delete("/api/v1/environment/staging", headers=bearer(admin))
    ).status_code == 200
    assert (await api.get("/api/v1/environment/staging", headers=bearer(admin))).status_code == 404


async def test_second_infra_config_post_is_409(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    serve = await factory.serve("iris")
    await factory.api_config(serve, await factory.environment("prod"))
    body = {"api_serve_config": {"fast_api_config": {"cores": 8, "memory": 16}}}
    response = await api.post(
        "/api/v1/serve/iris/infra-config/prod", json=body, headers=bearer(admin)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "INFRA_CONFIG_ALREADY_EXISTS"
    assert (await ApiServeInfraConfig.get(serve=serve)).cores == 2
