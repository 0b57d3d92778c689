"""A metrics window read through a real Prometheus, from counters the test sets: it lists the
variants configured and any other that answered in the window (one rolled back meanwhile),
not a variant of the serve's earlier configs whose counter the metrics still carry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest

from tests.factories import bearer
from tests.http_servers import served
from tests.traffic.prometheus import scraping
from tests.traffic.test_traffic_rules import TRAFFIC, _variants


@pytest.fixture
async def counters() -> AsyncIterator[tuple[str, Counter]]:
    """A /metrics endpoint serving the routers' request counter (as Ray exports it): its
    host:port and the counter."""
    registry = CollectorRegistry()
    requests = Counter(
        "ray_galapagos_variant_requests",
        "requests per variant",
        ["serve", "role", "variant", "code"],
        registry=registry,
    )

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    async with served(app) as url:
        yield url.removeprefix("http://"), requests


async def _scraped(prometheus: str, variant: str, value: float) -> None:
    """Once Prometheus holds ``value`` for ``variant``'s counter."""
    query = f'ray_galapagos_variant_requests_total{{variant="{variant}"}}'
    async with httpx.AsyncClient() as client:
        for _ in range(60):
            answer = await client.get(f"{prometheus}/api/v1/query", params={"query": query})
            if [float(r["value"][1]) for r in answer.json()["data"]["result"]] == [value]:
                return
            await asyncio.sleep(0.5)
    raise AssertionError(f"Prometheus never scraped {variant} at {value}")


@pytest.mark.timeout(900)  # installs Prometheus where it is missing
async def test_a_window_lists_what_is_configured_or_answered_in_it(
    api: httpx.AsyncClient,
    admin: str,
    deployed: None,
    counters: tuple[str, Counter],
    tmp_path: Path,
    unused_tcp_port: int,
) -> None:
    target, requests = counters
    variants = _variants(("stable", None, 90), ("canary", "v2", 10))
    created = await api.post(
        TRAFFIC, headers=bearer(admin), json={"strategy": "canary", "variants": variants}
    )
    assert created.status_code == 200, created.text

    def answered(variant: str, count: int) -> None:
        requests.labels("iris", "primary", variant, "2xx").inc(count)

    answered("green", 40)  # an earlier blue-green's colour: its counter stays as it was
    answered("stable", 10)
    for quiet in ("canary", "rolled"):  # a canary with no requests yet, one rolled back later
        requests.labels("iris", "primary", quiet, "2xx")
    async with scraping(target, tmp_path, unused_tcp_port) as prometheus:
        await api.patch(
            "/api/v1/environment/prod",
            headers=bearer(admin),
            json={"environment_configs": {"prometheus_url": prometheus}},
        )
        await _scraped(prometheus, "stable", 10)
        await asyncio.sleep(1.5)
        since = datetime.now(UTC)
        await asyncio.sleep(1.5)
        answered("stable", 30)
        answered("rolled", 5)
        await _scraped(prometheus, "rolled", 5)
        response = await api.get(
            f"{TRAFFIC}/metrics", headers=bearer(admin), params={"since": since.isoformat()}
        )
    assert response.status_code == 200, response.text
    window = response.json()["data"]
    assert window["source"] == "prometheus"
    seen = {v["variant_name"]: v["requests"] for v in window["variants"]}
    assert seen == {"canary": 0, "rolled": 5, "stable": 30}
