"""Traffic variants on KubeRay, through the API and the worker against KMock's Kubernetes: the
serve's RayService holds every variant's application and the router's (which reaches them
through handles inside the one Ray cluster), added, reconfigured and removed in place."""

from __future__ import annotations

from typing import Any

import kmock
import yaml

from tests.kube import crds
from tests.kube.emulator import NAMESPACE, RAYSERVICE, calls, exists, set_status, stored
from tests.traffic.kube import Cluster

READY = {
    "type": "Ready",
    "status": "True",
    "reason": "NonZeroServeEndpoints",
    "message": "Number of serve endpoints is greater than 0",
    "lastTransitionTime": "2026-12-02T12:00:00Z",
}


def apps(rayservice: dict[str, Any]) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(rayservice["spec"]["serveConfigV2"])
    return {app["name"]: app for app in document["applications"]}


async def operator(cluster: Cluster) -> None:
    """KubeRay: the serve's RayService ready, every application in it running."""
    if not exists(cluster.kube, RAYSERVICE, "iris"):
        return
    rayservice = stored(cluster.kube, RAYSERVICE, "iris")
    crds.validate(rayservice)
    running = {name: {"status": "RUNNING"} for name in apps(rayservice)}
    status = {
        "observedGeneration": 1,
        "conditions": [READY],
        "activeServiceStatus": {
            "rayClusterName": "iris-raycluster-x7k2p",
            "applicationStatuses": running,
        },
    }
    if rayservice.get("status") != status:
        set_status(cluster.kube, RAYSERVICE, "iris", status)


KUBE = {
    "backend": "kuberay",
    "environment_configs": {"namespace": NAMESPACE},
    "resources": (RAYSERVICE,),
    "operator": operator,
}


async def test_variants_and_router_share_the_serves_rayservice(
    cluster: Cluster, kmock: kmock.KubernetesEmulator
) -> None:
    variants = [
        {"variant_name": "stable"},
        {"variant_name": "canary", "artifact_version": "v2", "weight": 10},
    ]
    body = {"strategy": "canary", "variants": variants, "sticky": {"header": "x-user"}}
    await cluster.call("POST", cluster.traffic_path, body)
    await cluster.settle()
    state = await cluster.traffic()
    assert [v["status"] for v in state["variants"]] == ["active", "active"]
    stable, canary = await cluster.app_of("stable"), await cluster.app_of("canary")
    router = state["router"]["name"]

    # One RayService, never another: the variant and the router are applications in it.
    assert [c.name or c.data["metadata"]["name"] for c in calls(kmock, kmock.action.CREATE)] == [
        "iris"
    ]
    rayservice = stored(kmock, RAYSERVICE, "iris")
    running = apps(rayservice)
    assert set(running) == {stable, canary, router}
    assert running[router]["route_prefix"] == "/iris"  # taken over once the router ran
    assert running[stable]["route_prefix"] is None
    assert running[canary]["route_prefix"] is None
    assert running[canary]["args"]["model"]["uri"] == "s3://b/v2"
    table = running[router]["deployments"][0]["user_config"]
    assert [(v["name"], v["app"], v["weight"]) for v in table["variants"]] == [
        ("stable", stable, 0),
        ("canary", canary, 10),
    ]
    assert table["sticky"] == {"header": "x-user"}
    assert state["service_url"] == f"http://iris-serve-svc.{NAMESPACE}.svc:8000/iris"
    [workers] = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    low, high = rayservice["metadata"]["annotations"]["galapagos.io/replicas-per-app"].split(",")
    assert workers["minReplicas"] == int(low)
    assert workers["maxReplicas"] == 2 * int(high) + 1  # room for both versions and the router

    # A weight change reconfigures the router's application and nothing else.
    before = {name: app for name, app in running.items() if name != router}
    await cluster.call("PUT", f"{cluster.traffic_path}/weights", {"weights": {"canary": 40}})
    await cluster.reconcile()
    running = apps(stored(kmock, RAYSERVICE, "iris"))
    weights = [v["weight"] for v in running[router]["deployments"][0]["user_config"]["variants"]]
    assert weights == [0, 40]
    assert {name: app for name, app in running.items() if name != router} == before

    # Promote: the previous stable application leaves the RayService; the canary stays.
    await cluster.call("POST", f"{cluster.traffic_path}/promote", {"variant": "canary"})
    await cluster.settle()
    assert set(apps(stored(kmock, RAYSERVICE, "iris"))) == {canary, router}
    assert calls(kmock, kmock.action.DELETE) == []
    status = await cluster.call("GET", f"/api/v1/serve/iris/status/{cluster.env}")
    assert status["artifact_version"] == "v2"

    await cluster.call("POST", f"/api/v1/serve/iris/undeploy/{cluster.env}")
    await cluster.settle(2)
    assert not exists(kmock, RAYSERVICE, "iris")
    assert [c.name for c in calls(kmock, kmock.action.DELETE)] == ["iris"]


async def test_kuberay_rollouts_need_the_environments_prometheus(cluster: Cluster) -> None:
    variants = [
        {"variant_name": "stable"},
        {"variant_name": "canary", "artifact_version": "v2"},
    ]
    plan = {"steps": [10, 50], "interval_seconds": 60}
    response = await cluster.api.post(
        cluster.traffic_path,
        headers=cluster.h,
        json={"strategy": "canary", "variants": variants, "rollout": plan},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "TRAFFIC_BACKEND_UNSUPPORTED"
    assert "prometheus_url" in response.json()["message"]
