"""Traffic variants on KServe, through the API and the worker against KMock's Kubernetes: one
InferenceService per variant and the serve's router as a Gateway API HTTPRoute, for each of the
four strategies: what is created, patched and deleted, and that every object fits its CRD."""

from __future__ import annotations

from typing import Any

import kmock
import pytest

from galapagos_model.catalog import Environment
from galapagos_model.deployments import Workload
from galapagos_model.enums import WorkloadRole
from tests.kube import crds
from tests.kube.emulator import HTTPROUTE, ISVC, NAMESPACE, calls, exists, set_status, stored
from tests.traffic.kube import Cluster

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


async def operator(cluster: Cluster) -> None:
    """KServe and the Gateway: every InferenceService and HTTPRoute reported ready."""
    for workload in await Workload.filter(serve__name="iris"):
        resource, ready = (
            (HTTPROUTE, ROUTE_READY)
            if workload.role == WorkloadRole.ROUTER
            else (ISVC, ISVC_READY | {"url": f"http://{workload.name}.{NAMESPACE}.example"})
        )
        if exists(cluster.kube, resource, workload.name):
            obj = stored(cluster.kube, resource, workload.name)
            crds.validate(obj)
            if obj.get("status") != ready:
                set_status(cluster.kube, resource, workload.name, ready)


async def route_of(cluster: Cluster) -> dict[str, Any]:
    [router] = await Workload.filter(serve__name="iris", role=WorkloadRole.ROUTER)
    return stored(cluster.kube, HTTPROUTE, router.name)


KUBE = {
    "backend": "kserve",
    "environment_configs": {"namespace": NAMESPACE, "gateway": GATEWAY},
    "resources": (ISVC, HTTPROUTE),
    "operator": operator,
}


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

    route = await route_of(cluster)
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
    assert state["metrics_error"] == "this environment exports no per-variant metrics"
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
    rules = (await route_of(cluster))["spec"]["rules"]
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
    rules = (await route_of(cluster))["spec"]["rules"]
    kept = stable if strategy == "shadow" else trial
    assert [backends(r) for r in rules] == [[(kept, 100)]]
    assert mirrors(rules[0]) == []
    gone = trial if strategy == "shadow" else stable
    assert not exists(kmock, ISVC, gone)
    assert [c.name for c in calls(kmock, kmock.action.DELETE)] == [gone]
    assert crds.errors(await route_of(cluster)) == []

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


async def test_a_plain_deploy_or_rollback_rolls_the_stable_variant(
    cluster: Cluster, kmock: kmock.KubernetesEmulator
) -> None:
    variants = [
        {"variant_name": "stable"},
        {"variant_name": "canary", "artifact_version": "v2", "weight": 10},
    ]
    await cluster.call("POST", TRAFFIC, {"strategy": "canary", "variants": variants})
    await cluster.settle()
    stable, canary = await cluster.app_of("stable"), await cluster.app_of("canary")
    rules = (await route_of(cluster))["spec"]["rules"]

    def model_of(app: str) -> str:
        return str(stored(kmock, ISVC, app)["spec"]["predictor"]["model"]["storageUri"])

    deploys = "/api/v1/serve/iris/deploy"
    await cluster.call("POST", deploys, {"env": "kserve-prod", "artifact_version": "v2"})
    await cluster.settle()
    state = await cluster.traffic()
    assert [(v["variant_name"], v["artifact_version"]) for v in state["variants"]] == [
        ("stable", "v2"),
        ("canary", "v2"),
    ]
    assert (await cluster.app_of("stable"), model_of(stable)) == (stable, "s3://b/v2")
    assert model_of(canary) == "s3://b/v2"
    assert (await route_of(cluster))["spec"]["rules"] == rules  # the split is untouched

    await cluster.call("POST", "/api/v1/serve/iris/rollback/kserve-prod", {})
    await cluster.settle()
    state = await cluster.traffic()
    assert state["variants"][0]["artifact_version"] == "v1"
    assert model_of(stable) == "s3://b/v1"
    assert (await route_of(cluster))["spec"]["rules"] == rules
    status = await cluster.call("GET", "/api/v1/serve/iris/status/kserve-prod")
    assert (status["status"], status["artifact_version"]) == ("READY", "v1")
