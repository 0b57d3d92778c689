"""A GPU instance's states and the moves between them. PROVISIONING → BOOTING → READY →
DRAINING → TERMINATED; READY → RECOVERING → READY after a preemption or missed heartbeats;
FAILED from any live state. Anything else is 409 ``INVALID_TRANSITION``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from galapagos_core.kernel.errors import Conflict
from galapagos_model.enums import GpuInstanceStatus as S
from galapagos_model.gpu import GpuInstance
from galapagos_model.queries import gpu as gpu_queries

LIVE = frozenset({S.PROVISIONING, S.BOOTING, S.READY, S.RECOVERING, S.DRAINING})
MOVES: dict[S, frozenset[S]] = {
    S.PROVISIONING: frozenset({S.BOOTING, S.DRAINING}),
    S.BOOTING: frozenset({S.READY, S.DRAINING}),
    S.READY: frozenset({S.RECOVERING, S.DRAINING}),
    S.RECOVERING: frozenset({S.READY, S.DRAINING}),
    S.DRAINING: frozenset({S.TERMINATED}),
    S.TERMINATED: frozenset(),
    S.FAILED: frozenset(),
}


def allowed(current: S, wanted: S) -> bool:
    return wanted in MOVES[current] or (wanted == S.FAILED and current in LIVE)


def invalid_transition(current: S, wanted: S) -> Conflict:
    return Conflict(
        f"a GPU instance cannot go from {current.value} to {wanted.value}",
        code="INVALID_TRANSITION",
        current=current.value,
        wanted=wanted.value,
    )


def check(current: S, wanted: S) -> None:
    """Raise 409 INVALID_TRANSITION unless ``current`` may become ``wanted``."""
    if not allowed(current, wanted):
        raise invalid_transition(current, wanted)


async def move(instance: GpuInstance, wanted: S, message: str, **fields: Any) -> None:
    """Take ``instance`` (its row locked by the caller) to ``wanted`` with ``fields``, and
    record why as its event; 409 INVALID_TRANSITION when it may not go there."""
    check(instance.status, wanted)
    if wanted == S.TERMINATED or wanted == S.FAILED:
        fields.setdefault("terminated_at", datetime.now(UTC))
    await gpu_queries.update_instance(instance, status=wanted, status_message=message, **fields)
    await gpu_queries.add_event(instance, wanted, message)
