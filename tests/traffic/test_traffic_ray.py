"""Traffic variants on a real local Ray, through HTTP: the serve's one address answers from
several versions in the configured shares, sticky keys and header matches hold, weights change
under load without a failed request, promote swaps the stable version without a restart, and
a failing shadow gets its copies without changing any answer."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scipy.stats import chisquare

from galapagos_core.worker import Worker
from tests.deployments.test_deploy_ray import (
    MODEL,
    _build,
    _deploy,
    _ok,
    _ray_apps,
    _register,
    _setup,
)
from tests.factories import bearer
from tests.gitrepos import commit, make_repo

pytestmark = pytest.mark.ray
TRAFFIC = "/api/v1/serve/iris/traffic/local"


async def _versions(
    url: str, count: int, headers: Callable[[int], dict[str, str]] = lambda i: {}
) -> list[str]:
    """The version that answered each of ``count`` requests (16 at a time); any failure fails."""
    gate = asyncio.Semaphore(16)
    limits = httpx.Limits(max_connections=16)

    async def one(client: httpx.AsyncClient, i: int) -> str:
        async with gate:
            response = await client.post(url, json={"instances": [[1]]}, headers=headers(i))
        assert response.status_code == 200, response.text
        return str(response.json()["predictions"][0])

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return list(await asyncio.gather(*(one(client, i) for i in range(count))))


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 120) -> None:
    for _ in range(int(seconds / 0.5)):
        if await check():
            return
        await asyncio.sleep(0.5)
    raise AssertionError("not within the time")


async def v1_beside(
    api: httpx.AsyncClient,
    admin: str,
    tmp_path: Path,
    source: str,
    version: str,
    traffic: dict[str, Any],
    serve: str = "iris",
) -> str:
    """``serve`` (registered in an environment set up) at v1, ``source`` built beside it as
    ``version`` and ``traffic`` configured; the serve's URL."""
    repo = make_repo(tmp_path / serve, {"main.py": MODEL.format(version="v1")})
    await _build(api, admin, repo, "v1", serve=serve)
    commit(repo, {"main.py": source})
    await _build(api, admin, repo, version, serve=serve)
    url = str((await _deploy(api, admin, "v1", serve=serve))["service_url"])
    await _ok(
        await api.post(f"/api/v1/serve/{serve}/traffic/local", headers=bearer(admin), json=traffic)
    )
    return url


async def _traffic(api: httpx.AsyncClient, admin: str, serve: str = "iris") -> dict[str, Any]:
    return await _ok(await api.get(f"/api/v1/serve/{serve}/traffic/local", headers=bearer(admin)))


async def _all_active(api: httpx.AsyncClient, admin: str, serve: str = "iris") -> bool:
    traffic = await _traffic(api, admin, serve)
    router = traffic["router"] or {}
    return router.get("state") == "READY" and all(
        v["status"] == "active" for v in traffic["variants"]
    )


def _shares_hold(seen: list[str], expected: dict[str, float]) -> float:
    counts = Counter(seen)
    assert set(counts) <= set(expected), counts
    observed = [counts[v] for v in expected]
    return float(chisquare(observed, [len(seen) * expected[v] for v in expected]).pvalue)


