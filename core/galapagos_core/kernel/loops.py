"""What every background loop shares: a name for the leases it holds, a pace with jitter, a
wake-up that intents recorded in the same process ring, and a stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("galapagos.loops")


def owner_id() -> str:
    """Who holds a lease: this host, this process, this loop (≤ 64 characters)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Wakeup:
    """Rung when work for a loop was recorded in this process: the loop starts its next pass
    at once instead of at the end of its interval (other processes wait for theirs)."""

    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def ring(self) -> None:
        self._event.set()

    async def pause(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait ``seconds``, or less if rung or stopped."""
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._event.wait())}
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            self._event.clear()


@dataclass
class Wakeups:
    """One wake-up per background loop, shared by a process's services and its worker."""

    reconcile: Wakeup = field(default_factory=Wakeup)
    builds: Wakeup = field(default_factory=Wakeup)


async def every(
    interval: float,
    stop: asyncio.Event,
    tick: Callable[[], Awaitable[None]],
    *,
    name: str,
    wakeup: Wakeup | None = None,
) -> None:
    """Run ``tick`` every ``interval`` seconds (±20% so replicas do not march in step) until
    ``stop`` is set; a failing pass is logged and the next one comes as usual."""
    wakeup = wakeup or Wakeup()
    while not stop.is_set():
        try:
            await tick()
        except Exception:
            log.exception("%s: pass failed", name)
        await wakeup.pause(interval * random.uniform(0.8, 1.2), stop)


@contextlib.asynccontextmanager
async def background(
    loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
) -> AsyncIterator[None]:
    """Run ``loop(stop)`` as a task for the duration of the block, then stop it and wait."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    try:
        yield
    finally:
        stop.set()
        await task
