"""LLM router benchmark, in one run:

1. the backend choice alone (galapagos_runtime.llm_routing): the first attempt for one
   request over 10, 100 and 1,000 backends in 3 tiers with 10% of them cooling down (goal:
   p99 <= 20 us, flat in N), beside a bare weighted draw (the anchor);
2. against a local OpenAI-compatible upstream that answers at once: chat completions sent
   straight to it (the anchor), through the router's proxy alone (galapagos_runtime.llm_proxy
   under uvicorn: the router's own cost) and through the LLM router a `galapagos up` runs on
   its local Ray (what clients get: Ray's proxy and the router): one request at a time
   (median added, goal <= 1 ms), at 200 requests/s (p99), and the time to the first chunk of
   a stream.

    .venv/bin/python bench/llm_router.py [--requests 2000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from aiohttp import web
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import free_port
from bench.local import platform
from galapagos_runtime.llm_proxy import LlmProxy, key_digest
from galapagos_runtime.llm_routing import Backend, CooldownPolicy, Cooldowns, Plan, attempts

out = sys.stdout.write
KEY = "bench-key"
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
ANSWER = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": "chat",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


# -- 1. the choice ---------------------------------------------------------------------------


def per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - started)
    times.sort()
    return times[len(times) // 2] / 1000, times[int(len(times) * 0.99)] / 1000


def first_attempt(plan: Plan, cooldowns: Cooldowns) -> Callable[[], object]:
    return lambda: next(attempts(plan, cooldowns, 1.0))


def choice(calls: int) -> None:
    out(f"\nBackend choice for one request (3 tiers, 10% cooling), {calls} calls each:\n")
    out(f"{'':40}{'p50 us':>9}{'p99 us':>9}\n")
    bounds = list(range(1, 1001))
    p50, p99 = per_call(lambda: bisect.bisect_right(bounds, random.random() * 1000), calls)
    out(f"{'anchor: random draw + bisect':40}{p50:9.2f}{p99:9.2f}\n")
    for n in (10, 100, 1000):
        backends = [
            Backend(f"b{i}", "http://x/v1", "m", weight=1 + i % 7, priority=i % 3) for i in range(n)
        ]
        cooldowns = Cooldowns(CooldownPolicy(allowed_fails=1, cooldown=3600))
        for backend in random.Random(1).sample(backends, n // 10):
            cooldowns.failed(backend.id, 0.0)
        p50, p99 = per_call(first_attempt(Plan.of(backends), cooldowns), calls)
        out(f"{f'first attempt, {n} backends':40}{p50:9.2f}{p99:9.2f}\n")
    out(f"{'goal':40}{'':>9}{20:9.2f}\n")


# -- 2. requests -----------------------------------------------------------------------------


async def upstream(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not body.get("stream"):
        return web.json_response(ANSWER)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for part in ("hi", " there", None):
        chunk = {"choices": [] if part is None else [{"index": 0, "delta": {"content": part}}]}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await asyncio.sleep(0.05)
    await response.write(b"data: [DONE]\n\n")
    return response


def in_thread(serve: Callable[[], Any]) -> None:
    """Run a server on its own event loop in a thread (so the load generator's loop measures
    and nothing else)."""
    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()


def start_upstream() -> str:
    port = free_port()

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", upstream)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    in_thread(serve)
    return f"http://127.0.0.1:{port}/v1"


def start_proxy(base_url: str) -> str:
    port = free_port()

    class Quiet:
        def attempt(self, *args: Any) -> None: ...
        def fallback(self, *args: Any) -> None: ...
        def tokens(self, *args: Any) -> None: ...
        def cooling(self, *args: Any) -> None: ...

    proxy = LlmProxy(Quiet())
    backend = {"id": "up", "name": "up", "url": base_url, "model": "chat"}
    proxy.reconfigure(
        {
            "models": [{"name": "chat", "project": "bench", "backends": [backend]}],
            "keys": {key_digest(KEY): {"projects": None}},
        }
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response = await proxy.handle(Request(scope, receive))
            await response(scope, receive, send)

    config = uvicorn.Config(app, port=port, lifespan="off", log_config=None, access_log=False)
    in_thread(uvicorn.Server(config).serve)
    return f"http://127.0.0.1:{port}/v1"


async def one(session: aiohttp.ClientSession, url: str, key: str, body: dict[str, Any]) -> float:
    """Milliseconds until the answer's first byte (the whole answer when not streamed)."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"}
    async with session.post(f"{url}/chat/completions", json=body, headers=headers) as answer:
        if answer.status != 200:
            raise SystemExit(f"{url}: {answer.status} {await answer.text()}")
        if body.get("stream"):
            await answer.content.readany()
            elapsed = time.perf_counter() - started
            await answer.read()
            return elapsed * 1000
        await answer.read()
    return (time.perf_counter() - started) * 1000


