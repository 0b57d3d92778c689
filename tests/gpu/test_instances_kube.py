"""GPU instances on an emulated Kubernetes (KMock), driven through the API and the worker's
reconciler: a 7B and a 70B model on KServe (the Hugging Face runtime on vLLM) and on KubeRay
(Ray Serve LLM), every object valid against its CRD with the instance type's GPUs, node pool
and taints; the operators' status documents move each instance from PROVISIONING through
BOOTING to READY; missed heartbeats and a drain with requests in flight; a terminated
instance's object is deleted."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
import kmock
import pytest
import yaml

from galapagos_core.gpu.catalog import import_catalog
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.worker import make_worker
from tests.factories import Factory, bearer
from tests.gpu.test_catalog import sample
from tests.kube import crds, emulator
from tests.kube.emulator import ISVC, NAMESPACE, RAYSERVICE, exists, set_status, stored
from tests.virtual_models.test_ai_gateway import (
    BACKENDS,
    GATEWAY,
    ROUTES,
    SERVICE_BACKENDS,
    TRAFFIC,
)
from tests.virtual_models.test_ai_gateway import BASE as VIRTUAL_MODELS

BASE = "/api/v1/gpu-instances"
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def _kserve_status(model_state: str | None, ready: bool, name: str = "") -> dict[str, Any]:
    """An InferenceService as KServe reports it: the model's state, then Ready."""
    status: dict[str, Any] = {
        "observedGeneration": 1,
        "conditions": [
            {"type": "PredictorReady", "status": "True" if ready else "False"},
            {"type": "Ready", "status": "True" if ready else "False"},
        ],
    }
    if model_state is not None:
        status["modelStatus"] = {
            "transitionStatus": "UpToDate" if ready else "InProgress",
            "states": {"activeModelState": model_state, "targetModelState": model_state},
        }
    if ready:
        status["url"] = f"http://{name}.{NAMESPACE}.example.com"
    return status


def _rayservice_status(name: str, app: str | None) -> dict[str, Any]:
    """A RayService as KubeRay reports it: its cluster's application, then Ready."""
    status: dict[str, Any] = {"observedGeneration": 1}
    if app is not None:
        status["activeServiceStatus"] = {
            "rayClusterName": f"{name}-raycluster-q8f2k",
            "applicationStatuses": {name: {"status": app}},
        }
        status["conditions"] = [
            {"type": "Ready", "status": "True" if app == "RUNNING" else "False"}
        ]
    return status


