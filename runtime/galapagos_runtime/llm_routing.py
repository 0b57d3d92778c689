"""The LLM router's choice of backends for one request to a virtual model, and the cooldown of
failing backends. Pure and synchronous: the router application calls it per request.

Order of attempts: the tiers by priority (0 first); within a tier, a weighted random order
(each backend's chance to come next is its share of the weight of those not yet tried;
weight 0 comes last, a backend of last resort). Backends cooling down are left out; when every
backend of every tier is, the one whose last failure is oldest is tried rather than failing at
once. The order is drawn lazily: a request that the first backend answers costs one draw
and a binary search over the tier's cumulative weights.

Cooldown, as LiteLLM users know it: ``allowed_fails`` failures within ``window`` seconds put a
backend in cooldown for ``cooldown`` seconds (or what its ``Retry-After`` asks, if longer); a
backend that fails again while cooling (tried as the last resort) starts a new cooldown from
that failure: its deadline moves later, never earlier.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    """One place a virtual model's requests may go."""

    id: str
    url: str  # the OpenAI-compatible base URL, as OpenAI clients take it (``…/v1``)
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


# A draw that lands on a backend to skip (tried, or cooling down) is drawn again this many
# times before the tier's remaining backends are listed: with few skipped, the choice costs
# the same for ten backends or a thousand.
_REDRAWS = 8


@dataclass(frozen=True)
class Tier:
    """One priority's backends: those with weight, with their cumulative weights, and those
    of weight 0 (tried last, in their given order)."""

    priority: int
    weighted: tuple[Backend, ...]
    cumulative: tuple[float, ...]
    spare: tuple[Backend, ...]

    @classmethod
    def of(cls, priority: int, backends: Sequence[Backend]) -> Tier:
        weighted = tuple(b for b in backends if b.weight > 0)
        cumulative = tuple(itertools.accumulate(float(b.weight) for b in weighted))
        return cls(priority, weighted, cumulative, tuple(b for b in backends if b.weight <= 0))

    def pick(self, skip: Callable[[Backend], bool], draw: Callable[[], float]) -> Backend | None:
        """A backend not skipped, each with a chance in proportion to its weight; None when
        every weighted one is skipped."""
        if not self.weighted:
            return None
        total = self.cumulative[-1]
        last = len(self.weighted) - 1
        for _ in range(_REDRAWS):
            backend = self.weighted[min(bisect.bisect_right(self.cumulative, draw() * total), last)]
            if not skip(backend):
                return backend
        rest = [b for b in self.weighted if not skip(b)]
        if not rest:
            return None
        point = draw() * sum(b.weight for b in rest)
        for backend in rest:
            point -= backend.weight
            if point < 0:
                return backend
        return rest[-1]


@dataclass(frozen=True)
class Plan:
    """A virtual model's backends as tiers, made once per configuration."""

    tiers: tuple[Tier, ...]
    backends: tuple[Backend, ...]

    @classmethod
    def of(cls, backends: Iterable[Backend]) -> Plan:
        by_priority: dict[int, list[Backend]] = {}
        for backend in backends:
            by_priority.setdefault(backend.priority, []).append(backend)
        tiers = tuple(Tier.of(p, by_priority[p]) for p in sorted(by_priority))
        return cls(tiers, tuple(b for tier in by_priority.values() for b in tier))


def attempts(
    plan: Plan, cooldowns: Cooldowns, now: float, draw: Callable[[], float] = random.random
) -> Iterator[Backend]:
    """The backends to try for one request, in order, each chosen only when the one before
    failed: the first costs a few draws, whatever the number of backends."""
    tried: set[str] = set()

    def skip(backend: Backend) -> bool:
        return backend.id in tried or cooldowns.cooling_until(backend.id, now) is not None

    for tier in plan.tiers:
        while (backend := tier.pick(skip, draw)) is not None:
            tried.add(backend.id)
            yield backend
        for backend in tier.spare:
            if not skip(backend):
                tried.add(backend.id)
                yield backend
    if not tried and plan.backends:  # every backend cools down
        yield min(plan.backends, key=lambda b: cooldowns.last_failure(b.id))
