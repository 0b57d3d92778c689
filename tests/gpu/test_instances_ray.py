"""A GPU instance on a real local Ray whose head declares one L4 (the test machine has none):
the instance type is the Ray cluster's GPU node, the engine the CPU stand-in. The worker runs
it as a Serve application holding the GPU, follows it to READY, discovery lists it, it answers
OpenAI's API at its endpoint; terminated, the application goes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import openai
import pytest

from galapagos_core.gpu.catalog import import_catalog
from galapagos_core.worker import Worker
from tests.deployments.test_deploy_ray import _ok, _ray_apps
from tests.factories import Factory, bearer
from tests.gpu.test_catalog import SAMPLE, sample

pytestmark = pytest.mark.ray
BASE = "/api/v1/gpu-instances"
MODEL = "galapagos/standin-tiny"
CATALOG = SAMPLE.parent / "local-ray.yaml"


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.5)


@pytest.mark.timeout(600)
async def test_a_gpu_instance_runs_on_a_ray_that_declares_gpus(
    api: httpx.AsyncClient, admin: str, running: Worker, factory: Factory
) -> None:
    h = bearer(admin)
    await import_catalog(sample(CATALOG))
    await factory.project("llm")
    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=h,
            json={
                "name": "local",
                "ray_address": "local",
                "environment_configs": {"llm_engine": "standin"},
            },
        )
    )
    body = {"model_id": MODEL, "project": "llm", "env": "local", "capacity": "on_demand"}
    instance = await _ok(await api.post(BASE, headers=h, json=body))
    assert (instance["instance_type"], instance["backend"]) == ("l4-node", "ray")
    path = f"{BASE}/{instance['id']}"

    async def status() -> str:
        return str((await _ok(await api.get(path, headers=h)))["status"])

    async def ready() -> bool:
        current = await status()
        assert current not in ("FAILED", "TERMINATED"), await api.get(path, headers=h)
        return current == "READY"

    await _until(ready)
    shown = await _ok(await api.get(path, headers=h))
    assert [e["status"] for e in shown["events"]] == ["PROVISIONING", "BOOTING", "READY"]
    app = (await _ray_apps(running))[instance["name"]]
    [deployment] = app["deployments"].values()
    options = app["deployed_app_config"]["args"]["llm_config"]
    assert options["accelerator_type"] == "L4"
    assert [r["state"] for r in deployment["replicas"]] == ["RUNNING"]

    endpoint = shown["endpoint"]
    async with httpx.AsyncClient(timeout=30) as client:
        models = (await client.get(f"{endpoint}/models")).json()
        assert [m["id"] for m in models["data"]] == [MODEL]
        chat = await client.post(
            f"{endpoint}/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert chat.json()["choices"][0]["message"]["content"] == f"{MODEL} (stand-in engine)"

    async def discovered() -> bool:
        found = await _ok(await api.get(f"/api/v1/discovery/models/{MODEL}/instances", headers=h))
        return [i["url"] for i in found["instances"]] == [endpoint]

    await _until(discovered, 10)

    # A virtual model naming the catalog model: the environment's LLM router sends its
    # requests to the instance, under the model's id.
    models = "/api/v1/virtual-models"
    await _ok(await api.post(models, headers=h, json={"name": "chat", "project": "llm"}))
    backend = {"kind": "model", "model_id": MODEL}
    await _ok(await api.post(f"{models}/chat/backends", headers=h, json=backend))
    placed = await _ok(
        await api.post(
            f"{models}/chat/deploy", headers=h, params={"wait": "true"}, json={"env": "local"}
        )
    )
    assert placed["state"] == "READY", placed
    async with openai.AsyncOpenAI(
        base_url=placed["endpoint"], api_key=admin, max_retries=0
    ) as client:
        chat = await client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
    assert chat.choices[0].message.content == f"{MODEL} (stand-in engine)"
    await _ok(await api.post(f"{models}/chat/undeploy", headers=h, json={"env": "local"}))

    await _ok(await api.delete(path, headers=h))

    async def gone() -> bool:
        return await status() == "TERMINATED" and instance["name"] not in await _ray_apps(running)

    await _until(gone, 120)
    found = await _ok(await api.get(f"/api/v1/discovery/models/{MODEL}/instances", headers=h))
    assert found["instances"] == []
