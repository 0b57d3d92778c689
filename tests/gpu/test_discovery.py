"""The discovery index: READY instances by model, least loaded first; an instance that leaves
READY, or moves to another model, is gone from where it was."""

from __future__ import annotations

from galapagos_core.gpu.discovery import DiscoveryIndex, Endpoint


def _at(instance: str, model: str, load: float, heartbeat: float = 0.0) -> Endpoint:
    return Endpoint(instance, model, f"http://{instance}:8000/v1", load, heartbeat)


def test_least_loaded_first_and_updates_replace() -> None:
    index = DiscoveryIndex()
    for instance, load in (("a", 3), ("b", 1), ("c", 2)):
        index.put(_at(instance, "llama", load))
    index.put(_at("d", "mistral", 0))
    assert [e.instance_id for e in index.instances("llama")] == ["b", "c", "a"]
    index.put(_at("b", "llama", 9))  # a heartbeat with a new load
    assert [e.instance_id for e in index.instances("llama")] == ["c", "a", "b"]
    index.put(_at("a", "llama", 2, heartbeat=5.0))  # same load: the fresher heartbeat first
    assert [e.instance_id for e in index.instances("llama")] == ["a", "c", "b"]
    assert index.instances("unknown") == []


def test_leaving_ready_or_changing_model_removes_it() -> None:
    index = DiscoveryIndex()
    index.put(_at("a", "llama", 0))
    index.put(_at("b", "llama", 0))
    index.remove("a")
    index.remove("a")  # twice is fine
    assert [e.instance_id for e in index.instances("llama")] == ["b"]
    index.put(_at("b", "mistral", 0))
    assert index.instances("llama") == []
    assert [e.instance_id for e in index.instances("mistral")] == ["b"]
