"""Discovery: which READY instances serve a model, least loaded first, answered without
touching the SQL database (the seed's budget is a millisecond).

What discovery knows lives in a store: this process's memory (:class:`MemoryStore`), or Redis
(:class:`RedisStore`) when several API replicas, and the routers, share one view.
:class:`Discovery` keeps the store fresh: every write this process makes is told once
committed, and every ``discovery_refresh_seconds`` the instances written since the last look
(by any process: the worker moving states, another replica taking heartbeats) are read by
their ``updated_at``. Each instance's news carries its ``updated_at`` as a version, and a
store keeps the newest it was told: a refresh that read a row just before a heartbeat
committed cannot put the older load back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from galapagos_core.kernel.errors import Unavailable
from galapagos_core.kernel.loops import every
from galapagos_model.enums import GpuInstanceStatus
from galapagos_model.gpu import GpuInstance
from galapagos_model.queries import gpu as gpu_queries

log = logging.getLogger("galapagos.gpu")


@dataclass(frozen=True)
class Endpoint:
    """An instance as discovery knows it."""

    instance_id: str
    model_id: str
    url: str
    load: float  # requests in flight, as its last heartbeat said
    heartbeat_at: float  # seconds since the epoch
    version: int  # its row's updated_at in microseconds since the epoch: newer news wins
    status: str = GpuInstanceStatus.READY.value

    @property
    def ready(self) -> bool:
        """It takes requests now."""
        return self.status == GpuInstanceStatus.READY.value and bool(self.url)


def endpoint_of(instance: GpuInstance) -> Endpoint:
    """What discovery is told of ``instance`` as written."""
    beat = instance.last_heartbeat_at or instance.updated_at
    return Endpoint(
        str(instance.id),
        instance.llm_model.model_id,
        instance.endpoint or "",
        instance.current_load,
        beat.timestamp(),
        round(instance.updated_at.timestamp() * 1_000_000),
        instance.status.value,
    )


def least_loaded(endpoints: list[Endpoint]) -> list[Endpoint]:
    """Least loaded first, then the freshest heartbeat."""
    return sorted(endpoints, key=lambda e: (e.load, -e.heartbeat_at, e.instance_id))


class DiscoveryStore(Protocol):
    async def tell(self, endpoints: list[Endpoint]) -> None:
        """Keep each endpoint unless what is kept of its instance is newer."""

    async def ready(self, model_id: str) -> list[Endpoint]:
        """The model's READY instances, least loaded first."""

    async def clear(self) -> None:
        """Forget every instance."""

    async def close(self) -> None: ...


class DiscoveryUnavailable(Unavailable):
    """The store does not answer (Redis down): callers get a 503 and try again."""

    default_code = "DISCOVERY_UNAVAILABLE"


# How long a store remembers an instance that left READY (so that older news of it, still on
# its way, cannot bring it back); then it is forgotten, and memory holds live instances only.
KEPT_SECONDS = 86_400


class MemoryStore:
    """This process's view: READY instances by model, and the version of every instance it
    was told of (of one that left READY, for ``kept_seconds``). Reads copy nothing they do not
    return."""

    def __init__(
        self, kept_seconds: float = KEPT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.kept_seconds = kept_seconds
        self.clock = clock
        self._by_model: dict[str, dict[str, Endpoint]] = {}
        self._known: dict[str, Endpoint] = {}
        self._forget_at: dict[str, float] = {}  # instances out of READY, in the order they left

    def __len__(self) -> int:
        """Instances it remembers."""
        return len(self._known)

    def put(self, endpoint: Endpoint) -> None:
        known = self._known.get(endpoint.instance_id)
        if known is not None:
            if known.version > endpoint.version:
                return
            ready = self._by_model.get(known.model_id, {})
            ready.pop(known.instance_id, None)
            if not ready:
                self._by_model.pop(known.model_id, None)
        self._known[endpoint.instance_id] = endpoint
        self._forget_at.pop(endpoint.instance_id, None)
        if endpoint.ready:
            self._by_model.setdefault(endpoint.model_id, {})[endpoint.instance_id] = endpoint
        else:
            self._forget_at[endpoint.instance_id] = self.clock() + self.kept_seconds
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = self.clock()
        while self._forget_at:
            instance_id, deadline = next(iter(self._forget_at.items()))
            if deadline > now:
                return
            del self._forget_at[instance_id]
            del self._known[instance_id]

    def get(self, model_id: str) -> list[Endpoint]:
        found = self._by_model.get(model_id)
        return least_loaded(list(found.values())) if found else []

    async def tell(self, endpoints: list[Endpoint]) -> None:
        for endpoint in endpoints:
            self.put(endpoint)

    async def ready(self, model_id: str) -> list[Endpoint]:
        return self.get(model_id)

    async def clear(self) -> None:
        self._by_model.clear()
        self._known.clear()
        self._forget_at.clear()

    async def close(self) -> None:
        pass


# Overlap between refreshes: a row is stamped (updated_at) before its transaction commits,
# and by another process's clock; rows stamped this long before a refresh began are read
# again by the next one.
_OVERLAP = timedelta(seconds=2)


class Discovery:
    """The store, and what keeps it fresh from the database."""

    def __init__(self, store: DiscoveryStore, refresh_seconds: float) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._since: datetime | None = None

    async def tell(self, instance: GpuInstance) -> None:
        """``instance`` as this process just wrote it (once its transaction committed). A
        store that does not answer is left to the next refresh to repair."""
        try:
            await self.store.tell([endpoint_of(instance)])
        except DiscoveryUnavailable as exc:
            log.warning("discovery not told of instance %s: %s", instance.name, exc)

    async def refresh(self) -> None:
        """Read the instances written since the last refresh began, less the overlap (every
        live one the first time)."""
        began = datetime.now(UTC)
        changed = await gpu_queries.changed_since(self._since)
        try:
            await self.store.tell([endpoint_of(i) for i in changed])
        except DiscoveryUnavailable:
            self._since = None  # the store may come back empty: tell it everything then
            raise
        self._since = began - _OVERLAP

    async def instances(self, model_id: str) -> list[Endpoint]:
        """The model's READY instances, least loaded first."""
        return await self.store.ready(model_id)

    async def forget(self) -> None:
        """Drop what is known: the next refresh reads every live instance afresh (after the
        database was restored, or emptied)."""
        await self.store.clear()
        self._since = None

    async def run(self, stop: asyncio.Event) -> None:
        await every(self.refresh_seconds, stop, self.refresh, name="gpu-discovery")

    async def close(self) -> None:
        await self.store.close()
