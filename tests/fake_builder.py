"""A small HTTP server following Darwin's artifact-builder contract, scripted per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.http_servers import served


@dataclass
class Script:
    """What the builder answers: ``submit`` once, then ``statuses`` in order (last repeats).

    A status entry is a dict (the JSON answer), an int (an HTTP error status) or a float
    (seconds to stall before answering the next entry).
    """

    submit: dict[str, Any] = field(
        default_factory=lambda: {
            "status": "SUCCESS",
            "task_id": "task-1",
            "logs_url": "http://builder/logs/task-1",
            "message": "queued",
        }
    )
    statuses: list[dict[str, Any] | int | float] = field(default_factory=list)
    submitted: list[dict[str, str]] = field(default_factory=list)
    polls: int = 0


@asynccontextmanager
async def fake_builder(script: Script) -> AsyncIterator[str]:
    async def build(request: web.Request) -> web.Response:
        form = await request.post()
        script.submitted.append({k: str(v) for k, v in form.items()})
        return web.json_response(script.submit)

    async def status(request: web.Request) -> web.Response:
        index = min(script.polls, len(script.statuses) - 1)
        script.polls += 1
        answer = script.statuses[index]
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            return web.json_response({"status": "SUCCESS", "build_status": "running"})
        if isinstance(answer, int):
            return web.json_response({"error": "boom"}, status=answer)
        assert request.query["task_id"] == script.submit["task_id"]
        return web.json_response(answer)

    app = web.Application()
    app.router.add_post("/build_with_dockerfile", build)
    app.router.add_get("/task/status", status)
    async with served(app) as url:
        yield url
