"""Rollouts on a real local Ray under steady load. Progressive, gated by the routers' own
metrics: a healthy canary walks every step and is promoted; one that fails a fifth of its
requests is rolled back within two intervals, and clients then see stable's answers only.
Blue-green: the new colour answers on its preview URL, then one switch, no failed request."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from galapagos_core.kernel.config import Settings
from galapagos_core.worker import Worker
from tests.deployments.test_deploy_ray import (
    MODEL,
    _ok,
    _setup,
    worker_process,
)
from tests.factories import bearer
from tests.traffic.test_traffic_ray import TRAFFIC, _eventually, _traffic, _versions, v1_beside

pytestmark = pytest.mark.ray
FLAKY = """
import random

class Model:
    def predict(self, instances):
        if random.random() < 0.2:
            raise RuntimeError("flaky")
        return ["flaky" for _ in instances]
"""
INTERVAL = 6


async def _steady_load(url: str, seen: Counter[str], stop: asyncio.Event, rate: float) -> None:
    """``rate`` requests a second (evenly spaced, each on its own) until stopped; answers
    counted by version, or as failed."""

    async def one(client: httpx.AsyncClient) -> None:
        response = await client.post(url, json={"instances": [[1]]})
        ok = response.status_code == 200
        seen[str(response.json()["predictions"][0]) if ok else "failed"] += 1

    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(timeout=30) as client, asyncio.TaskGroup() as group:
        tick = loop.time()
        while not stop.is_set():
            group.create_task(one(client))
            tick += 1 / rate
            await asyncio.sleep(max(0.0, tick - loop.time()))


async def _start(
    api: httpx.AsyncClient,
    admin: str,
    tmp_path: Path,
    canary: str,
    interval: float = INTERVAL,
    environment_configs: dict[str, Any] | None = None,
) -> str:
    """v1 serving, ``canary`` (a source) rolling out as v2 over two steps (in the environment
    with ``environment_configs``); the serve's URL."""
    await _setup(api, admin)
    if environment_configs:
        await _ok(
            await api.patch(
                "/api/v1/environment/local",
                headers=bearer(admin),
                json={"environment_configs": environment_configs},
            )
        )
    return await v1_beside(
        api,
        admin,
        tmp_path,
        canary,
        "v2",
        {
            "strategy": "canary",
            "variants": [
                {"variant_name": "stable"},
                {"variant_name": "canary", "artifact_version": "v2"},
            ],
            "rollout": {
                "steps": [30, 60],
                "interval_seconds": interval,
                "gates": {"min_requests": 20, "min_success_rate": 0.95, "max_p99_ratio": None},
            },
        },
    )


async def _events(api: httpx.AsyncClient, admin: str, deployment_id: str) -> list[str]:
    detail = await _ok(
        await api.get(f"/api/v1/serve/iris/deployments/{deployment_id}", headers=bearer(admin))
    )
    return [str(e["message"]) for e in detail["events"]]


@contextlib.asynccontextmanager
async def _load(url: str, rate: float = 20) -> Any:
    """Clients calling ``url`` meanwhile: 20 a second leave the two cores room for the
    routers, the worker and Ray's own loops, so that what is timed is the platform's work."""
    seen: Counter[str] = Counter()
    stop = asyncio.Event()
    task = asyncio.create_task(_steady_load(url, seen, stop, rate))
    try:
        yield seen
    finally:
        stop.set()
        await task


