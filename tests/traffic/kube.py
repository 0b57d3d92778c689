"""A serve with traffic variants on an emulated Kubernetes (KMock), driven through the API and
the worker's own reconciler: what the KServe and KubeRay traffic tests share."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import kmock

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.worker import Worker, make_worker
from galapagos_model.catalog import Environment
from tests.factories import Factory, bearer
from tests.kube import emulator


class Cluster:
    """The API, the worker's reconciler and the emulated cluster, with what a test reads."""

    def __init__(
        self,
        api: httpx.AsyncClient,
        admin: str,
        kube: kmock.KubernetesEmulator,
        worker: Worker,
        env: str,
        operator: Callable[[Cluster], Awaitable[None]],
    ) -> None:
        self.api, self.h, self.kube, self.worker = api, bearer(admin), kube, worker
        self.env, self.operator = env, operator
        self.traffic_path = f"/api/v1/serve/iris/traffic/{env}"

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.api.request(method, path, headers=self.h, json=body)
        assert response.status_code < 300, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def traffic(self) -> dict[str, Any]:
        return await self.call("GET", self.traffic_path)

    async def reconcile(self) -> None:
        """One pass; then the operator reports what it left as ready (and validates it)."""
        assert await self.worker.reconciler.run_once() == 1
        await self.operator(self)

    async def settle(self, passes: int = 4) -> None:
        for _ in range(passes):
            await self.reconcile()

    async def app_of(self, variant: str) -> str:
        state = await self.traffic()
        [found] = [v for v in state["variants"] if v["variant_name"] == variant]
        return str(found["workload"]["name"])


@contextlib.asynccontextmanager
async def serving(
    kube: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    factory: Factory,
    *,
    backend: str,
    environment_configs: dict[str, Any],
    resources: tuple[str, ...],
    operator: Callable[[Cluster], Awaitable[None]],
) -> AsyncIterator[Cluster]:
    """iris v1 (a model) active on a ``backend`` environment; v2 registered; drains instant."""
    emulator.prepare(kube, *resources)
    h = bearer(admin)
    env = f"{backend}-prod"
    kubeconfig = emulator.kubeconfig_text(str(kube.url))
    for path, body in (
        ("/api/v1/clusters", {"name": "kmock", "kubeconfig": kubeconfig}),
        (
            "/api/v1/environment",
            {
                "name": env,
                "backend": backend,
                "cluster": "kmock",
                "environment_configs": environment_configs,
            },
        ),
    ):
        assert (await api.post(path, headers=h, json=body)).status_code in (200, 201)
    serve = await factory.serve("iris")
    await factory.api_config(serve, await Environment.get(name=env))
    for version in ("v1", "v2"):
        body = {"version": version, "model_uri": f"s3://b/{version}", "model_format": "sklearn"}
        response = await api.post("/api/v1/artifact/iris/model", headers=h, json=body)
        assert response.status_code < 300, response.text
    quick = settings.model_copy(
        update={"traffic": settings.traffic.model_copy(update={"drain_seconds": 0})}
    )
    http = HttpClient(timeout=10)
    worker = make_worker(quick, server[1].state["services"], http)
    here = Cluster(api, admin, kube, worker, env, operator)
    await here.call("POST", "/api/v1/serve/iris/deploy", {"env": env, "artifact_version": "v1"})
    await here.settle(2)
    assert (await here.call("GET", f"/api/v1/serve/iris/status/{env}"))["status"] == "READY"
    try:
        yield here
    finally:
        await worker.backends.close()
        await http.close()
