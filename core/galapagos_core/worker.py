"""The worker process's loops (today: the build worker), startable inside any event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from galapagos_core.builds.builders import configured_builders
from galapagos_core.builds.worker import BuildWorker
from galapagos_core.config import Settings
from galapagos_core.http import HttpClient


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[BuildWorker]:
    """Run the worker loops in the background for the duration of the block."""
    http = HttpClient(timeout=settings.builds.external.timeout_seconds)
    worker = BuildWorker(configured_builders(settings, http), settings.builds)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="build-worker")
    try:
        yield worker
    finally:
        stop.set()
        await task
        await http.close()
