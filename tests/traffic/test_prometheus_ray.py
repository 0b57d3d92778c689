"""Rollout gates and metrics windows read through a real Prometheus (Debian's package, run by
``scripts/prometheus.sh``) that scrapes the local Ray head's metrics: a canary failing a fifth
of its requests is rolled back on PromQL figures, and the metrics endpoint answers windows
from Prometheus' history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from galapagos_core.worker import Worker
from tests.deployments.test_deploy_ray import _ok
from tests.factories import bearer
from tests.traffic.prometheus import scraping
from tests.traffic.test_rollouts_ray import FLAKY, _events, _load, _start
from tests.traffic.test_traffic_ray import TRAFFIC, _eventually, _traffic

pytestmark = pytest.mark.ray


@pytest.fixture
async def prometheus(
    running: Worker, tmp_path_factory: pytest.TempPathFactory, unused_tcp_port: int
) -> AsyncIterator[str]:
    """A Prometheus scraping the local Ray head's metrics every second; its URL."""
    endpoint = await running.backends.local_ray.ensure_started()
    assert endpoint.metrics is not None
    target = endpoint.metrics.removeprefix("http://").removesuffix("/metrics")
    async with scraping(target, tmp_path_factory.mktemp("prometheus"), unused_tcp_port) as url:
        yield url


async def _figures(api: httpx.AsyncClient, admin: str, **query: str) -> httpx.Response:
    return await api.get(f"{TRAFFIC}/metrics", headers=bearer(admin), params=query)


@pytest.mark.timeout(600)
async def test_gates_and_windows_read_through_prometheus(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path, prometheus: str
) -> None:
    url = await _start(
        api, admin, tmp_path, FLAKY, environment_configs={"prometheus_url": prometheus}
    )
    canary = (await _traffic(api, admin))["variants"][1]
    quiet = datetime.now(UTC)

    async def taking_traffic() -> bool:
        return (await _traffic(api, admin))["step_started_at"] is not None

    await _eventually(taking_traffic)
    async with _load(url):

        async def rolled_back() -> bool:
            names = [v["variant_name"] for v in (await _traffic(api, admin))["variants"]]
            return names == ["stable"]

        await _eventually(rolled_back, seconds=120)
    events = await _events(api, admin, canary["deployment_id"])
    assert any("rollout step 1 of 2 at 30%: fail: success rate" in e for e in events), events

    # The whole window from Prometheus: both variants answered, the canary about a fifth 5xx.
    await asyncio.sleep(3)  # the last scrape
    window = await _ok(await _figures(api, admin, since=quiet.isoformat()))
    assert window["source"] == "prometheus"
    seen = {v["variant_name"]: v for v in window["variants"]}
    assert seen["stable"]["requests"] > 0
    assert seen["stable"]["errors"] == 0
    assert seen["stable"]["p99_ms"] > 0
    [failing] = [v for v in window["variants"] if v["variant_name"] != "stable"]
    assert 0.05 < 1 - failing["success_rate"] < 0.5, failing

    # A window before any request: nothing recorded for stable there.
    before = quiet - timedelta(minutes=10)
    empty = await _figures(
        api,
        admin,
        variant="stable",
        since=before.isoformat(),
        until=(before + timedelta(minutes=5)).isoformat(),
    )
    assert (empty.status_code, empty.json()["error"]["code"]) == (404, "METRIC_NOT_FOUND")
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))
