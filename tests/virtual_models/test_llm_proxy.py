"""The LLM router's proxy (galapagos_runtime.llm_proxy) on real HTTP, between a client and
small OpenAI-compatible upstreams: weights within a tier, fallback to the next tier,
cooldowns and Retry-After, streams passed on as they come, the model-name override, keys and
OpenAI's error shape. Its Serve deployment on a real Ray is tested in test_llm_router_ray."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from galapagos_runtime.llm_proxy import BACKEND_HEADER, LlmProxy, key_digest
from galapagos_runtime.llm_routing import Backend
from scipy.stats import chisquare
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from tests.virtual_models.upstream import STREAM_PAUSE, Upstream, upstreams

KEY = "gal_test-key"
OTHER_PROJECT_KEY = "gal_other-key"


class Figures:
    """The router's figures, kept in memory."""

    def __init__(self) -> None:
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.fallbacks: Counter[str] = Counter()
        self.token_counts: Counter[str] = Counter()
        self.cooling_until: dict[str, float] = {}

    def attempt(self, model: str, backend: Backend, code: str, ttfb_ms: float | None) -> None:
        self.attempts[backend.id, code] += 1

    def fallback(self, model: str, backend: Backend) -> None:
        self.fallbacks[backend.id] += 1

    def tokens(self, model: str, backend: Backend, prompt: int, completion: int) -> None:
        self.token_counts["prompt"] += prompt
        self.token_counts["completion"] += completion

    def cooling(self, backend: Backend, until: float) -> None:
        self.cooling_until[backend.id] = until


def backend(upstream: Upstream, weight: int = 1, priority: int = 0, **more: Any) -> dict[str, Any]:
    return {
        "id": upstream.name,
        "name": upstream.name,
        "url": f"{upstream.url}/v1",
        "model": more.pop("model", "chat"),
        "weight": weight,
        "priority": priority,
        **more,
    }


def config(*backends: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {
        "models": [
            {"name": "chat", "project": "team", "created": 1700000000, "backends": list(backends)}
        ],
        "keys": {
            key_digest(KEY): {"projects": ["team"]},
            key_digest(OTHER_PROJECT_KEY): {"projects": ["other"]},
        },
        "timeout_seconds": settings.get("timeout", 1.0),
        "deadline_seconds": settings.get("deadline", 5.0),
        "cooldown": {
            "allowed_fails": settings.get("allowed_fails", 3),
            "window_seconds": 60,
            "cooldown_seconds": settings.get("cooldown", 5.0),
        },
    }


class Router:
    def __init__(self, proxy: LlmProxy, url: str, figures: Figures) -> None:
        self.proxy = proxy
        self.url = url
        self.figures = figures
        self.client = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        )

    async def chat(self, **body: Any) -> httpx.Response:
        payload = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], **body}
        return await self.client.post("/v1/chat/completions", json=payload)


@contextlib.asynccontextmanager
async def router(routing: dict[str, Any]) -> AsyncIterator[Router]:
    """The proxy behind uvicorn on a free port, configured with ``routing``; its weighted
    choices drawn from a seeded generator, so that a split's test fails on the weights alone,
    never on one run's chance."""
    figures = Figures()
    proxy = LlmProxy(figures, random.Random(7).random)
    proxy.reconfigure(routing)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        response = await proxy.handle(Request(scope, receive))
        await response(scope, receive, send)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    handle = Router(proxy, f"http://127.0.0.1:{port}", figures)
    try:
        yield handle
    finally:
        await handle.client.aclose()
        await proxy.close()
        server.should_exit = True
        await task


async def test_weights_within_a_tier_hold_over_3000_requests() -> None:
    async with upstreams("a", "b", "c", "fallback") as up:
        routing = config(
            backend(up["a"], 60), backend(up["b"], 30), backend(up["c"], 10),
            backend(up["fallback"], 100, priority=1),
        )  # fmt: skip
        async with router(routing) as r:
            seen: Counter[str] = Counter()
            for _ in range(30):
                answers = await asyncio.gather(*(r.chat() for _ in range(100)))
                seen.update(a.headers[BACKEND_HEADER] for a in answers)
    assert seen["fallback"] == 0
    pvalue = chisquare([seen["a"], seen["b"], seen["c"]], [1800, 900, 300]).pvalue
    assert pvalue > 0.01, seen


async def test_when_every_primary_fails_clients_see_no_error_and_the_next_tier_answers() -> None:
    async with upstreams("broken", "limited", "hanging", "spare") as up:
        up["broken"].mode, up["limited"].mode, up["hanging"].mode = "500", "429", "hang"
        routing = config(
            backend(up["broken"]), backend(up["limited"]), backend(up["hanging"]),
            backend(up["spare"], priority=1), timeout=0.3,
        )  # fmt: skip
        async with router(routing) as r:
            answers = [await r.chat() for _ in range(20)]
            assert [a.status_code for a in answers] == [200] * 20
            assert {a.headers[BACKEND_HEADER] for a in answers} == {"spare"}
            assert "hello from spare" in answers[0].json()["choices"][0]["message"]["content"]
            # Each primary was tried until its cooldown began (3 fails), then skipped.
            for name in ("broken", "limited", "hanging"):
                assert up[name].answered() == 3, name
                assert r.figures.fallbacks[name] == 3
            assert r.figures.attempts["spare", "2xx"] == 20


