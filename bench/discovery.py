"""GPU discovery and placement benchmark, in one run:

1. a lookup of one model's READY instances among 10,000 instances of 500 models: from this
   process's memory (the store an API replica keeps; goal: p99 <= 1 ms, the seed's budget),
   beside a bare dict lookup of a sorted list (the anchor); and from Redis (one SORT ... GET
   round trip), beside a bare PING (its anchor);
2. the discovery endpoint through HTTP at concurrency 16 (wrk; `galapagos api` on SQLite,
   one uvicorn worker), with discovery in memory and in Redis, beside a bare Starlette JSON
   app (the ceiling);
3. the placement decision over a catalog of 500 instance types in 3 zones, beside picking
   the cheapest offer with ``min`` (the anchor).

    .venv/bin/python bench/discovery.py [--duration 10]

Needs Debian's wrk and redis-server; both are installed when missing (apt-get, as root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import BARE_APP, ensure_wrk, free_port, load, open_database, start

from galapagos_core.gpu.discovery import Endpoint, MemoryStore
from galapagos_core.gpu.placement import CapacityPolicy, Offer, place
from galapagos_core.gpu.redis_store import RedisStore
from galapagos_model.enums import CapacityKind

ROOT = Path(__file__).resolve().parents[1]
MODELS, PER_MODEL = 500, 20
out = sys.stdout.write


def _endpoints() -> list[Endpoint]:
    now = time.time()
    return [
        Endpoint(
            f"{m:03d}-{i:02d}",
            f"org/model-{m:03d}",
            f"http://gpu-{m:03d}-{i:02d}.serving/openai/v1",
            float(random.randint(0, 50)),
            now - random.random() * 10,
            1,
        )
        for m in range(MODELS)
        for i in range(PER_MODEL)
    ]


def _micros(samples: list[int]) -> tuple[float, float]:
    """p50 and p99 in microseconds of nanosecond samples."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def _timed(call: Callable[[str], object], keys: list[str]) -> tuple[float, float]:
    samples = []
    clock = time.perf_counter_ns
    for key in keys:
        begin = clock()
        call(key)
        samples.append(clock() - begin)
    return _micros(samples)


async def _timed_async(
    call: Callable[[str], Awaitable[object]], keys: list[str]
) -> tuple[float, float]:
    samples = []
    clock = time.perf_counter_ns
    for key in keys:
        begin = clock()
        await call(key)
        samples.append(clock() - begin)
    return _micros(samples)


def _row(name: str, figures: tuple[float, float], unit: str = "µs") -> None:
    out(f"{name:58} {figures[0]:9.2f} {figures[1]:9.2f} {unit}\n")


def in_process(endpoints: list[Endpoint], lookups: int) -> None:
    store = MemoryStore()
    for e in endpoints:
        store.put(e)
    presorted = {m: store.get(m) for m in {e.model_id for e in endpoints}}
    keys = [f"org/model-{random.randrange(MODELS):03d}" for _ in range(lookups)]
    assert len(store.get(keys[0])) == PER_MODEL
    out(f"\n1. lookups among {len(endpoints):,} instances of {MODELS} models ({lookups:,} each)\n")
    out(f"{'':58} {'p50':>9} {'p99':>9}\n")
    _row("anchor: a bare dict lookup of a sorted list", _timed(presorted.get, keys))
    _row("in memory (MemoryStore.get)", _timed(store.get, keys))


async def in_redis(endpoints: list[Endpoint], url: str, lookups: int) -> None:
    store = RedisStore(url)
    try:
        for i in range(0, len(endpoints), 1000):
            await store.tell(endpoints[i : i + 1000])
        keys = [f"org/model-{random.randrange(MODELS):03d}" for _ in range(lookups)]
        assert len(await store.ready(keys[0])) == PER_MODEL

        async def ping(_: str) -> object:
            return await store.redis.ping()

        out(f"{len(keys):,} lookups from Redis\n")
        _row("anchor: a bare Redis PING (one round trip)", await _timed_async(ping, keys))
        _row("in Redis (RedisStore.ready: one SORT ... GET)", await _timed_async(store.ready, keys))
    finally:
        await store.close()