@pytest.mark.timeout(900)  # 14,000 requests through proxy, router and variant on two cores
async def test_weighted_sticky_header_matched_split_weight_change_and_promote(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": MODEL.format(version="v1")})
    await _setup(api, admin)
    await _build(api, admin, repo, "v1")
    for version in ("v2", "v3"):
        commit(repo, {"main.py": MODEL.format(version=version)})
        await _build(api, admin, repo, version)
    first = await _deploy(api, admin, "v1")
    url = first["service_url"]

    created = await _ok(
        await api.post(
            TRAFFIC,
            headers=bearer(admin),
            json={
                "strategy": "ab_test",
                "sticky": {"header": "x-user"},
                "variants": [
                    {"variant_name": "stable", "weight": 70},
                    {"variant_name": "variant_b", "artifact_version": "v2", "weight": 20},
                    {
                        "variant_name": "variant_c",
                        "artifact_version": "v3",
                        "weight": 10,
                        "header_match": {"x-beta": "yes"},
                    },
                ],
            },
        )
    )
    assert [v["status"] for v in created["variants"]] == ["active", "pending", "pending"]
    await _eventually(lambda: _all_active(api, admin))

    async def every_version_answers() -> bool:
        return set(await _versions(url, 60)) == {"v1", "v2", "v3"}

    await _eventually(every_version_answers)
    traffic = await _traffic(api, admin)
    assert traffic["service_url"] == url  # the serve's one address

    # Weighted: 5,000 requests without a sticky key.
    split = await _versions(url, 5000)
    assert _shares_hold(split, {"v1": 0.7, "v2": 0.2, "v3": 0.1}) > 0.01

    # Sticky: 1,000 keys, each 5 times, always the same version; the split over keys holds.
    keyed = await _versions(url, 5000, lambda i: {"x-user": f"user-{i % 1000}"})
    by_key: dict[int, set[str]] = {}
    for i, version in enumerate(keyed):
        by_key.setdefault(i % 1000, set()).add(version)
    assert all(len(versions) == 1 for versions in by_key.values())
    per_key = Counter(next(iter(v)) for v in by_key.values())
    for version, share in {"v1": 0.7, "v2": 0.2, "v3": 0.1}.items():
        assert abs(per_key[version] / 1000 - share) <= 0.03, per_key

    # Header match: every matching request reaches variant_c, whatever the sticky key.
    matched = await _versions(url, 300, lambda i: {"x-beta": "yes", "x-user": f"u{i}"})
    assert set(matched) == {"v3"}

    # A weight change under load: applied within a pass or two, nothing fails meanwhile.
    load = asyncio.create_task(_versions(url, 1500))
    await asyncio.sleep(1)
    changed = await _ok(
        await api.put(
            f"{TRAFFIC}/weights",
            headers=bearer(admin),
            json={"weights": {"stable": 50, "variant_b": 50, "variant_c": 0}},
        )
    )
    weights = {v["variant_name"]: v["weight"] for v in changed["variants"]}
    assert weights == {"stable": 50, "variant_b": 50, "variant_c": 0}
    await load  # every request of the load answered 200
    await asyncio.sleep(2 * running.reconciler.settings.interval_seconds + 1)
    after = await _versions(url, 2000)
    assert "v3" not in after
    assert _shares_hold(after, {"v1": 0.5, "v2": 0.5}) > 0.01

    # Promote variant_b: v2 is the serve's active deployment, v1 drains and goes.
    apps_before = set(await _ray_apps(running))
    await _ok(
        await api.post(f"{TRAFFIC}/promote", headers=bearer(admin), json={"variant": "variant_b"})
    )
    status = await _ok(await api.get("/api/v1/serve/iris/status/local", headers=bearer(admin)))
    assert status["artifact_version"] == "v2"

    async def v1_gone() -> bool:
        apps = set(await _ray_apps(running))
        return "iris" not in apps and apps < apps_before

    await _eventually(v1_gone)
    final = await _versions(url, 500)
    assert set(final) == {"v2"}
    names = {
        v["variant_name"]: v["artifact_version"] for v in (await _traffic(api, admin))["variants"]
    }
    assert names == {"stable": "v2", "variant_c": "v3"}
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


FAILING = """
class Model:
    def predict(self, instances):
        raise RuntimeError("the shadow always fails")
"""


async def _shadow_copies(
    worker: Worker, metric: str = "variant_requests", serve: str = "iris"
) -> float:
    """Copies ``serve``'s routers recorded for shadows (or dropped, with
    ``shadow_copies_dropped``), from the Ray head's metrics endpoint."""
    url = worker.backends.local_ray.endpoint().metrics
    assert url is not None
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.removesuffix("_total") == f"ray_galapagos_{metric}"
        and sample.labels.get("role", "shadow") == "shadow"
        and sample.labels.get("serve") == serve
    )


