"""Small OpenAI-compatible upstreams on real HTTP for the LLM router's tests: each answers
with its own name, and can be told to fail (500), refuse (429 with Retry-After), hang, or
break its stream off. Every request it receives is recorded (when, the model, the key)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.http_servers import served

STREAM_PAUSE = 0.5  # between a stream's first and second chunk


@dataclass
class Received:
    at: float  # time.monotonic()
    path: str
    model: str
    key: str | None


@dataclass
class Upstream:
    name: str
    url: str = ""
    # "ok", "500", "429", "hang" (no answer until the client gives up), "cut" (a stream's
    # first chunk, then the connection closes)
    mode: str = "ok"
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)

    def answered(self) -> int:
        return len(self.received)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.method == "POST" else {}
        self.received.append(
            Received(
                time.monotonic(),
                request.path,
                body.get("model", ""),
                request.headers.get("Authorization"),
            )
        )
        if self.mode == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if self.mode == "429":
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers=headers
            )
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if request.path.endswith("/models"):
            return web.json_response({"object": "list", "data": []})
        if request.path.endswith("/embeddings"):
            return web.json_response(self._embeddings(body))
        if body.get("stream"):
            return await self._stream(request, body)
        answer = web.json_response(self._completion(request.path, body))
        answer.enable_compression()  # gzip when asked, as OpenAI's API does
        return answer

    def _usage(self) -> dict[str, int]:
        return {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}

    def _completion(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        text = f"hello from {self.name}"
        common = {"id": "x-1", "created": 1, "model": body["model"], "usage": self._usage()}
        if path.endswith("/chat/completions"):
            return {
                **common,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
            }
        return {
            **common,
            "object": "text_completion",
            "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return {
            "object": "list",
            "model": body["model"],
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                for i in range(len(inputs))
            ],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }

    async def _stream(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """Three chunks with a pause after the first, then the usage and ``[DONE]``."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        def event(content: str | None, usage: dict[str, int] | None = None) -> bytes:
            chunk = {
                "id": "x-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": body["model"],
                "choices": []
                if content is None
                else [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
                "usage": usage,
            }
            return f"data: {json.dumps(chunk)}\n\n".encode()

        await response.write(event(f"hello from {self.name}"))
        await asyncio.sleep(STREAM_PAUSE)
        if self.mode == "cut":
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(event(" and"))
        await response.write(event(" goodbye"))
        await response.write(event(None, self._usage()))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@contextlib.asynccontextmanager
async def upstreams(*names: str) -> AsyncIterator[dict[str, Upstream]]:
    """One running upstream per name, on 127.0.0.1, each with its base URL."""
    found = {name: Upstream(name) for name in names}
    async with contextlib.AsyncExitStack() as stack:
        for upstream in found.values():
            app = web.Application()
            app.router.add_route("*", "/v1/{tail:.*}", upstream.handle)
            # A hanging handler is cancelled at the end rather than awaited for a minute.
            upstream.url = await stack.enter_async_context(served(app, shutdown_timeout=0.5))
        yield found