async def seed(database_url: str, endpoints: list[Endpoint]) -> str:
    """A fresh SQLite database with the instances READY; returns an admin token."""
    from tortoise import Tortoise

    from galapagos_model.catalog import Environment
    from galapagos_model.enums import EnvironmentBackend, GpuInstanceStatus, ProviderKind
    from galapagos_model.gpu import GpuInstance, InstanceType, LlmModel, Provider, Region, Zone
    from galapagos_model.identity import Project

    token = await open_database(database_url)
    try:
        project = await Project.create(name="bench")
        environment = await Environment.create(
            name="gpu", backend=EnvironmentBackend.KSERVE, env_configs={"namespace": "serving"}
        )
        provider = await Provider.create(name="aws", kind=ProviderKind.KUBERNETES)
        region = await Region.create(provider=provider, name="us-east-1")
        zone = await Zone.create(region=region, name="us-east-1a")
        itype = await InstanceType.create(
            provider=provider, name="g6.xlarge", gpu_model="L4", gpu_count=1,
            vram_per_gpu_gb=24, vcpus=4, memory_gb=16, on_demand_price=Decimal("0.8048"),
        )  # fmt: skip
        models = {}
        for m in range(MODELS):
            models[f"org/model-{m:03d}"] = await LlmModel.create(
                name=f"Model {m}", model_id=f"org/model-{m:03d}", required_vram_gb=16,
                context_length=8192,
            )  # fmt: skip
        now = datetime.now(UTC)
        await GpuInstance.bulk_create(
            [
                GpuInstance(
                    project=project,
                    llm_model=models[e.model_id],
                    instance_type=itype,
                    zone=zone,
                    environment=environment,
                    name=f"gpu-{e.instance_id}",
                    backend=EnvironmentBackend.KSERVE,
                    capacity=CapacityKind.ON_DEMAND,
                    policy="on_demand",
                    hourly_price=Decimal("0.8048"),
                    gpu_profile={},
                    endpoint=e.url,
                    current_load=e.load,
                    last_heartbeat_at=now,
                    status=GpuInstanceStatus.READY,
                )
                for e in endpoints
            ],
            batch_size=1000,
        )
    finally:
        await Tortoise.close_connections()
    return token


def over_http(wrk: str, endpoints: list[Endpoint], redis_url: str, seconds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="galapagos-discovery-"))
    database_url = f"sqlite://{home / 'galapagos.db'}"
    token = asyncio.run(seed(database_url, endpoints))
    env = {
        **os.environ,
        "ENV": "local",
        "GALAPAGOS_DATA_DIR": str(home),
        "GALAPAGOS_DATABASE__URL": database_url,
        "GALAPAGOS_LOG_LEVEL": "WARNING",
    }
    (home / "bare_app.py").write_text(BARE_APP)
    path = "/api/v1/discovery/models/org/model-042/instances"
    out(
        f"\n2. the discovery endpoint, wrk at concurrency 16, {seconds} s each, one uvicorn "
        f"worker, {os.cpu_count()} CPUs\n"
        f"{'':58} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}\n"
    )
    api = [sys.executable, "-m", "galapagos_app.cli", "api", "--port"]
    bare = [sys.executable, "-m", "uvicorn", "--app-dir", str(home), "bare_app:app", "--port"]
    in_redis = {"GALAPAGOS_GPU__REDIS_URL": redis_url}
    ways = [
        ("discovery endpoint, discovery in memory", api, {}, path, "/healthcheck"),
        ("discovery endpoint, discovery in Redis", api, in_redis, path, "/healthcheck"),
        ("ceiling: a bare Starlette JSON app", bare, {}, "/ping", "/ping"),
    ]
    for name, command, extra, target, health in ways:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start([*command, str(port)], {**env, **extra}, f"{base}{health}")
        try:
            rps, p50, p99, errors = load(wrk, f"{base}{target}", seconds, token=token)
            out(f"{name:58} {rps:9.0f} {p50:9.2f} {p99:9.2f} {errors:8d}\n")
        finally:
            server.terminate()
            server.wait(timeout=30)


def placement(runs: int) -> None:
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    offers = []
    for t in range(500):
        gpus = random.choice((1, 2, 4, 8))
        vram = random.choice((16, 24, 40, 48, 80))
        price = Decimal(random.randint(30, 4000)) / 100
        for z in zones:
            spot = random.random() < 0.7
            offers.append(
                Offer(
                    f"type-{t:03d}",
                    z,
                    gpus,
                    vram,
                    price,
                    (price * Decimal("0.4")).quantize(Decimal("0.0001")) if spot else None,
                    frozenset(
                        {CapacityKind.ON_DEMAND, CapacityKind.SPOT}
                        if spot
                        else {CapacityKind.ON_DEMAND}
                    ),
                )
            )
    needs = [random.choice((8, 16, 40, 80, 141, 300)) for _ in range(runs)]
    keys = [str(n) for n in needs]
    policy = CapacityPolicy.SPOT_WITH_FALLBACK
    chosen = place(offers, 141, policy).chosen
    assert chosen is not None
    out(f"\n3. placement over {len(offers):,} offers (500 types x 3 zones), {runs:,} decisions\n")
    out(f"{'':58} {'p50':>9} {'p99':>9}\n")
    cheapest = lambda _: min(offers, key=lambda o: o.on_demand_price or 0)  # noqa: E731
    _row("anchor: min() of the offers by price", _timed(cheapest, keys))
    _row("placement (fits, policy, price; every rejection explained)",
         _timed(lambda need: place(offers, int(need), policy), keys), "µs")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per HTTP target")
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    random.seed(7)
    endpoints = _endpoints()
    in_process(endpoints, args.lookups)
    redis_dir = Path(tempfile.mkdtemp(prefix="galapagos-redis-"))
    redis_port = free_port()
    script = str(ROOT / "scripts" / "redis.sh")
    subprocess.run([script, "start", str(redis_dir), str(redis_port)], check=True)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    try:
        asyncio.run(in_redis(endpoints, redis_url, args.lookups // 10))
        over_http(ensure_wrk(), endpoints, redis_url, args.duration)
    finally:
        subprocess.run([script, "stop", str(redis_dir)], check=False)
    placement(2000)


if __name__ == "__main__":
    main()
