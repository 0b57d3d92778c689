"""Traffic variants on KServe, through the API and the worker against KMock's Kubernetes: one
InferenceService per variant and the serve's router as a Gateway API HTTPRoute, for each of the
four strategies: what is created, patched and deleted, and that every object fits its CRD."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import kmock
import pytest

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.worker import Worker, make_worker
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Workload
from galapagos_model.enums import WorkloadRole
from tests.factories import Factory, bearer
from tests.kube import crds, emulator
from tests.kube.emulator import HTTPROUTE, ISVC, NAMESPACE, calls, exists, set_status, stored

GATEWAY = {"name": "web", "namespace": "gateways", "domain": "models.example.com"}
TRAFFIC = "/api/v1/serve/iris/traffic/kserve-prod"
ISVC_READY = {
    "observedGeneration": 1,
    "conditions": [
        {"type": "PredictorReady", "status": "True"},
        {"type": "Ready", "status": "True"},
    ],
}
ROUTE_READY = {
    "parents": [
        {
            "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "web"},
            "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
            "conditions": [
                {
                    "type": kind,
                    "status": "True",
                    "reason": kind,
                    "message": f"Route is {kind.lower()}",
                    "lastTransitionTime": "2026-12-02T12:00:00Z",
                }
                for kind in ("Accepted", "ResolvedRefs")
            ],
        }
    ]
}


class Cluster:
    """The API, the worker's reconciler and the emulated cluster, with what a test reads."""

    def __init__(self, api: httpx.AsyncClient, admin: str, kube: Any, worker: Worker) -> None:
        self.api, self.h, self.kube, self.worker = api, bearer(admin), kube, worker

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.api.request(method, path, headers=self.h, json=body)
        assert response.status_code < 300, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def traffic(self) -> dict[str, Any]:
        return await self.call("GET", TRAFFIC)

    async def reconcile(self) -> None:
        """One pass; every InferenceService and HTTPRoute it leaves reported ready."""
        assert await self.worker.reconciler.run_once() == 1
        for workload in await Workload.filter(serve__name="iris"):
            resource, ready = (
                (HTTPROUTE, ROUTE_READY)
                if workload.role == WorkloadRole.ROUTER
                else (ISVC, ISVC_READY | {"url": f"http://{workload.name}.{NAMESPACE}.example"})
            )
            if exists(self.kube, resource, workload.name):
                obj = stored(self.kube, resource, workload.name)
                crds.validate(obj)
                if obj.get("status") != ready:
                    set_status(self.kube, resource, workload.name, ready)

    async def settle(self, passes: int = 4) -> None:
        for _ in range(passes):
            await self.reconcile()

    async def route(self) -> dict[str, Any]:
        [router] = await Workload.filter(serve__name="iris", role=WorkloadRole.ROUTER)
        return stored(self.kube, HTTPROUTE, router.name)

    async def app_of(self, variant: str) -> str:
        state = await self.traffic()
        [found] = [v for v in state["variants"] if v["variant_name"] == variant]
        return str(found["workload"]["name"])


@pytest.fixture
async def cluster(
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    factory: Factory,
) -> AsyncIterator[Cluster]:
    """iris v1 active on a KServe environment whose routes attach to a Gateway; v2 built."""
    emulator.prepare(kmock, ISVC, HTTPROUTE)
    h = bearer(admin)
    kubeconfig = emulator.kubeconfig_text(str(kmock.url))
    for path, body in (
        ("/api/v1/clusters", {"name": "kmock", "kubeconfig": kubeconfig}),
        (
            "/api/v1/environment",
            {
                "name": "kserve-prod",
                "backend": "kserve",
                "cluster": "kmock",
                "environment_configs": {"namespace": NAMESPACE, "gateway": GATEWAY},
            },
        ),
    ):
        assert (await api.post(path, headers=h, json=body)).status_code in (200, 201)
    serve = await factory.serve("iris")
    await factory.api_config(serve, await Environment.get(name="kserve-prod"))
    for version in ("v1", "v2"):
        body = {"version": version, "model_uri": f"s3://b/{version}", "model_format": "sklearn"}
        response = await api.post("/api/v1/artifact/iris/model", headers=h, json=body)
        assert response.status_code < 300, response.text
    quick = settings.model_copy(
        update={"traffic": settings.traffic.model_copy(update={"drain_seconds": 0})}
    )
    http = HttpClient(timeout=10)
    worker = make_worker(quick, server[1].state["services"], http)
    here = Cluster(api, admin, kmock, worker)
    await here.call(
        "POST", "/api/v1/serve/iris/deploy", {"env": "kserve-prod", "artifact_version": "v1"}
    )
    await here.settle(2)
    assert (await here.call("GET", "/api/v1/serve/iris/status/kserve-prod"))["status"] == "READY"
    try:
        yield here
    finally:
        await worker.backends.close()
        await http.close()


def route_calls(kube: kmock.KubernetesEmulator, action: kmock.action) -> list[kmock.Request]:
    return [c for c in calls(kube, action) if c.resource == kube.resource(HTTPROUTE)]


def backends(rule: dict[str, Any]) -> list[tuple[str, int]]:
    return [(ref["name"].removesuffix("-predictor"), ref["weight"]) for ref in rule["backendRefs"]]


def mirrors(rule: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (
            f["requestMirror"]["backendRef"]["name"].removesuffix("-predictor"),
            f["requestMirror"]["percent"],
        )
        for f in rule.get("filters", [])
    ]


