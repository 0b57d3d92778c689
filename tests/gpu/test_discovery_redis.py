"""Discovery shared through Redis (Debian's redis-server, started by ``scripts/redis.sh``) by
two API replicas: what the worker wrote reaches every replica through one replica's refresh;
a heartbeat or a drain taken by one is the other's answer at once; the seed's keys; older
news never overwrites newer; Redis down is a 503 ``DISCOVERY_UNAVAILABLE`` while heartbeats
still land in the database, and everything is back after Redis restarts empty."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from galapagos_app.main import create_app
from galapagos_core.gpu.discovery import DiscoveryUnavailable, endpoint_of
from galapagos_core.kernel.config import Settings
from galapagos_core.services import Services
from galapagos_model.gpu import GpuInstance
from tests.conftest import _free_port, _StatefulApp
from tests.factories import bearer
from tests.gpu.test_instances import BASE, MISTRAL, _ready, catalog  # noqa: F401

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redis.sh"
FOUND = f"/api/v1/discovery/models/{MISTRAL}/instances"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A private Redis: its URL, and the command that starts it again."""
    port = _free_port()
    start = [str(SCRIPT), "start", str(tmp_path / "redis"), str(port)]
    subprocess.run(start, check=True, timeout=600)
    try:
        yield f"redis://127.0.0.1:{port}/0", start
    finally:
        subprocess.run([str(SCRIPT), "stop", str(tmp_path / "redis")], check=True)


@contextlib.asynccontextmanager
async def _replica(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """One more API replica on the same database, answering in process."""
    app = _StatefulApp(create_app(services.settings), {"services": services})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
        yield client


async def _listed(api: httpx.AsyncClient, token: str) -> list[tuple[str, float]]:
    answer = await api.get(FOUND, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [(i["instance_id"], i["load"]) for i in answer.json()["data"]["instances"]]


@pytest.mark.usefixtures("catalog")
async def test_two_replicas_share_discovery_through_redis(
    settings: Settings, admin: str, redis_server: tuple[str, list[str]]
) -> None:
    url, restart = redis_server
    shared = settings.model_copy(update={"gpu": settings.gpu.model_copy(update={"redis_url": url})})
    a, b = Services.build(shared), Services.build(shared)
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    h = bearer(admin)
    try:
        async with _replica(a) as api_a, _replica(b) as api_b:
            body = {"model_id": MISTRAL, "project": "llm", "env": "gpu"}
            ids = []
            for n in range(2):
                created = await api_a.post(BASE, headers=h, json=body)
                assert created.status_code == 202, created.text
                ids.append(created.json()["data"]["id"])
                await _ready(ids[-1], f"http://mistral-{n}.serving/openai/v1")

            # The worker's moves are in the database: one replica's refresh tells Redis,
            # and the other answers them without having read the database.
            assert await _listed(api_b, admin) == []
            await a.discovery.refresh()
            assert {i for i, _ in await _listed(api_b, admin)} == set(ids)
            assert await raw.smembers(f"catalog:model:{MISTRAL}:instances") == set(ids)
            held = await raw.hgetall(f"instance:{ids[0]}")
            assert {k: held[k] for k in ("ip", "port", "status")} == {
                "ip": "mistral-0.serving",
                "port": "80",
                "status": "READY",
            }
            before = await GpuInstance.get(id=ids[1]).select_related("llm_model")

            # A heartbeat taken by A is B's answer at once.
            for instance_id, load in zip(ids, (4, 1), strict=True):
                beat = await api_a.post(
                    f"{BASE}/{instance_id}/heartbeat", headers=h, json={"load": load}
                )
                assert beat.status_code == 200, beat.text
            assert await _listed(api_b, admin) == [(ids[1], 1), (ids[0], 4)]
            assert (await raw.hgetall(f"instance:{ids[1]}"))["current_load"] == "1.0"

            # A refresh that read a row before that heartbeat cannot put its load back.
            await b.discovery.store.tell([endpoint_of(before)])
            assert await _listed(api_a, admin) == [(ids[1], 1), (ids[0], 4)]

            # A drain taken by B leaves A's answer at once; the hash stays a while, unlisted.
            drained = await api_b.post(f"{BASE}/{ids[1]}/drain", headers=h)
            assert drained.status_code == 202, drained.text
            assert await _listed(api_a, admin) == [(ids[0], 4)]
            assert (await raw.hgetall(f"instance:{ids[1]}"))["status"] == "DRAINING"
            assert 0 < await raw.ttl(f"instance:{ids[1]}") <= 86_400

            # Redis down: lookups are a 503 with a code; heartbeats still reach the database.
            await raw.shutdown(nosave=True)
            down = await api_b.get(FOUND, headers=h)
            assert (down.status_code, down.json()["error"]["code"]) == (
                503,
                "DISCOVERY_UNAVAILABLE",
            )
            beat = await api_a.post(f"{BASE}/{ids[0]}/heartbeat", headers=h, json={"load": 2})
            assert beat.status_code == 200, beat.text
            assert (await GpuInstance.get(id=ids[0])).current_load == 2
            with pytest.raises(DiscoveryUnavailable):
                await a.discovery.refresh()

            # Back, and empty: the next refresh tells it everything again.
            await asyncio.to_thread(subprocess.run, restart, check=True, timeout=60)
            await a.discovery.refresh()
            assert await _listed(api_b, admin) == [(ids[0], 2)]
    finally:
        await raw.aclose()
        for services in (a, b):
            await services.close()
