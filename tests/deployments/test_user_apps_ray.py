"""Users' own code on a real local Ray, built from real git repositories and driven through
HTTP only: a Serve application of two deployments, an application builder given args, a
FastAPI app, each answering exactly as the same code deployed by Ray itself (``serve
deploy`` through the dashboard's REST API); a failing health route; requirements."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from galapagos_core.worker import Worker
from galapagos_model.artifacts import Artifact
from tests.deployments.test_deploy_ray import _build, _deploy, _ok, _ray_apps, _setup
from tests.factories import bearer
from tests.gitrepos import commit, make_repo

pytestmark = pytest.mark.ray

GRAPH = """
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.requests import Request
from starlette.responses import JSONResponse


@serve.deployment(ray_actor_options={"num_cpus": 0.05})
class Doubler:
    def double(self, x: float) -> float:
        return x * 2


@serve.deployment
class Ingress:
    def __init__(self, doubler: DeploymentHandle) -> None:
        self.doubler = doubler

    async def __call__(self, request: Request) -> JSONResponse:
        body = await request.json()
        doubled = await self.doubler.double.remote(body["x"])
        return JSONResponse({"doubled": doubled, "via": "handle"}, status_code=202)


app = Ingress.bind(Doubler.bind())
"""

BUILDER = """
from ray import serve
from ray.serve import Application


@serve.deployment
class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def __call__(self, request) -> str:
        return self.greeting


def build(args: dict) -> Application:
    return Greeter.bind(args.get("greeting", "hello"))
"""

FASTAPI = """
from fastapi import FastAPI, Header, HTTPException, Response

app = FastAPI()


@app.get("/healthcheck")
def health() -> dict:
    return {{"status": "{health}"}}


@app.get("/items/{{item_id}}")
def item(item_id: int, q: str | None = None) -> dict:
    return {{"item_id": item_id, "q": q, "version": "{version}"}}


@app.post("/items", status_code=201)
def create(body: dict, x_team: str = Header(default="none")) -> dict:
    return {{"created": body, "team": x_team}}


@app.get("/missing")
def missing() -> dict:
    raise HTTPException(status_code=404, detail="no such thing")


@app.get("/teapot")
def teapot(response: Response) -> dict:
    response.headers["X-Tea"] = "earl grey"
    response.status_code = 418
    return {{"tea": True}}
"""

UNHEALTHY = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/healthcheck")
def health() -> JSONResponse:
    return JSONResponse({"status": "database down"}, status_code=500)
"""


async def _serve_deploy(
    worker: Worker, name: str, import_path: str, package: str, ingress: str, **args: Any
) -> str:
    """The same code deployed by Ray itself: an application added to the running set through
    the dashboard, as ``serve deploy`` does (its ``ingress`` given a sliver of CPU, so that
    it fits beside ours on this small machine). Its URL."""
    endpoint = worker.backends.local_ray.endpoint()
    headers = {"Authorization": f"Bearer {endpoint.token}"}
    url = f"{endpoint.dashboard}/api/serve/applications/"
    async with httpx.AsyncClient(timeout=30) as client:
        current = (await client.get(url, headers=headers)).json()
        apps = [a["deployed_app_config"] for a in current["applications"].values()]
        reference: dict[str, Any] = {
            "name": name,
            "route_prefix": f"/{name}",
            "import_path": import_path,
            "runtime_env": {"working_dir": package},
            "deployments": [{"name": ingress, "ray_actor_options": {"num_cpus": 0.05}}],
        }
        if args:
            reference["args"] = args
        body = {"applications": [*apps, reference], "http_options": current["http_options"]}
        body["proxy_location"] = current["proxy_location"]
        assert (await client.put(url, headers=headers, json=body)).status_code == 200
    for _ in range(600):
        app = (await _ray_apps(worker)).get(name) or {}
        if app.get("status") == "RUNNING":
            return f"{endpoint.serve_url}/{name}"
        assert app.get("status") != "DEPLOY_FAILED", app
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} never ran: {app}")


@pytest.fixture
async def running(running: Worker) -> AsyncIterator[Worker]:
    """The session's worker; the reference applications a test deployed go afterwards."""
    yield running
    endpoint = running.backends.local_ray.endpoint()
    headers = {"Authorization": f"Bearer {endpoint.token}"}
    url = f"{endpoint.dashboard}/api/serve/applications/"
    async with httpx.AsyncClient(timeout=30) as client:
        current = (await client.get(url, headers=headers)).json()
        apps = [
            app["deployed_app_config"]
            for name, app in current["applications"].items()
            if not name.startswith("ref-")
        ]
        body = {"applications": apps, "http_options": current["http_options"]}
        body["proxy_location"] = current["proxy_location"]
        await client.put(url, headers=headers, json=body)


