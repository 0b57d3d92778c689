"""Real HTTP servers for the tests' stand-ins of external services: an aiohttp application on a
free port, for as long as the block runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def served(
    app: web.Application, host: str = "127.0.0.1", shutdown_timeout: float = 60.0
) -> AsyncIterator[str]:
    """``app`` answering on a free port of ``host``; its base URL. ``shutdown_timeout``: how
    long the end waits for handlers still running before it cancels them."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, 0).start()
        address, port = runner.addresses[0][:2]
        yield f"http://{address}:{port}"
    finally:
        await runner.cleanup()
