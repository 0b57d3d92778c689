"""Clusters: kubeconfigs stored encrypted and never returned, health and capabilities."""

from __future__ import annotations

import json
import socket

import httpx
import kmock
import pytest

from galapagos_core.catalog.cluster_health import ClusterMonitor
from galapagos_core.catalog.clusters import ClusterService
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.secrets import SecretBox, SecretError, new_key_spec, parse_keys
from galapagos_core.services import secret_box
from galapagos_model.catalog import Cluster
from tests.factories import Factory, bearer
from tests.kube import emulator

CRDS = "apiextensions.k8s.io/v1/customresourcedefinitions"


def _kubeconfig(server: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": "sa-token-123"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        }
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_kubeconfig_goes_in_and_never_comes_out(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings
) -> None:
    text = _kubeconfig("https://k8s.example.com:6443")
    created = await api.post(
        "/api/v1/clusters", headers=bearer(admin), json={"name": "prod-eu", "kubeconfig": text}
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["api_server_url"] == "https://k8s.example.com:6443"
    for response in (
        created,
        await api.get("/api/v1/clusters", headers=bearer(admin)),
        await api.get("/api/v1/clusters/prod-eu", headers=bearer(admin)),
    ):
        assert "sa-token-123" not in response.text
        assert "kubeconfig" not in response.json()["data"]
    stored = await Cluster.get(name="prod-eu")
    assert "sa-token-123" not in stored.kubeconfig_encrypted
    other = SecretBox(parse_keys(new_key_spec("local1")))  # same key id, another key
    with pytest.raises(SecretError, match="does not decrypt"):
        other.open(stored.kubeconfig_encrypted, "cluster:prod-eu:kubeconfig")

    viewer = await factory.token("someone")
    assert (await api.get("/api/v1/clusters", headers=bearer(viewer))).status_code == 403
    bad = await api.post(
        "/api/v1/clusters",
        headers=bearer(admin),
        json={"name": "broken", "kubeconfig": "not: [a kubeconfig"},
    )
    assert bad.status_code == 422


async def test_keys_rotate(settings: Settings, api: httpx.AsyncClient, admin: str) -> None:
    await api.post(
        "/api/v1/clusters",
        headers=bearer(admin),
        json={"name": "prod-eu", "kubeconfig": _kubeconfig("https://k:6443")},
    )
    old = secret_box(settings)
    both = SecretBox({"k2": parse_keys(new_key_spec("k2"))["k2"], **old.keys})
    assert await ClusterService(both).rotate() == 1
    stored = await Cluster.get(name="prod-eu")
    assert stored.kubeconfig_encrypted.startswith("v1:k2:")
    only_new = SecretBox({"k2": both.keys["k2"]})
    assert "k:6443" in only_new.open(stored.kubeconfig_encrypted, "cluster:prod-eu:kubeconfig")


async def test_health_and_capabilities_follow_the_kubeconfig(
    api: httpx.AsyncClient, admin: str, settings: Settings, kmock: kmock.KubernetesEmulator
) -> None:
    emulator.prepare(kmock, CRDS)
    kmock.objects[CRDS, None, "inferenceservices.serving.kserve.io"] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "inferenceservices.serving.kserve.io"},
        "spec": {
            "group": "serving.kserve.io",
            "scope": "Namespaced",
            "names": {"plural": "inferenceservices", "kind": "InferenceService"},
            "versions": [{"name": "v1beta1", "served": True, "storage": True}],
        },
    }
    await api.post(
        "/api/v1/clusters",
        headers=bearer(admin),
        json={"name": "prod-eu", "kubeconfig": _kubeconfig(f"http://127.0.0.1:{_closed_port()}")},
    )
    monitor = ClusterMonitor(KubeClients(ClusterService(secret_box(settings)).kubeconfig), 30)
    await monitor.check_all()
    cluster = (await api.get("/api/v1/clusters/prod-eu", headers=bearer(admin))).json()["data"]
    assert cluster["status"] == "UNREACHABLE"

    # A new kubeconfig: the client is rebuilt from it.
    await api.patch(
        "/api/v1/clusters/prod-eu",
        headers=bearer(admin),
        json={"kubeconfig": _kubeconfig(str(kmock.url))},
    )
    await monitor.check_all()
    cluster = (await api.get("/api/v1/clusters/prod-eu", headers=bearer(admin))).json()["data"]
    assert cluster["status"] == "HEALTHY"
    assert cluster["capabilities"] == {"inferenceservices.serving.kserve.io": ["v1beta1"]}
    await monitor.clients.close()