@pytest.mark.timeout(600)
async def test_a_healthy_canary_walks_every_step_and_is_promoted(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    url = await _start(api, admin, tmp_path, MODEL.format(version="v2"))
    canary = (await _traffic(api, admin))["variants"][1]
    async with _load(url) as seen:

        async def on_step_one() -> bool:
            return (await _traffic(api, admin))["step_started_at"] is not None

        # Paused, the rollout holds its step for as long as it is paused.
        await _eventually(on_step_one)
        await _ok(await api.post(f"{TRAFFIC}/pause", headers=bearer(admin)))
        await asyncio.sleep(2.5 * INTERVAL)
        held = await _traffic(api, admin)
        assert (held["status"], held["rollout_step"]) == ("paused", 0)
        assert held["variants"][1]["weight"] == 30
        await _ok(await api.post(f"{TRAFFIC}/resume", headers=bearer(admin)))

        async def promoted() -> bool:
            traffic = await _traffic(api, admin)
            return [v["variant_name"] for v in traffic["variants"]] == ["stable"]

        await _eventually(promoted, seconds=180)
    assert seen["failed"] == 0, seen
    assert seen["v2"] > 0
    events = await _events(api, admin, canary["deployment_id"])
    assert any("rollout step 1 of 2 at 30%: pass" in e for e in events), events
    assert any("rollout step 2 of 2 at 60%: pass" in e for e in events), events
    assert any("is stable now: the rollout passed every step" in e for e in events), events
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["artifact_version"] == "v2"
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


@pytest.mark.timeout(600)
async def test_a_canary_failing_a_fifth_of_its_requests_is_rolled_back(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    # A longer interval than the other tests': on two loaded cores a pass that reconfigures
    # the routers takes seconds, and the check is against two of them.
    interval = 10
    url = await _start(api, admin, tmp_path, FLAKY, interval)
    canary = (await _traffic(api, admin))["variants"][1]

    async def rolled_back() -> bool:
        traffic = await _traffic(api, admin)
        return traffic["rollout_step"] is None

    async with _load(url):  # clients are already calling when the canary's first step starts
        await _eventually(rolled_back, seconds=120)
    detail = await _ok(
        await api.get(
            f"/api/v1/serve/iris/deployments/{canary['deployment_id']}", headers=bearer(admin)
        )
    )
    [failed] = [
        e
        for e in detail["events"]
        if "rollout step 1 of 2 at 30%: fail: success rate" in e["message"]
    ]
    # Decided within two intervals of the step's start, by the worker's own clock.
    [started] = [
        e for e in detail["events"] if "rollout step 1 of 2 at 30%: started" in e["message"]
    ]
    decided, step_started = (datetime.fromisoformat(e["created_at"]) for e in (failed, started))
    assert (decided - step_started).total_seconds() <= 2 * interval, (decided, step_started)
    await asyncio.sleep(3)  # the router's table without the canary
    assert set(await _versions(url, 300)) == {"v1"}  # no errors: _versions fails on any
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


@pytest.mark.timeout(600)
async def test_blue_green_previews_then_switches_under_load_without_a_failed_request(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    await _setup(api, admin)
    url = await v1_beside(
        api,
        admin,
        tmp_path,
        MODEL.format(version="v2"),
        "v2",
        {
            "strategy": "blue_green",
            "variants": [
                {"variant_name": "stable"},
                {"variant_name": "green", "artifact_version": "v2"},
            ],
        },
    )

    async def previewing() -> bool:
        traffic = await _traffic(api, admin)
        ready = all(v["status"] == "active" for v in traffic["variants"])
        return ready and traffic["preview_url"] is not None and traffic["router"]["url"] == url

    await _eventually(previewing)
    preview = (await _traffic(api, admin))["preview_url"]
    assert set(await _versions(preview, 50)) == {"v2"}  # the new colour, before the switch
    assert set(await _versions(url, 100)) == {"v1"}  # clients still get the old one

    async with _load(url, rate=50) as seen:
        await asyncio.sleep(3)
        await _ok(
            await api.post(f"{TRAFFIC}/promote", headers=bearer(admin), json={"variant": "green"})
        )

        async def switched_and_drained() -> bool:
            traffic = await _traffic(api, admin)
            return [v["variant_name"] for v in traffic["variants"]] == ["stable"]

        await _eventually(switched_and_drained)
        await asyncio.sleep(3)
    assert seen["failed"] == 0, seen
    assert seen["v1"] > 0, seen
    assert seen["v2"] > 0, seen
    assert set(await _versions(url, 100)) == {"v2"}
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


@pytest.mark.timeout(600)
async def test_a_rollout_resumes_at_its_step_after_its_worker_is_killed(
    api: httpx.AsyncClient, admin: str, worker_parts: Worker, settings: Settings, tmp_path: Path
) -> None:
    await worker_parts.backends.local_ray.ensure_started()  # the session's head, not theirs
    first = await worker_process(settings)
    try:
        url = await _start(api, admin, tmp_path, MODEL.format(version="v2"), interval=10)

        async def on_the_second_step() -> bool:
            return (await _traffic(api, admin))["rollout_step"] == 1

        async with _load(url):
            await _eventually(on_the_second_step, seconds=180)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    second = await worker_process(settings)
    try:
        steps: set[int | None] = set()
        async with _load(url) as seen:

            async def promoted() -> bool:
                traffic = await _traffic(api, admin)
                steps.add(traffic["rollout_step"])
                return [v["variant_name"] for v in traffic["variants"]] == ["stable"]

            await _eventually(promoted, seconds=180)
    finally:
        second.send_signal(signal.SIGKILL)
        await second.wait()
    assert 0 not in steps  # it went on from the second step, not from the start
    assert seen["failed"] == 0, seen
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["artifact_version"] == "v2"
    history = await _ok(await api.get("/api/v1/serve/iris/deployments", headers=bearer(admin)))
    canary = next(row for row in history["data"] if row["artifact_version"] == "v2")
    events = await _events(api, admin, canary["id"])
    assert sum("rollout step 1 of 2 at 30%: pass" in e for e in events) == 1, events
    assert sum("rollout step 2 of 2 at 60%: pass" in e for e in events) == 1, events
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))
    await worker_parts.reconciler.run_once()
