"""The LLM router's choice of backends for one request to a virtual model, and the cooldown of
failing backends. Pure and synchronous: the router application calls it per request.

Order of attempts: the tiers by priority (0 first); within a tier, a weighted random order
(each backend's chance to come first is its share of the tier's weight; weight 0 comes last,
a backend of last resort). Backends cooling down are left out; when every backend of every tier
is, the one whose last failure is oldest is tried rather than failing at once.

Cooldown, as LiteLLM users know it: ``allowed_fails`` failures within ``window`` seconds put a
backend in cooldown for ``cooldown`` seconds (or what its ``Retry-After`` asks, if longer); a
backend that fails again while cooling (tried as the last resort) starts a new cooldown from
that failure: its deadline moves later, never earlier.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    """One place a virtual model's requests may go."""

    id: str
    url: str  # the OpenAI-compatible base URL, ending before /v1/...
    model: str  # the model name sent upstream
    weight: int = 1
    priority: int = 0
    api_key: str | None = None  # sent as a bearer token; never logged
    name: str = ""  # what figures and answers call it (the id when empty)


@dataclass
class _Health:
    failures: deque[float] = field(default_factory=deque)
    until: float = 0.0  # cooling down until then
    last_failure: float = -math.inf


@dataclass(frozen=True)
class CooldownPolicy:
    allowed_fails: int = 3
    window: float = 60.0
    cooldown: float = 5.0


class Cooldowns:
    """Which backends are cooling down, and until when (per router replica)."""

    def __init__(self, policy: CooldownPolicy = CooldownPolicy()) -> None:
        self.policy = policy
        self._health: dict[str, _Health] = {}

    def failed(self, backend: str, now: float, retry_after: float | None = None) -> None:
        """A failure of ``backend`` at ``now`` (``retry_after``: what it asked to wait)."""
        health = self._health.setdefault(backend, _Health())
        health.last_failure = now
        health.failures.append(now)
        while health.failures and health.failures[0] <= now - self.policy.window:
            health.failures.popleft()
        cooling = health.until > now
        if not cooling and retry_after is None and len(health.failures) < self.policy.allowed_fails:
            return
        pause = max(self.policy.cooldown, retry_after or 0.0)
        health.until = max(health.until, now + pause)
        health.failures.clear()  # the next cooldown needs allowed_fails new failures

    def succeeded(self, backend: str) -> None:
        """An answer from ``backend``: its earlier failures no longer count towards a
        cooldown (one already running ends at its deadline)."""
        health = self._health.get(backend)
        if health is not None:
            health.failures.clear()

    def cooling_until(self, backend: str, now: float) -> float | None:
        health = self._health.get(backend)
        if health is None or health.until <= now:
            return None
        return health.until

    def last_failure(self, backend: str) -> float:
        health = self._health.get(backend)
        return health.last_failure if health is not None else -math.inf


def _weighted_order(backends: Sequence[Backend], draw: Callable[[], float]) -> list[Backend]:
    """A random order where each backend comes first with probability weight / total
    (Efraimidis-Spirakis keys); weight 0 last, in their given order."""
    weighted = [b for b in backends if b.weight > 0]
    keyed = sorted(weighted, key=lambda b: -math.log(1.0 - draw()) / b.weight)
    return keyed + [b for b in backends if b.weight <= 0]


def attempts(
    backends: Iterable[Backend],
    cooldowns: Cooldowns,
    now: float,
    draw: Callable[[], float] = random.random,
) -> list[Backend]:
    """The backends to try for one request, in order."""
    tiers: dict[int, list[Backend]] = {}
    for backend in backends:
        tiers.setdefault(backend.priority, []).append(backend)
    order: list[Backend] = []
    cooling: list[Backend] = []
    for priority in sorted(tiers):
        for backend in _weighted_order(tiers[priority], draw):
            if cooldowns.cooling_until(backend.id, now) is None:
                order.append(backend)
            else:
                cooling.append(backend)
    if not order and cooling:
        order.append(min(cooling, key=lambda b: cooldowns.last_failure(b.id)))
    return order