async def _same_answers(ours: str, theirs: str, requests: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for request in requests:
            path = request.pop("path", "")
            mine = await client.request(url=f"{ours}{path}", **request)
            ray = await client.request(url=f"{theirs}{path}", **request)
            assert (mine.status_code, mine.content) == (ray.status_code, ray.content), path
            for header in ("content-type", "x-tea"):
                assert mine.headers.get(header) == ray.headers.get(header), header


async def test_a_serve_application_of_two_deployments(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": GRAPH})
    await _setup(api, admin)
    package = await _build(api, admin, repo, "v1", "main:app")
    deployed = await _deploy(api, admin, "v1")
    assert deployed["status"] == "ACTIVE", deployed.get("error")
    apps = await _ray_apps(running)
    assert set(apps["iris"]["deployments"]) == {"Ingress", "Doubler"}  # its own deployments
    reference = await _serve_deploy(running, "ref-graph", "main:app", package, "Ingress")
    await _same_answers(
        deployed["service_url"],
        reference,
        [{"method": "POST", "json": {"x": 21}}, {"method": "POST", "json": {"x": 0.5}}],
    )
    async with httpx.AsyncClient() as client:
        answer = await client.post(deployed["service_url"], json={"x": 21})
    assert (answer.status_code, answer.json()) == (202, {"doubled": 42, "via": "handle"})
    # The infra config sized the ingress: 0.1 CPU, as asked, not Ray's default of 1.
    ingress = apps["iris"]["deployed_app_config"]["args"]["ingress"]
    assert ingress["ray_actor_options"]["num_cpus"] == 0.1


async def test_an_application_builder_gets_its_args(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": BUILDER})
    await _setup(api, admin)
    package = await _build(api, admin, repo, "v1", "main:build")
    deployed = await _deploy(
        api,
        admin,
        "v1",
        api_serve_deployment_config={
            "args": {"greeting": "bonjour"},
            "deployments": {
                "Greeter": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 0.05}}
            },
        },
    )
    assert deployed["status"] == "ACTIVE", deployed
    reference = await _serve_deploy(
        running, "ref-builder", "main:build", package, "Greeter", greeting="bonjour"
    )
    await _same_answers(deployed["service_url"], reference, [{"method": "GET"}])
    config = (await _ray_apps(running))["iris"]["deployed_app_config"]
    assert config["deployments"] == [
        {"name": "Greeter", "num_replicas": 1, "ray_actor_options": {"num_cpus": 0.05}}
    ]


async def test_a_fastapi_app_with_all_its_routes(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    # How the app's author runs it with Serve alone: behind an ingress deployment.
    wrapped = (
        "from ray import serve\n\nfrom main import app\n\n\n"
        "@serve.deployment\n@serve.ingress(app)\nclass Ingress:\n    pass\n\n\n"
        "ingress = Ingress.bind()\n"
    )
    repo = make_repo(
        tmp_path / "repo",
        {"main.py": FASTAPI.format(health="ok", version="v1"), "serve_app.py": wrapped},
    )
    await _setup(api, admin)
    package = await _build(api, admin, repo, "v1", "main:app")
    deployed = await _deploy(api, admin, "v1")
    assert deployed["status"] == "ACTIVE", deployed
    reference = await _serve_deploy(running, "ref-fastapi", "serve_app:ingress", package, "Ingress")
    await _same_answers(
        deployed["service_url"],
        reference,
        [
            {"method": "GET", "path": "/items/7?q=tea"},
            {"method": "GET", "path": "/items/not-a-number"},  # FastAPI's own 422
            {"method": "POST", "path": "/items", "json": {"a": 1}, "headers": {"X-Team": "ml"}},
            {"method": "GET", "path": "/missing"},
            {"method": "GET", "path": "/teapot"},
            {"method": "DELETE", "path": "/items"},  # 405
            {"method": "GET", "path": "/nowhere"},
        ],
    )
    async with httpx.AsyncClient() as client:
        created = await client.post(
            f"{deployed['service_url']}/items", json={"a": 1}, headers={"X-Team": "ml"}
        )
        teapot = await client.get(f"{deployed['service_url']}/teapot")
    assert (created.status_code, created.json()) == (201, {"created": {"a": 1}, "team": "ml"})
    assert (teapot.status_code, teapot.headers["x-tea"]) == (418, "earl grey")


async def test_a_failing_health_route_fails_the_rollout_and_the_old_version_serves(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": FASTAPI.format(health="ok", version="v1")})
    await _setup(api, admin)
    await _build(api, admin, repo, "v1", "main:app")
    commit(repo, {"main.py": UNHEALTHY})
    await _build(api, admin, repo, "v2", "main:app")
    good = await _deploy(api, admin, "v1")
    assert good["status"] == "ACTIVE", good

    bad = await _deploy(api, admin, "v2")
    assert bad["status"] == "FAILED", bad
    assert "/healthcheck answered 500" in bad["error"]
    assert "database down" in bad["error"]  # the body it answered with
    for _ in range(300):  # the previous version is put back and answers
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{good['service_url']}/items/1")
        if answer.status_code == 200 and answer.json()["version"] == "v1":
            break
        await asyncio.sleep(0.2)
    assert answer.json()["version"] == "v1"
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["artifact_version"] == "v1"


def _wheel(folder: Path) -> Path:
    """A tiny wheel the platform's environment does not have."""
    wheel = folder / "tinypkg-0.1-py3-none-any.whl"
    info = "tinypkg-0.1.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tinypkg/__init__.py", "VALUE = 42\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n")
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(
            f"{info}/RECORD",
            f"tinypkg/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n",
        )
    return wheel


async def test_requirements_reach_the_replica(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    with pytest.raises(ImportError):
        __import__("tinypkg")  # not here: only the replica's environment will have it
    wheel = _wheel(tmp_path)
    model = (
        "import tinypkg\n\n\nclass Model:\n"
        "    def predict(self, rows):\n        return [tinypkg.VALUE for _ in rows]\n"
    )
    repo = make_repo(
        tmp_path / "repo",
        {"main.py": model, "requirements.txt": f"tinypkg @ file://{wheel}\n"},
    )
    await _setup(api, admin)
    await _build(api, admin, repo, "v1", "main:Model")
    artifact = await Artifact.get(version="v1")
    assert artifact.requirements == [f"tinypkg @ file://{wheel}"]
    deployed = await _deploy(api, admin, "v1")
    assert deployed["status"] == "ACTIVE", deployed
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(deployed["service_url"], json={"instances": [[1], [2]]})
    assert answer.json() == {"predictions": [42, 42]}