async def test_a_backend_cools_down_for_the_configured_time_and_again_after_a_new_failure() -> None:
    cooldown = 2.0
    async with upstreams("primary", "spare") as up:
        primary, spare = up["primary"], up["spare"]
        routing = config(
            backend(primary), backend(spare, priority=1), cooldown=cooldown, allowed_fails=1
        )
        async with router(routing) as r:

            async def back_after(failed_at: float) -> float:
                """Send a request every 10 ms until the primary takes one again: after how
                long since ``failed_at``."""
                count = primary.answered()
                while primary.answered() == count:
                    await r.chat()
                    await asyncio.sleep(0.01)
                return primary.received[-1].at - failed_at

            primary.mode = "500"
            assert (await r.chat()).status_code == 200  # the spare answered
            failed_at = primary.received[-1].at
            primary.mode = "ok"
            assert abs(await back_after(failed_at) - cooldown) <= 0.05 * cooldown

            # Failing again, both fail: while both cool down, the one that failed first is
            # tried; its new failure starts a new cooldown from then, later than the first.
            primary.mode = spare.mode = "500"
            assert (await r.chat()).status_code == 502  # primary then spare: both cool down
            first_failure = primary.received[-1].at
            await asyncio.sleep(0.5)
            assert (await r.chat()).status_code == 502  # the last resort: the primary again
            second_failure = primary.received[-1].at
            assert second_failure - first_failure >= 0.5
            primary.mode = spare.mode = "ok"
            assert abs(await back_after(second_failure) - cooldown) <= 0.05 * cooldown


async def test_retry_after_sets_a_longer_cooldown() -> None:
    async with upstreams("primary", "spare") as up:
        primary = up["primary"]
        primary.mode, primary.retry_after = "429", "3"
        routing = config(backend(primary), backend(up["spare"], priority=1), cooldown=1.0)
        async with router(routing) as r:
            assert (await r.chat()).status_code == 200
            failed_at = primary.received[-1].at
            primary.mode = "ok"
            while primary.answered() == 1:
                await r.chat()
                await asyncio.sleep(0.01)
            assert abs(primary.received[-1].at - failed_at - 3.0) <= 0.15
            assert r.figures.cooling_until["primary"] > 0


async def test_streams_pass_chunk_by_chunk_and_a_broken_stream_ends_with_an_error() -> None:
    async with upstreams("streaming") as up, router(config(backend(up["streaming"]))) as r:
        payload = {
            "model": "chat",
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
        started = time.monotonic()
        arrivals: list[tuple[float, bytes]] = []
        async with r.client.stream("POST", "/v1/chat/completions", json=payload) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            async for chunk in answer.aiter_bytes():
                arrivals.append((time.monotonic() - started, chunk))
        body = b"".join(c for _, c in arrivals)
        assert arrivals[0][0] < STREAM_PAUSE / 2, arrivals  # before the upstream finished
        assert arrivals[-1][0] >= STREAM_PAUSE
        assert b"hello from streaming" in arrivals[0][1]
        assert body.endswith(b"data: [DONE]\n\n")
        assert r.figures.token_counts == {"prompt": 5, "completion": 2}

        up["streaming"].mode = "cut"
        async with r.client.stream("POST", "/v1/chat/completions", json=payload) as answer:
            assert answer.status_code == 200
            body = b"".join([chunk async for chunk in answer.aiter_bytes()])
        assert b"hello from streaming" in body
        assert b'"code": "upstream_stream_error"' in body
        assert b"[DONE]" not in body


async def test_the_override_names_the_upstream_model_and_keys_go_to_their_backend_only() -> None:
    async with upstreams("renamed") as up:
        routing = config(backend(up["renamed"], model="llama-3-70b", api_key="sk-upstream-secret"))
        async with router(routing) as r:
            answer = await r.chat()
            assert answer.status_code == 200
            # The upstream gzipped it; the client reads it plain.
            assert answer.json()["choices"][0]["message"]["content"] == "hello from renamed"
            received = up["renamed"].received[-1]
            assert received.model == "llama-3-70b"
            assert received.key == "Bearer sk-upstream-secret"
            assert "sk-upstream-secret" not in answer.text
            assert "sk-upstream-secret" not in str(dict(answer.headers))


async def test_errors_have_openai_shape() -> None:
    async with upstreams("only") as up, router(config(backend(up["only"]))) as r:
        unknown = await r.chat(model="no-such-model")
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {
            "message": "The model `no-such-model` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
        # A key of another project does not see the model at all.
        other = {"Authorization": f"Bearer {OTHER_PROJECT_KEY}"}
        payload = {"model": "chat", "messages": []}
        hidden = await r.client.post("/v1/chat/completions", json=payload, headers=other)
        assert hidden.json()["error"]["code"] == "model_not_found"
        listed = await r.client.get("/v1/models", headers=other)
        assert listed.json() == {"object": "list", "data": []}
        for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": ""}):
            refused = await r.client.post("/v1/chat/completions", json=payload, headers=headers)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "invalid_api_key"
        up["only"].mode = "500"
        failed = await r.chat()
        assert failed.status_code == 502
        assert failed.json()["error"]["type"] == "server_error"
        assert "only: answered 500" in failed.json()["error"]["message"]


@pytest.mark.parametrize("expired", [True, False])
async def test_an_expired_key_is_refused(expired: bool) -> None:
    async with upstreams("only") as up:
        routing = config(backend(up["only"]))
        routing["keys"][key_digest(KEY)]["expires_at"] = time.time() + (-1 if expired else 60)
        async with router(routing) as r:
            assert (await r.chat()).status_code == (401 if expired else 200)