@pytest.mark.parametrize("backend", ["kserve", "kuberay"])
async def test_gpu_instances_are_rendered_and_followed_to_ready(
    backend: str,
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    factory: Factory,
) -> None:
    emulator.prepare(kmock, ISVC, RAYSERVICE, ROUTES, SERVICE_BACKENDS, BACKENDS, TRAFFIC)
    h = bearer(admin)

    async def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await api.request(method, path, headers=h, json=body)
        assert response.status_code < 300, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    await import_catalog(sample())
    await factory.project("llm")
    kubeconfig = emulator.kubeconfig_text(str(kmock.url))
    await call("POST", "/api/v1/clusters", {"name": "kmock", "kubeconfig": kubeconfig})
    env = {"name": "gpu", "backend": backend, "cluster": "kmock"}
    await call(
        "POST",
        "/api/v1/environment",
        {**env, "environment_configs": {"namespace": NAMESPACE, "gateway": GATEWAY}},
    )
    small = await call("POST", BASE, {"model_id": MISTRAL, "project": "llm", "env": "gpu"})
    large = await call(
        "POST",
        BASE,
        {"model_id": LLAMA_70B, "project": "llm", "env": "gpu", "capacity": "on_demand"},
    )
    # 141 GB of weights and a fifth more need 170 GB: four L40S (192 GB) on demand.
    assert (large["instance_type"], large["capacity"]) == ("g6e.12xlarge", "on_demand")
    assert (small["instance_type"], small["capacity"]) == ("g6.xlarge", "spot")

    quick = settings.model_copy(
        update={"gpu": settings.gpu.model_copy(update={"heartbeat_timeout_seconds": 1})}
    )
    http = HttpClient(timeout=10)
    worker = make_worker(quick, server[1].state["services"], http)
    resource = ISVC if backend == "kserve" else RAYSERVICE

    async def reconcile() -> None:
        assert await worker.reconciler.run_once() == 1

    async def status_of(instance: dict[str, Any]) -> str:
        return str((await call("GET", f"{BASE}/{instance['id']}"))["status"])

    try:
        await reconcile()
        for instance, gpus, product in ((small, 1, "L4"), (large, 4, "L40S")):
            obj = stored(kmock, resource, instance["name"])
            crds.validate(obj)
            pool = {
                "karpenter.sh/capacity-type": "spot" if instance is small else "on-demand",
                "node.kubernetes.io/instance-type": instance["instance_type"],
            }
            if backend == "kserve":
                predictor = obj["spec"]["predictor"]
                assert predictor["nodeSelector"] == pool
                assert predictor["tolerations"] == [GPU_TAINT]
                model = predictor["model"]
                assert model["modelFormat"] == {"name": "huggingface"}
                assert model["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
                assert f"--model_id={instance['model_id']}" in model["args"]
                assert "--backend=vllm" in model["args"]
                assert f"--tensor-parallel-size={gpus}" in model["args"]
            else:
                [workers] = obj["spec"]["rayClusterConfig"]["workerGroupSpecs"]
                pod = workers["template"]["spec"]
                assert pod["nodeSelector"] == pool
                assert pod["tolerations"] == [GPU_TAINT]
                [container] = pod["containers"]
                assert container["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
                assert container["image"].startswith("rayproject/ray-llm:")
                [app] = yaml.safe_load(obj["spec"]["serveConfigV2"])["applications"]
                config = app["args"]["llm_config"]
                assert config["model_loading_config"]["model_source"] == instance["model_id"]
                assert config["accelerator_type"] == product
                assert config["engine_kwargs"]["tensor_parallel_size"] == gpus
            assert await status_of(instance) == "PROVISIONING"
        if backend == "kserve":
            engine_args = stored(kmock, ISVC, large["name"])["spec"]["predictor"]["model"]["args"]
            assert "--max-model-len=32768" in engine_args  # the catalog's engine arguments

        def report(instance: dict[str, Any], phase: str) -> None:
            name = instance["name"]
            if backend == "kserve":
                documents = {
                    "pending": _kserve_status("Pending", False),
                    "loading": _kserve_status("Loading", False),
                    "ready": _kserve_status("Loaded", True, name),
                }
            else:
                documents = {
                    "pending": _rayservice_status(name, None),
                    "loading": _rayservice_status(name, "DEPLOYING"),
                    "ready": _rayservice_status(name, "RUNNING"),
                }
            set_status(kmock, resource, name, documents[phase])

        for phase, expected in (
            ("pending", "PROVISIONING"),
            ("loading", "BOOTING"),
            ("ready", "READY"),
        ):
            for instance in (small, large):
                report(instance, phase)
            await reconcile()
            assert [await status_of(i) for i in (small, large)] == [expected] * 2, phase
        shown = await call("GET", f"{BASE}/{small['id']}")
        if backend == "kserve":
            assert shown["endpoint"] == f"http://{small['name']}.{NAMESPACE}.example.com/openai/v1"
        else:
            assert shown["endpoint"] == (
                f"http://{small['name']}-serve-svc.{NAMESPACE}.svc:8000/{small['name']}/v1"
            )
        # A virtual model naming the catalog model is routed to its READY instance.
        await call("POST", VIRTUAL_MODELS, {"name": "chat", "project": "llm"})
        await call(
            "POST", f"{VIRTUAL_MODELS}/chat/backends", {"kind": "model", "model_id": MISTRAL}
        )
        await call("POST", f"{VIRTUAL_MODELS}/chat/deploy", {"env": "gpu"})
        await reconcile()
        route = stored(kmock, ROUTES, "vm-llm-chat")
        [ref] = route["spec"]["rules"][0]["backendRefs"]
        assert (ref["weight"], ref["modelNameOverride"]) == (1, MISTRAL)
        upstream = urlsplit(shown["endpoint"])
        for obj in (route, stored(kmock, SERVICE_BACKENDS, ref["name"])):
            crds.validate(obj)
        assert stored(kmock, SERVICE_BACKENDS, ref["name"])["spec"]["schema"] == {
            "name": "OpenAI",
            "prefix": upstream.path,
        }
        assert stored(kmock, BACKENDS, ref["name"])["spec"]["endpoints"] == [
            {"fqdn": {"hostname": upstream.hostname, "port": upstream.port or 80}}
        ]

        services = server[1].state["services"]
        await services.discovery.refresh()
        found = await call("GET", f"/api/v1/discovery/models/{MISTRAL}/instances")
        assert [i["instance_id"] for i in found["instances"]] == [small["id"]]

        # Heartbeats that stop: RECOVERING (out of discovery); back when they resume.
        await call("POST", f"{BASE}/{small['id']}/heartbeat", {"load": 0})
        await asyncio.sleep(1.2)
        await reconcile()
        assert await status_of(small) == "RECOVERING"
        await services.discovery.refresh()
        found = await call("GET", f"/api/v1/discovery/models/{MISTRAL}/instances")
        assert found["instances"] == []
        await reconcile()  # still ready on the backend, but silent: stays RECOVERING
        assert await status_of(small) == "RECOVERING"
        assert stored(kmock, ROUTES, "vm-llm-chat")["spec"]["rules"][0]["backendRefs"] == []
        assert not exists(kmock, SERVICE_BACKENDS, ref["name"])
        await call("POST", f"{BASE}/{small['id']}/heartbeat", {"load": 2})
        assert await status_of(small) == "READY"

        # A drain with two requests in flight keeps the object until they finish.
        await call("POST", f"{BASE}/{small['id']}/drain")
        await reconcile()
        assert await status_of(small) == "DRAINING"
        assert exists(kmock, resource, small["name"])
        await call("POST", f"{BASE}/{small['id']}/heartbeat", {"load": 0})
        await reconcile()
        assert await status_of(small) == "TERMINATED"
        assert not exists(kmock, resource, small["name"])
        assert exists(kmock, resource, large["name"])
        events = (await call("GET", f"{BASE}/{small['id']}"))["events"]
        assert [e["status"] for e in events] == [
            "PROVISIONING", "BOOTING", "READY", "RECOVERING", "READY", "DRAINING", "TERMINATED",
        ]  # fmt: skip
        assert events[-1]["message"] == "drained: nothing in flight"

        # The operator reports a failure: FAILED, with its words.
        failed = _kserve_status("FailedToLoad", False) if backend == "kserve" else None
        if failed is not None:
            failed["conditions"][1] |= {
                "reason": "InferenceServiceFailed", "message": "CUDA out of memory",
            }  # fmt: skip
            set_status(kmock, resource, large["name"], failed)
            await reconcile()
            shown = await call("GET", f"{BASE}/{large['id']}")
            assert (shown["status"], shown["status_message"]) == ("FAILED", "CUDA out of memory")
    finally:
        await worker.backends.close()
        await http.close()
