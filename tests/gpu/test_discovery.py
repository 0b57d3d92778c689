"""Discovery's in-process store: READY instances by model, least loaded first; an instance
that leaves READY, or moves to another model, is gone from where it was; older news about an
instance never replaces newer; one out of READY is forgotten after a while."""

from __future__ import annotations

from galapagos_core.gpu.discovery import Endpoint, MemoryStore


def _at(
    instance: str,
    model: str,
    load: float,
    version: int,
    *,
    beat: float = 0.0,
    status: str = "READY",
) -> Endpoint:
    return Endpoint(instance, model, f"http://{instance}:8000/v1", load, beat, version, status)


def _ids(store: MemoryStore, model: str) -> list[str]:
    return [e.instance_id for e in store.get(model)]


def test_least_loaded_first_and_newer_news_replaces() -> None:
    store = MemoryStore()
    for instance, load in (("a", 3), ("b", 1), ("c", 2)):
        store.put(_at(instance, "llama", load, 1))
    store.put(_at("d", "mistral", 0, 1))
    assert _ids(store, "llama") == ["b", "c", "a"]
    store.put(_at("b", "llama", 9, 2))  # a heartbeat with a new load
    assert _ids(store, "llama") == ["c", "a", "b"]
    store.put(_at("a", "llama", 2, 2, beat=5.0))  # same load: the fresher heartbeat first
    assert _ids(store, "llama") == ["a", "c", "b"]
    store.put(_at("b", "llama", 0, 1))  # read before the heartbeat, told after it
    assert _ids(store, "llama") == ["a", "c", "b"]
    assert store.get("unknown") == []


def test_leaving_ready_or_changing_model_removes_it() -> None:
    store = MemoryStore()
    store.put(_at("a", "llama", 0, 1))
    store.put(_at("b", "llama", 0, 1))
    store.put(_at("a", "llama", 0, 2, status="DRAINING"))
    store.put(_at("a", "llama", 0, 1))  # the older READY comes too late
    assert _ids(store, "llama") == ["b"]
    store.put(_at("b", "mistral", 0, 2))
    assert store.get("llama") == []
    assert _ids(store, "mistral") == ["b"]
    unreachable = Endpoint("c", "llama", "", 0, 0.0, 1, "READY")  # READY with no URL yet
    store.put(unreachable)
    assert _ids(store, "llama") == []


def test_an_instance_out_of_ready_is_remembered_for_a_while_then_forgotten() -> None:
    now = [0.0]
    store = MemoryStore(kept_seconds=60, clock=lambda: now[0])
    store.put(_at("a", "llama", 0, 1))
    store.put(_at("b", "llama", 0, 1))
    store.put(_at("a", "llama", 0, 2, status="TERMINATED"))
    now[0] = 30
    store.put(_at("c", "llama", 0, 1, status="PROVISIONING"))
    store.put(_at("a", "llama", 0, 1))  # older news within the time: still refused
    assert _ids(store, "llama") == ["b"]
    assert len(store) == 3
    now[0] = 61
    store.put(_at("b", "llama", 1, 2))
    assert len(store) == 2  # a forgotten; c (out of READY since 30) and b remembered
    now[0] = 91
    store.put(_at("c", "llama", 0, 2))  # c READY: remembered for as long as it is
    now[0] = 10_000
    store.put(_at("b", "llama", 2, 3))
    assert len(store) == 2
    assert _ids(store, "llama") == ["c", "b"]