async def sequential(url: str, key: str, count: int, body: dict[str, Any]) -> float:
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            await one(session, url, key, body)  # warm connections
        return statistics.median([await one(session, url, key, body) for _ in range(count)])


async def paced(url: str, key: str, rate: int, seconds: int) -> tuple[float, float]:
    """``rate`` requests a second for ``seconds``: p50 and p99 in ms."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        loop = asyncio.get_running_loop()
        tasks = []
        tick = loop.time()
        for _ in range(rate * seconds):
            tasks.append(asyncio.create_task(one(session, url, key, CHAT)))
            tick += 1 / rate
            await asyncio.sleep(max(0.0, tick - loop.time()))
        times = sorted(await asyncio.gather(*tasks))
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def ray_router(up: Any, base_url: str) -> str:
    """A virtual model on the platform's local Ray, answered by ``base_url``: its endpoint."""
    up.api.post("/api/v1/projects", json={"name": "bench"})
    up.api.post("/api/v1/virtual-models", json={"name": "chat", "project": "bench"})
    up.api.post(
        "/api/v1/virtual-models/chat/backends", json={"kind": "external", "base_url": base_url}
    )
    placed = up.api.post(
        "/api/v1/virtual-models/chat/deploy?wait=true", json={"env": "local"}
    ).json()["data"]
    if placed["state"] != "READY":
        raise SystemExit(f"the LLM router did not start: {placed}")
    return str(placed["endpoint"])


async def requests(ways: dict[str, tuple[str, str]], count: int, seconds: int) -> None:
    rows = {}
    for label, (url, key) in ways.items():
        median = await sequential(url, key, count, CHAT)
        p50, p99 = await paced(url, key, 200, seconds)
        ttfb = await sequential(url, key, count // 10, {**CHAT, "stream": True})
        rows[label] = (median, p50, p99, ttfb)
    anchor = rows[next(iter(rows))]
    out(
        f"\nChat completions against an upstream that answers at once ({count} one at a time, "
        f"then 200 req/s for {seconds}s, then {count // 10} streams):\n"
        f"{'':34}{'1-at-a-time':>12}{'added':>8}{'200/s p50':>11}{'p99':>8}{'added':>8}"
        f"{'TTFB':>8}{'added':>8}   (ms)\n"
    )
    for label, (median, p50, p99, ttfb) in rows.items():
        out(
            f"{label:34}{median:12.2f}{median - anchor[0]:8.2f}{p50:11.2f}{p99:8.2f}"
            f"{p99 - anchor[2]:8.2f}{ttfb:8.2f}{ttfb - anchor[3]:8.2f}\n"
        )
    out(f"{'goal':34}{'':12}{1:8.2f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="choices per case")
    parser.add_argument("--requests", type=int, default=2000, help="one-at-a-time requests")
    parser.add_argument("--seconds", type=int, default=10, help="of 200 requests/s")
    args = parser.parse_args()
    choice(args.calls)

    base = start_upstream()
    proxy = start_proxy(base)
    work = Path(tempfile.mkdtemp(prefix="galapagos-bench-"))
    try:
        with platform(work / "up") as up:
            endpoint = ray_router(up, base)
            ways = {
                "anchor: straight to the upstream": (base, KEY),
                "the router's proxy alone": (proxy, KEY),
                "the LLM router on Ray": (endpoint, up.token),
            }
            asyncio.run(requests(ways, args.requests, args.seconds))
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
