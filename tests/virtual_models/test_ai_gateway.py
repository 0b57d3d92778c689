"""Virtual models on a Kubernetes environment through Envoy AI Gateway, driven through the API
and the worker's reconciler against KMock: the AIGatewayRoute, AIServiceBackends, Envoy
Gateway Backends, the API key's Secret and BackendSecurityPolicy, the BackendTrafficPolicy's
retries; every object fits its CRD, follows every API change with the right calls, and what
nobody wants any more is deleted."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import kmock

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.worker import make_worker
from tests.factories import Factory, bearer
from tests.kube import crds, emulator
from tests.kube.emulator import NAMESPACE, calls, exists, set_status, stored

GATEWAY = {"name": "ai", "namespace": "gateways", "domain": "models.example.com"}
ROUTES = "aigateway.envoyproxy.io/v1beta1/aigatewayroutes"
SERVICE_BACKENDS = "aigateway.envoyproxy.io/v1beta1/aiservicebackends"
SECURITY = "aigateway.envoyproxy.io/v1beta1/backendsecuritypolicies"
BACKENDS = "gateway.envoyproxy.io/v1alpha1/backends"
TRAFFIC = "gateway.envoyproxy.io/v1alpha1/backendtrafficpolicies"
SECRETS = "v1/secrets"
KEY = "sk-upstream-9f3a1c"
BASE = "/api/v1/virtual-models"


async def test_a_virtual_model_becomes_envoy_ai_gateway_objects(
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    factory: Factory,
) -> None:
    emulator.prepare(kmock, ROUTES, SERVICE_BACKENDS, SECURITY, BACKENDS, TRAFFIC, SECRETS)
    h = bearer(admin)

    async def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await api.request(method, path, headers=h, json=body)
        assert response.status_code < 300, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    kubeconfig = emulator.kubeconfig_text(str(kmock.url))
    await call("POST", "/api/v1/clusters", {"name": "kmock", "kubeconfig": kubeconfig})
    env = {"name": "kserve-prod", "backend": "kserve", "cluster": "kmock"}
    configs = {"gateway": GATEWAY, "namespace": NAMESPACE}
    await call("POST", "/api/v1/environment", {**env, "environment_configs": configs})
    await factory.project("team")
    await call("POST", BASE, {"name": "chat", "project": "team"})
    openai = await call(
        "POST",
        f"{BASE}/chat/backends",
        {
            "kind": "external",
            "name": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key": KEY,
            "model_name_override": "gpt-4o-mini",
            "weight": 70,
        },
    )
    vllm = await call(
        "POST",
        f"{BASE}/chat/backends",
        {"kind": "external", "name": "vllm", "base_url": "http://vllm.llm:8000/v1", "priority": 1},
    )
    await call("POST", f"{BASE}/chat/deploy", {"env": "kserve-prod"})

    http = HttpClient(timeout=10)
    worker = make_worker(settings, server[1].state["services"], http)
    try:

        async def reconcile() -> None:
            assert await worker.reconciler.run_once() == 1

        await reconcile()
        route = stored(kmock, ROUTES, "vm-team-chat")
        everything = [
            route,
            stored(kmock, TRAFFIC, "vm-team-chat"),
            *(
                stored(kmock, r, f"vm-team-chat-{b}")
                for r in (SERVICE_BACKENDS, BACKENDS)
                for b in ("openai", "vllm")
            ),
            stored(kmock, SECURITY, "vm-team-chat-openai"),
        ]
        for obj in everything:
            crds.validate(obj)
            assert obj["metadata"]["labels"]["galapagos.io/environment"] == "kserve-prod"
        assert route["spec"]["parentRefs"] == [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": "ai",
                "namespace": "gateways",
            }
        ]
        [rule] = route["spec"]["rules"]
        assert rule["matches"] == [
            {"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": "chat"}]}
        ]
        assert rule["backendRefs"] == [
            {
                "name": "vm-team-chat-openai",
                "weight": 70,
                "priority": 0,
                "modelNameOverride": "gpt-4o-mini",
            },
            {"name": "vm-team-chat-vllm", "weight": 1, "priority": 1},
        ]
        assert stored(kmock, BACKENDS, "vm-team-chat-openai")["spec"] == {
            "endpoints": [{"fqdn": {"hostname": "api.openai.com", "port": 443}}],
            "tls": {"wellKnownCACertificates": "System", "sni": "api.openai.com"},
        }
        assert stored(kmock, BACKENDS, "vm-team-chat-vllm")["spec"] == {
            "endpoints": [{"fqdn": {"hostname": "vllm.llm", "port": 8000}}]
        }
        assert stored(kmock, SERVICE_BACKENDS, "vm-team-chat-openai")["spec"]["schema"] == {
            "name": "OpenAI",
            "prefix": "/v1",
        }
        secret = stored(kmock, SECRETS, "vm-team-chat-openai")
        assert base64.b64decode(secret["data"]["apiKey"]).decode() == KEY
        assert stored(kmock, SECURITY, "vm-team-chat-openai")["spec"] == {
            "type": "APIKey",
            "apiKey": {"secretRef": {"name": "vm-team-chat-openai"}},
            "targetRefs": [
                {
                    "group": "aigateway.envoyproxy.io",
                    "kind": "AIServiceBackend",
                    "name": "vm-team-chat-openai",
                }
            ],
        }
        assert not exists(kmock, SECRETS, "vm-team-chat-vllm")  # no key, no Secret
        retry = stored(kmock, TRAFFIC, "vm-team-chat")["spec"]["retry"]
        assert (retry["numRetries"], retry["numAttemptsPerPriority"]) == (1, 1)
        assert retry["retryOn"]["httpStatusCodes"] == [429, 500, 502, 503, 504]
        creates = len(calls(kmock, kmock.action.CREATE))
        assert creates == 8

        # The gateway accepts the route: the placement is ready, with the gateway's endpoint.
        set_status(
            kmock,
            ROUTES,
            "vm-team-chat",
            {
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "",
                        "lastTransitionTime": "2026-12-02T12:00:00Z",
                    }
                ]
            },
        )
        await reconcile()
        [placed] = (await call("GET", f"{BASE}/chat"))["deployments"]
        assert (placed["state"], placed["endpoint"]) == (
            "READY",
            "http://llm.models.example.com/v1",
        )
        [routed] = (await call("GET", f"{BASE}/chat/routing"))["deployments"]
        assert (routed["cooling"], routed["cooling_error"][:14]) == ([], "on Kubernetes,")

        # A weight change: one patch of the route, nothing created.
        patches = len(calls(kmock, kmock.action.UPDATE))
        await call("PATCH", f"{BASE}/chat/backends/{vllm['id']}", {"weight": 30})
        await reconcile()
        assert len(calls(kmock, kmock.action.UPDATE)) == patches + 1
        assert len(calls(kmock, kmock.action.CREATE)) == creates
        weights = [
            r["weight"]
            for r in stored(kmock, ROUTES, "vm-team-chat")["spec"]["rules"][0]["backendRefs"]
        ]
        assert weights == [70, 30]
        await reconcile()  # nothing changed: nothing written
        assert len(calls(kmock, kmock.action.UPDATE)) == patches + 1

        # A rotated key: only its Secret changes. A new upstream name: only the route.
        await call("PATCH", f"{BASE}/chat/backends/{openai['id']}", {"api_key": "sk-rotated-1"})
        await reconcile()
        secret = stored(kmock, SECRETS, "vm-team-chat-openai")
        assert base64.b64decode(secret["data"]["apiKey"]).decode() == "sk-rotated-1"
        assert len(calls(kmock, kmock.action.UPDATE)) == patches + 2
        await call("PATCH", f"{BASE}/chat/backends/{vllm['id']}", {"priority": 2})
        await reconcile()
        refs = stored(kmock, ROUTES, "vm-team-chat")["spec"]["rules"][0]["backendRefs"]
        assert [r["priority"] for r in refs] == [0, 2]
        assert len(calls(kmock, kmock.action.UPDATE)) == patches + 3
        # An inactive model is answered nowhere: its objects go; active again, they return.
        await call("PATCH", f"{BASE}/chat", {"status": "inactive"})
        await reconcile()
        assert not exists(kmock, ROUTES, "vm-team-chat")
        await call("PATCH", f"{BASE}/chat", {"status": "active"})
        await reconcile()
        crds.validate(stored(kmock, ROUTES, "vm-team-chat"))

        # A backend removed: its objects go, its key's Secret with them.
        await call("DELETE", f"{BASE}/chat/backends/{openai['id']}")
        await reconcile()
        for resource in (SERVICE_BACKENDS, BACKENDS, SECURITY, SECRETS):
            assert not exists(kmock, resource, "vm-team-chat-openai"), resource
        assert exists(kmock, BACKENDS, "vm-team-chat-vllm")

        # Undeployed: nothing of it is left.
        await call("POST", f"{BASE}/chat/undeploy", {"env": "kserve-prod"})
        await reconcile()
        for resource, name in (
            (ROUTES, "vm-team-chat"),
            (TRAFFIC, "vm-team-chat"),
            (BACKENDS, "vm-team-chat-vllm"),
        ):
            assert not exists(kmock, resource, name), resource
    finally:
        await worker.backends.close()
        await http.close()


async def test_a_kubernetes_environment_without_a_gateway_is_refused(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    h = bearer(admin)
    await factory.project("team")
    await api.post(BASE, headers=h, json={"name": "chat", "project": "team"})
    kubeconfig = emulator.kubeconfig_text("http://127.0.0.1:1")
    await api.post("/api/v1/clusters", headers=h, json={"name": "c", "kubeconfig": kubeconfig})
    await api.post(
        "/api/v1/environment",
        headers=h,
        json={"name": "kuberay-prod", "backend": "kuberay", "cluster": "c"},
    )
    refused = await api.post(f"{BASE}/chat/deploy", headers=h, json={"env": "kuberay-prod"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "LLM_ROUTER_UNSUPPORTED")
