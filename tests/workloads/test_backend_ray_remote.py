"""A Ray cluster elsewhere: its token is stored sealed and sent as a bearer token, and the
platform's PUT keeps the applications it does not manage, and another environment's on the
same cluster: one of the same name is left as it is and named in the error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from galapagos_core.artifacts.builds.store import DirectoryStore
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.services import Services
from galapagos_core.workloads.backends.registry import Backends
from galapagos_core.workloads.spec import BackendError, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import ArtifactKind
from tests.factories import bearer
from tests.http_servers import served

TOKEN = "remote-dashboard-token"
THEIRS = {"name": "theirs", "route_prefix": "/theirs", "import_path": "app:app"}


@pytest.fixture
async def dashboard() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A dashboard answering Ray's Serve REST API, holding one application we do not manage."""
    puts: list[dict[str, Any]] = []
    apps = {
        "theirs": {"status": "RUNNING", "route_prefix": "/theirs", "deployed_app_config": THEIRS}
    }

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.method == "PUT":
            body = await request.json()
            puts.append(body)
            apps.clear()
            for app in body["applications"]:
                apps[app["name"]] = {
                    "status": "DEPLOYING",
                    "route_prefix": app["route_prefix"],
                    "deployed_app_config": app,
                }
            return web.Response()
        return web.json_response(
            {
                "applications": apps,
                "proxy_location": "HeadOnly",
                "http_options": {"host": "0.0.0.0", "port": 8000},
            }
        )

    app = web.Application()
    app.router.add_route("*", "/api/serve/applications/", handle)
    async with served(app) as url:
        yield url, puts


async def test_remote_ray_gets_the_token_and_keeps_foreign_apps(
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: tuple[str, Any],
    dashboard: tuple[str, list[dict[str, Any]]],
) -> None:
    url, puts = dashboard
    created = await api.post(
        "/api/v1/environment",
        headers=bearer(admin),
        json={
            "name": "ray-remote",
            "ray_address": url,
            "ray_token": TOKEN,
            "environment_configs": {"serve_url": "http://ray.internal:8000"},
        },
    )
    assert created.status_code == 200, created.text
    shown = await api.get("/api/v1/environment/ray-remote", headers=bearer(admin))
    assert TOKEN not in shown.text
    environment = await Environment.get(name="ray-remote")
    assert environment.ray_token_encrypted is not None
    assert TOKEN not in environment.ray_token_encrypted

    services: Services = server[1].state["services"]
    http = HttpClient()
    backends = Backends(
        settings, http, services.secrets, DirectoryStore(settings.package_dir), services.links
    )
    backend = await backends.for_environment(environment)
    spec = WorkloadSpec(
        name="iris",
        project="ml",
        serve="iris",
        environment="ray-remote",
        deployment_id="0d6c1f6e-8a5b-4c1e-9f3e-2b7a9c4d5e6f",
        route_prefix="/iris",
        artifact_kind=ArtifactKind.MODEL,
        artifact_version="v1",
        model_uri="file:///m.joblib",
        model_format="sklearn",
    )
    await backend.apply(environment, [spec])
    observed = await backend.observe(environment)

    # A second environment on the same cluster: its serve of another name is written beside,
    # one named as the first environment's, or as an application not ours, is not.
    created = await api.post(
        "/api/v1/environment",
        headers=bearer(admin),
        json={"name": "ray-remote-b", "ray_address": url, "ray_token": TOKEN},
    )
    assert created.status_code == 200, created.text
    second = await Environment.get(name="ray-remote-b")
    other = await backends.for_environment(second)
    specs = [
        spec.model_copy(
            update={"environment": "ray-remote-b", "name": name, "route_prefix": f"/{name}"}
        )
        for name in ("iris", "theirs", "wine")
    ]
    with pytest.raises(BackendError) as refused:
        await other.apply(second, specs)
    assert str(refused.value) == (
        "Serve applications held by others on this Ray cluster: 'iris' (environment "
        "ray-remote), 'theirs' (not managed by the platform)"
    )
    assert list(await other.observe(second)) == ["wine"]
    assert list(await backend.observe(environment)) == ["iris"]
    await backends.close()
    await http.close()

    body, beside = puts
    assert [a["name"] for a in body["applications"]] == ["theirs", "iris"]
    assert body["applications"][0] == THEIRS  # untouched
    assert beside["applications"][:2] == body["applications"]  # untouched
    assert body["http_options"] == {"host": "0.0.0.0", "port": 8000}  # what the cluster runs
    assert list(observed) == ["iris"]  # only ours is managed
    assert observed["iris"].url == "http://ray.internal:8000/iris"
    assert backend.matches(environment, spec, observed["iris"])
