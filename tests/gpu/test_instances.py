"""GPU instances through the API: placement on the sample catalog (a dry run explains the
choice; nothing fitting is a 422 naming the largest type), creation, the history of every move,
drain and terminate, heartbeats (a RECOVERING instance comes back when they resume), spot
preemption replaced as the policy says, and discovery of the READY ones, least loaded first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from galapagos_core.gpu import lifecycle
from galapagos_core.gpu.catalog import import_catalog
from galapagos_core.gpu.discovery import Discovery, Endpoint, MemoryStore
from galapagos_core.gpu.instances import GpuInstanceService
from galapagos_core.gpu.specs import GpuInstanceCreate
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.errors import InvalidInput
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.services import Services
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend, GpuInstanceStatus, ProjectRole
from galapagos_model.gpu import GpuInstance, LlmModel
from tests.factories import Factory, bearer
from tests.gpu.test_catalog import sample
from tests.gpu.test_instances_ray import CATALOG as RAY_CATALOG

BASE = "/api/v1/gpu-instances"
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"
S = GpuInstanceStatus


@pytest.fixture
async def catalog(factory: Factory) -> None:
    await import_catalog(sample())
    await factory.project("llm")
    await Environment.create(
        name="gpu", backend=EnvironmentBackend.KSERVE, env_configs={"namespace": "serving"}
    )


async def _call(
    api: httpx.AsyncClient, token: str, method: str, path: str, body: Any = None, **params: Any
) -> httpx.Response:
    return await api.request(method, path, headers=bearer(token), json=body, params=params)


async def _ready(instance_id: str, url: str) -> None:
    """What the reconciler does once the backend shows the instance answering."""
    instance = await GpuInstance.get(id=instance_id)
    await lifecycle.move(instance, S.BOOTING, "its machine is up")
    await lifecycle.move(instance, S.READY, "answers", endpoint=url)


@pytest.mark.usefixtures("catalog")
async def test_a_dry_run_explains_the_choice_and_nothing_fitting_is_a_422(
    api: httpx.AsyncClient, admin: str
) -> None:
    body = {"model_id": MISTRAL, "project": "llm", "env": "gpu"}
    answer = await _call(api, admin, "POST", BASE, body, dry_run="true")
    assert answer.status_code == 202, answer.text
    plan = answer.json()["data"]
    # 15 GB of weights and a fifth more: 18 GB. The T4s (16 GB) are too small; the cheapest
    # spot offer that fits is an L4 (g6.xlarge, $0.3508/h), the same in every zone.
    assert plan["needed_vram_gb"] == 18
    assert plan["chosen"] == {
        "instance_type": "g6.xlarge",
        "zone": "us-east-1a",
        "capacity": "spot",
        "hourly_price": "0.3508",
    }
    reasons = {(r["instance_type"], r["zone"], r["reason"]): r["detail"] for r in plan["rejected"]}
    assert reasons["g4dn.xlarge", "us-east-1a", "too small"] == "1 x 16 GB = 16 GB < 18 GB"
    assert reasons["g5.xlarge", "us-east-1b", "price"] == "spot at $0.4024/h > $0.3508/h"
    assert reasons["g6.xlarge", "us-east-1a", "policy"] == (
        "on_demand at $0.8048/h: spot is preferred"
    )
    assert await GpuInstance.all().count() == 0  # a dry run places nothing

    on_demand = await _call(
        api, admin, "POST", BASE, {**body, "capacity": "on_demand"}, dry_run="true"
    )
    assert on_demand.json()["data"]["chosen"]["capacity"] == "on_demand"
    assert on_demand.json()["data"]["chosen"]["hourly_price"] == "0.8048"

    await LlmModel.create(
        name="huge", model_id="big/huge-1T", required_vram_gb=700, context_length=8192
    )
    refused = await _call(api, admin, "POST", BASE, {**body, "model_id": "big/huge-1T"})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "NO_INSTANCE_TYPE_FITS"
    assert refused.json()["message"] == (
        "'big/huge-1T' needs 840 GB of GPU memory (weights and headroom); the largest type, "
        "p5.48xlarge, has 8 x 80 GB = 640 GB"
    )
    assert await GpuInstance.all().count() == 0

    unknown = await _call(api, admin, "POST", BASE, {**body, "model_id": "no/such"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "LLM_MODEL_NOT_FOUND")


@pytest.mark.usefixtures("catalog")
async def test_an_instance_is_placed_drained_and_its_history_kept(
    api: httpx.AsyncClient, admin: str, factory: Factory, server: Any
) -> None:
    editor = await factory.member("llm", "ada", ProjectRole.EDITOR)
    viewer = await factory.member("llm", "bob", ProjectRole.VIEWER)
    stranger = await factory.member("other", "eve", ProjectRole.OWNER)
    body = {"model_id": MISTRAL, "project": "llm", "env": "gpu", "capacity": "spot"}
    assert (await _call(api, viewer, "POST", BASE, body)).status_code == 403
    created = await _call(api, editor, "POST", BASE, body)
    assert created.status_code == 202, created.text
    instance = created.json()["data"]
    assert instance["status"] == "PROVISIONING"
    assert (instance["instance_type"], instance["zone"], instance["capacity"]) == (
        "g6.xlarge",
        "us-east-1a",
        "spot",
    )
    assert instance["gpu_profile"] == {
        "gpu_model": "L4", "gpu_count": 1, "vram_per_gpu_gb": 24, "vram_gb": 24,
    }  # fmt: skip
    path = f"{BASE}/{instance['id']}"
    assert (await _call(api, stranger, "GET", path)).status_code == 404
    listed = (await _call(api, viewer, "GET", BASE)).json()["data"]
    assert [i["id"] for i in listed["data"]] == [instance["id"]]
    assert (await _call(api, stranger, "GET", BASE)).json()["data"]["total"] == 0

    await _ready(instance["id"], "http://mistral.serving/openai/v1")
    services: Services = server[1].state["services"]
    await services.discovery.refresh()
    found = await _call(api, viewer, "GET", f"/api/v1/discovery/models/{MISTRAL}/instances")
    assert [i["url"] for i in found.json()["data"]["instances"]] == [
        "http://mistral.serving/openai/v1"
    ]

    drained = await _call(api, editor, "POST", f"{path}/drain")
    assert (drained.status_code, drained.json()["data"]["status"]) == (202, "DRAINING")
    # Out of discovery at once, in this process, without waiting for a refresh.
    found = await _call(api, viewer, "GET", f"/api/v1/discovery/models/{MISTRAL}/instances")
    assert found.json()["data"]["instances"] == []
    again = await _call(api, editor, "DELETE", path)  # terminate now: the deadline moves
    assert again.status_code == 202
    shown = (await _call(api, viewer, "GET", path)).json()["data"]
    assert [e["status"] for e in shown["events"]] == [
        "PROVISIONING", "BOOTING", "READY", "DRAINING",
    ]  # fmt: skip
    assert shown["events"][0]["message"].startswith("placed: g6.xlarge in us-east-1a, spot at")
    assert shown["events"][3]["message"] == "drained by ada"

    instance_row = await GpuInstance.get(id=instance["id"])
    await lifecycle.move(instance_row, S.TERMINATED, "drained: nothing in flight")
    for method, what in (("POST", "/drain"), ("DELETE", ""), ("POST", "/heartbeat")):
        late = await _call(api, editor, method, f"{path}{what}", {"load": 0} if what else None)
        assert (late.status_code, late.json()["error"]["code"]) == (409, "INVALID_TRANSITION")
    assert (await _call(api, editor, "GET", f"{BASE}/nope")).status_code == 404


@pytest.mark.usefixtures("catalog")
async def test_heartbeats_order_discovery_and_bring_a_recovering_instance_back(
    api: httpx.AsyncClient, admin: str, server: Any
) -> None:
    body = {"model_id": MISTRAL, "project": "llm", "env": "gpu"}
    ids = [(await _call(api, admin, "POST", BASE, body)).json()["data"]["id"] for _ in range(3)]
    for n, instance_id in enumerate(ids):
        await _ready(instance_id, f"http://mistral-{n}.serving/openai/v1")
    for instance_id, load in zip(ids, (5, 1, 3), strict=True):
        beat = await _call(api, admin, "POST", f"{BASE}/{instance_id}/heartbeat", {"load": load})
        assert beat.status_code == 200, beat.text
    services: Services = server[1].state["services"]
    path = f"/api/v1/discovery/models/{MISTRAL}/instances"
    listed = (await _call(api, admin, "GET", path)).json()["data"]["instances"]
    assert [(i["instance_id"], i["load"]) for i in listed] == [
        (ids[1], 1), (ids[2], 3), (ids[0], 5),
    ]  # fmt: skip

    recovering = await GpuInstance.get(id=ids[1])
    await lifecycle.move(recovering, S.RECOVERING, "no heartbeat for 31s (limit 30s)")
    await services.discovery.refresh()  # another process's write, read from the database
    listed = (await _call(api, admin, "GET", path)).json()["data"]["instances"]
    assert [i["instance_id"] for i in listed] == [ids[2], ids[0]]
    back = await _call(api, admin, "POST", f"{BASE}/{ids[1]}/heartbeat", {"load": 0})
    assert back.json()["data"]["status"] == "READY"
    listed = (await _call(api, admin, "GET", path)).json()["data"]["instances"]
    assert [i["instance_id"] for i in listed] == [ids[1], ids[2], ids[0]]
    events = (await _call(api, admin, "GET", f"{BASE}/{ids[1]}")).json()["data"]["events"]
    assert events[-1] == {**events[-1], "status": "READY", "message": "heartbeats resumed"}

    negative = await _call(api, admin, "POST", f"{BASE}/{ids[0]}/heartbeat", {"load": -1})
    assert negative.status_code == 422


@pytest.mark.usefixtures("catalog")
async def test_a_refresh_reads_only_what_changed_since_the_previous_one(
    api: httpx.AsyncClient, admin: str
) -> None:
    body = {"model_id": MISTRAL, "project": "llm", "env": "gpu"}
    for _ in range(3):
        assert (await _call(api, admin, "POST", BASE, body)).status_code == 202
    # Written together a minute ago, and nothing since.
    await GpuInstance.all().update(updated_at=datetime.now(UTC) - timedelta(minutes=1))
    told: list[int] = []

    class Counting(MemoryStore):
        async def tell(self, endpoints: list[Endpoint]) -> None:
            told.append(len(endpoints))
            await super().tell(endpoints)

    discovery = Discovery(Counting(), 1)
    await discovery.refresh()  # every live instance, the first time
    await discovery.refresh()
    assert told == [3, 0]


@pytest.mark.usefixtures("catalog")
async def test_a_preempted_spot_instance_is_replaced_as_its_policy_says(
    api: httpx.AsyncClient, admin: str
) -> None:
    body = {"model_id": MISTRAL, "project": "llm", "env": "gpu"}
    fallback = (await _call(api, admin, "POST", BASE, body)).json()["data"]
    spot_only = (await _call(api, admin, "POST", BASE, {**body, "capacity": "spot"})).json()
    spot_only = spot_only["data"]
    for instance in (fallback, spot_only):
        await _ready(instance["id"], f"http://{instance['name']}.serving/openai/v1")
        notice = {"load": 2, "preempted": True}
        told = await _call(api, admin, "POST", f"{BASE}/{instance['id']}/heartbeat", notice)
        assert told.json()["data"]["status"] == "DRAINING", told.text
        again = await _call(api, admin, "POST", f"{BASE}/{instance['id']}/heartbeat", notice)
        assert again.status_code == 200  # told twice: replaced once

    def replacement_of(instance: dict[str, Any]) -> Any:
        return GpuInstance.get(replaces_id=instance["id"]).select_related("instance_type", "zone")

    # Spot with on-demand fallback: the replacement is on-demand.
    first = await replacement_of(fallback)
    assert (first.capacity, first.instance_type.name, first.status) == (
        "on_demand",
        "g6.xlarge",
        S.PROVISIONING,
    )
    # Spot only: spot again, elsewhere than the reclaimed offer.
    second = await replacement_of(spot_only)
    assert (second.capacity, second.instance_type.name, second.zone.name) == (
        "spot",
        "g6.xlarge",
        "us-east-1b",
    )
    events = (await _call(api, admin, "GET", f"{BASE}/{fallback['id']}")).json()["data"]
    moves = [(e["status"], e["message"]) for e in events["events"]][-2:]
    assert [m[0] for m in moves] == ["RECOVERING", "DRAINING"]
    assert moves[0][1].startswith(
        "preempted: the provider reclaims its spot g6.xlarge in us-east-1a; replaced by "
        f"{first.name} (g6.xlarge in us-east-1a, on_demand)"
    )
    assert await GpuInstance.all().count() == 4


@pytest.mark.usefixtures("catalog")
async def test_a_local_ray_without_gpus_refuses(settings: Settings) -> None:
    await Environment.create(name="local", ray_address="local")
    await import_catalog(sample(RAY_CATALOG))
    body = GpuInstanceCreate(model_id=MISTRAL, project="llm", env="local")
    without = GpuInstanceService(settings.gpu, Discovery(MemoryStore(), 1), Wakeup(), local_gpus=0)
    with pytest.raises(InvalidInput) as refused:
        await without.create(Actor.system("test"), body)
    assert refused.value.code == "ENVIRONMENT_HAS_NO_GPUS"
    assert "GALAPAGOS_RAY__NUM_GPUS" in str(refused.value)
    with_one = GpuInstanceService(settings.gpu, Discovery(MemoryStore(), 1), Wakeup(), local_gpus=1)
    placed = await with_one.create(Actor.system("test"), body)
    assert (placed.instance_type.name, placed.backend) == ("l4-node", "ray")