@pytest.mark.timeout(600)
async def test_a_failing_shadow_gets_its_copies_and_changes_no_answer(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    await _setup(api, admin)
    url = await v1_beside(
        api,
        admin,
        tmp_path,
        FAILING,
        "broken",
        {
            "strategy": "shadow",
            "variants": [
                {"variant_name": "stable"},
                {"variant_name": "shadow", "artifact_version": "broken", "weight": 100},
            ],
        },
    )
    await _eventually(lambda: _all_active(api, admin))

    async def copying() -> bool:
        await _versions(url, 20)
        return await _shadow_copies(running) > 0

    await _eventually(copying)
    await asyncio.sleep(3)  # replicas report every 2 s
    before = await _shadow_copies(running)
    answers = await _versions(url, 2000)  # every answer 200, from stable
    assert set(answers) == {"v1"}

    async def all_counted() -> bool:
        return await _shadow_copies(running) - before >= 0.99 * 2000

    try:
        await _eventually(all_counted, seconds=180)
    except AssertionError:
        copied = await _shadow_copies(running) - before
        dropped = await _shadow_copies(running, "shadow_copies_dropped")
        raise AssertionError(f"{copied:g} of 2000 copies recorded, {dropped:g} dropped") from None
    await _ok(await api.post("/api/v1/serve/iris/undeploy/local", headers=bearer(admin)))


SLOW = """
import time

class Model:
    def predict(self, instances):
        time.sleep(5)
        return ["slow" for _ in instances]
"""


async def _ticks(urls: list[str], ticks: int, rate: float = 10) -> list[list[float]]:
    """Milliseconds per request to each of ``urls``: at each of ``ticks`` (``rate`` a second),
    one request to every URL at once, each on its own. What slows the machine at a moment slows
    every URL's request of that tick alike. Every answer is v1's."""
    times: list[list[float]] = [[] for _ in urls]

    async def one(client: httpx.AsyncClient, index: int) -> None:
        started = time.perf_counter()
        response = await client.post(urls[index], json={"instances": [[1]]})
        times[index].append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == ["v1"]

    loop = asyncio.get_running_loop()
    order = list(range(len(urls)))
    async with httpx.AsyncClient(timeout=30) as client, asyncio.TaskGroup() as group:
        tick = loop.time()
        for i in range(ticks):
            for index in order[i % len(order) :] + order[: i % len(order)]:  # none always first
                group.create_task(one(client, index))
            tick += 1 / rate
            await asyncio.sleep(max(0.0, tick - loop.time()))
    return times


def _p99(times: list[float]) -> float:
    return sorted(times)[int(len(times) * 0.99)]


@pytest.mark.timeout(900)
async def test_a_slow_or_failing_shadow_changes_no_answer_and_not_the_p99(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    """Three serves side by side, each v1 with every request copied to its shadow: a healthy
    one, one that sleeps 5 s, one that answers 500. The same ticks call all three, so what
    slows the machine meanwhile slows them alike, and what a shadow does to its own serve's
    router shows in that serve's figures alone: every answer from stable, and the slow and the
    failing shadow's serves within 10% of the healthy one's p99. (What copying itself costs
    the two cores this runs on, bench/traffic.py measures.)"""
    shadows = {"iris": MODEL.format(version="shadow"), "iris-slow": SLOW, "iris-failing": FAILING}
    await _setup(api, admin)
    for serve in list(shadows)[1:]:
        await _register(api, admin, serve)

    traffic = {
        "strategy": "shadow",
        "variants": [
            {"variant_name": "stable"},
            {"variant_name": "shadow", "artifact_version": "shadow", "weight": 100},
        ],
    }

    async def shadowed(serve: str, source: str) -> str:
        url = await v1_beside(api, admin, tmp_path, source, "shadow", traffic, serve)
        await _eventually(lambda: _all_active(api, admin, serve))
        return url

    urls = list(await asyncio.gather(*(shadowed(s, source) for s, source in shadows.items())))
    await _ticks(urls, 30)  # warm: the first copies found their replicas
    # 1,000 answers each: the p99 is the 10th slowest, not one outlier.
    # 18 requests a second and as many copies: the two cores busy, not saturated (then every
    # tail is a queue's, whatever the shadows do).
    measured = await _ticks(urls, 1000, rate=6)
    figures = {serve: round(_p99(times), 1) for serve, times in zip(shadows, measured, strict=True)}
    for serve in ("iris-slow", "iris-failing"):
        assert figures[serve] <= 1.1 * figures["iris"], figures
        assert await _shadow_copies(running, serve=serve) > 0, figures
    for serve in shadows:
        await _ok(await api.post(f"/api/v1/serve/{serve}/undeploy/local", headers=bearer(admin)))
