"""Discovery: which READY instances serve a model, least loaded first, answered without
touching the SQL database (the seed's budget is a millisecond).

:class:`DiscoveryIndex` holds them in process. :class:`Discovery` keeps it fresh: every write
this process makes is noted once committed, and every ``discovery_refresh_seconds`` the
instances written since the last look (by any process: the worker moving states, another API
replica taking heartbeats) are read by their ``updated_at``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from galapagos_core.kernel.loops import every
from galapagos_model.enums import GpuInstanceStatus
from galapagos_model.gpu import GpuInstance
from galapagos_model.queries import gpu as gpu_queries

log = logging.getLogger("galapagos.gpu")


@dataclass(frozen=True)
class Endpoint:
    instance_id: str
    model_id: str
    url: str
    load: float  # requests in flight, as its last heartbeat said
    heartbeat_at: float  # seconds since the epoch


class DiscoveryIndex:
    """READY instances by model. Writes replace an instance's entry whole; reads copy nothing
    they do not return."""

    def __init__(self) -> None:
        self._by_model: dict[str, dict[str, Endpoint]] = {}
        self._model_of: dict[str, str] = {}

    def put(self, endpoint: Endpoint) -> None:
        """``endpoint`` is READY (or its load changed)."""
        previous = self._model_of.get(endpoint.instance_id)
        if previous is not None and previous != endpoint.model_id:
            self.remove(endpoint.instance_id)
        self._by_model.setdefault(endpoint.model_id, {})[endpoint.instance_id] = endpoint
        self._model_of[endpoint.instance_id] = endpoint.model_id

    def remove(self, instance_id: str) -> None:
        """The instance left READY (draining, recovering, gone)."""
        model = self._model_of.pop(instance_id, None)
        if model is not None:
            instances = self._by_model.get(model, {})
            instances.pop(instance_id, None)
            if not instances:
                self._by_model.pop(model, None)

    def instances(self, model_id: str) -> list[Endpoint]:
        """The model's READY instances, least loaded first (then the freshest heartbeat)."""
        found = self._by_model.get(model_id)
        if not found:
            return []
        return sorted(found.values(), key=lambda e: (e.load, -e.heartbeat_at, e.instance_id))


def endpoint_of(instance: GpuInstance) -> Endpoint | None:
    """Where discovery sends callers of ``instance`` (None: it takes no requests now)."""
    if instance.status != GpuInstanceStatus.READY or not instance.endpoint:
        return None
    beat = instance.last_heartbeat_at or instance.updated_at
    return Endpoint(
        str(instance.id),
        instance.llm_model.model_id,
        instance.endpoint,
        instance.current_load,
        beat.timestamp(),
    )


# Rows written in the same instant as the last one seen, or committed a little after a
# later-stamped row, are read again: a window this wide is looked at twice.
_OVERLAP = timedelta(seconds=2)


class Discovery:
    """The in-process index, and what keeps it fresh from the database."""

    def __init__(self, refresh_seconds: float) -> None:
        self.index = DiscoveryIndex()
        self.refresh_seconds = refresh_seconds
        self._seen: datetime | None = None

    def note(self, instance: GpuInstance) -> None:
        """``instance`` as this process just wrote it (called once its transaction commits)."""
        endpoint = endpoint_of(instance)
        if endpoint is None:
            self.index.remove(str(instance.id))
        else:
            self.index.put(endpoint)

    async def refresh(self) -> None:
        """Read the instances written since the last refresh (every live one the first time)."""
        since = None if self._seen is None else self._seen - _OVERLAP
        for instance in await gpu_queries.changed_since(since):
            self.note(instance)
            if self._seen is None or instance.updated_at > self._seen:
                self._seen = instance.updated_at
        if self._seen is None:
            self._seen = datetime.now().astimezone() - _OVERLAP

    def instances(self, model_id: str) -> list[Endpoint]:
        return self.index.instances(model_id)

    def forget(self) -> None:
        """Drop what is known: the next refresh reads every live instance afresh (after the
        database was restored, or emptied)."""
        self.index = DiscoveryIndex()
        self._seen = None

    async def run(self, stop: asyncio.Event) -> None:
        await every(self.refresh_seconds, stop, self.refresh, name="gpu-discovery")
