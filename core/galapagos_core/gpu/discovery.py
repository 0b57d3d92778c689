"""Discovery: which READY instances serve a model, least loaded first, answered without
touching the SQL database (the seed's budget is a millisecond). This is the in-process
index; what feeds it (the instances' state changes and heartbeats, and Redis's
``catalog:model:{id}:instances`` and ``instance:{id}`` when several API replicas share it)
comes with the GPU instances themselves."""

from __future__ import annotations

from dataclasses import dataclass


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