STRATEGIES = {
    # strategy: (the candidate, its variant entry, its weight after PUT weights)
    "canary": ("canary", {"weight": 10}, 25),
    "ab_test": ("variant_a", {"weight": 50, "header_match": {"x-group": "a"}}, 30),
    "shadow": ("shadow", {"weight": 100}, 50),
    "blue_green": ("green", {"weight": 0}, 100),
}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_each_strategy_is_an_http_route_created_patched_and_deleted(
    cluster: Cluster, kmock: kmock.KubernetesEmulator, strategy: str
) -> None:
    candidate, entry, changed = STRATEGIES[strategy]
    variants = [
        {"variant_name": "stable"},
        {"variant_name": candidate, "artifact_version": "v2", **entry},
    ]
    await cluster.call("POST", TRAFFIC, {"strategy": strategy, "variants": variants})
    await cluster.settle()
    state = await cluster.traffic()
    assert [v["status"] for v in state["variants"]] == ["active", "active"]
    stable, trial = await cluster.app_of("stable"), await cluster.app_of(candidate)
    assert exists(kmock, ISVC, trial)
    assert stored(kmock, ISVC, trial)["spec"]["predictor"]["model"]["storageUri"] == "s3://b/v2"

    route = await cluster.route()
    assert route_calls(kmock, kmock.action.CREATE)[0].namespace == NAMESPACE
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "web",
            "namespace": "gateways",
        }
    ]
    assert route["spec"]["hostnames"] == ["iris.models.example.com"]
    assert state["service_url"] == "http://iris.models.example.com"
    rules = route["spec"]["rules"]
    if strategy == "canary":
        assert [backends(r) for r in rules] == [[(stable, 90), (trial, 10)]]
    elif strategy == "ab_test":
        header_rule, weighted = rules
        assert header_rule["matches"][0]["headers"] == [
            {"type": "Exact", "name": "x-group", "value": "a"}
        ]
        assert backends(header_rule) == [(trial, 1)]
        assert backends(weighted) == [(stable, 50), (trial, 50)]
    elif strategy == "shadow":
        assert [backends(r) for r in rules] == [[(stable, 100)]]
        assert mirrors(rules[0]) == [(trial, 100)]
    else:
        assert [backends(r) for r in rules] == [[(stable, 100), (trial, 0)]]
        assert state["preview_url"] == f"http://{trial}.{NAMESPACE}.example"

    # All weights at once: one patch of the route, nothing else written.
    before = len(kmock.objects)
    patched = len(route_calls(kmock, kmock.action.UPDATE))
    await cluster.call("PUT", f"{TRAFFIC}/weights", {"weights": {candidate: changed}})
    await cluster.reconcile()
    assert len(route_calls(kmock, kmock.action.UPDATE)) == patched + 1
    assert len(kmock.objects) == before
    rules = (await cluster.route())["spec"]["rules"]
    weighted = rules[-1]
    if strategy == "shadow":
        assert backends(weighted) == [(stable, 100)]
        assert mirrors(weighted) == [(trial, 50)]
    else:
        assert backends(weighted) == [(stable, 100 - changed), (trial, changed)]

    if strategy == "shadow":  # a shadow is removed, never promoted
        await cluster.call("DELETE", f"{TRAFFIC}/variants/{candidate}")
    else:
        await cluster.call("POST", f"{TRAFFIC}/promote", {"variant": candidate})
    await cluster.settle()
    rules = (await cluster.route())["spec"]["rules"]
    kept = stable if strategy == "shadow" else trial
    assert [backends(r) for r in rules] == [[(kept, 100)]]
    assert mirrors(rules[0]) == []
    gone = trial if strategy == "shadow" else stable
    assert not exists(kmock, ISVC, gone)
    assert [c.name for c in calls(kmock, kmock.action.DELETE)] == [gone]
    assert crds.errors(await cluster.route()) == []

    await cluster.call("POST", "/api/v1/serve/iris/undeploy/kserve-prod")
    await cluster.settle(2)
    assert not exists(kmock, ISVC, kept)
    assert not exists(kmock, HTTPROUTE, route["metadata"]["name"])


@pytest.mark.parametrize(
    ("configs", "extra", "refused"),
    [
        ({"namespace": NAMESPACE}, {}, "need a Gateway"),
        ({"namespace": NAMESPACE, "gateway": GATEWAY}, {"sticky": {"header": "x-user"}}, "sticky"),
        (
            {"namespace": NAMESPACE, "gateway": GATEWAY},
            {"rollout": {"steps": [10, 50], "interval_seconds": 60, "gates": {}}},
            "rollouts",
        ),
    ],
)
async def test_what_a_kserve_environment_cannot_route_is_refused(
    cluster: Cluster, configs: dict[str, Any], extra: dict[str, Any], refused: str
) -> None:
    await Environment.filter(name="kserve-prod").update(env_configs=configs)
    variants = [
        {"variant_name": "stable"},
        {"variant_name": "canary", "artifact_version": "v2", "weight": 10},
    ]
    response = await cluster.api.post(
        TRAFFIC, headers=cluster.h, json={"strategy": "canary", "variants": variants, **extra}
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"]["code"] == "TRAFFIC_BACKEND_UNSUPPORTED"
    assert refused in answer["message"]
    assert (await cluster.api.get(TRAFFIC, headers=cluster.h)).status_code == 404
