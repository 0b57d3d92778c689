"""The traffic routers' counters per variant, read where the environment keeps them
(galapagos_core.workloads.metrics). Both sources answer cumulative counters; rollout gates
and windows difference two readings. Only Prometheus keeps history: Ray's endpoint answers
for now.

The router (galapagos_runtime.router) exports ``galapagos_variant_requests`` and the
``galapagos_variant_latency_ms`` histogram; Ray prefixes them with ``ray_``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from galapagos_core.kernel.errors import InvalidInput
from galapagos_core.traffic.gates import Counts
from galapagos_core.workloads.metrics import Metrics, prometheus_of
from galapagos_model.catalog import Environment

REQUESTS = "ray_galapagos_variant_requests"
LATENCY = "ray_galapagos_variant_latency_ms"


class _Tally:
    def __init__(self) -> None:
        self.requests: dict[str, float] = defaultdict(float)
        self.errors: dict[str, float] = defaultdict(float)
        self.buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))

    def request(self, labels: dict[str, str], value: float) -> None:
        variant = labels["variant"]
        self.requests[variant] += value
        if labels.get("code") in ("5xx", "error"):
            self.errors[variant] += value

    def bucket(self, labels: dict[str, str], value: float) -> None:
        self.buckets[labels["variant"]][float(labels["le"])] += value

    def counts(self) -> dict[str, Counts]:
        names = set(self.requests) | set(self.buckets)
        return {n: Counts(self.requests[n], self.errors[n], dict(self.buckets[n])) for n in names}


class RouterMetrics(Metrics):
    async def counts(
        self, environment: Environment, serve: str, at: datetime | None = None
    ) -> dict[str, Counts]:
        """Each variant's primary requests until ``at`` (None: now), by variant name."""
        prometheus = prometheus_of(environment)
        if prometheus:
            return await self._from_prometheus(prometheus, serve, at)
        if at is not None:
            raise InvalidInput(
                f"environment '{environment.name}' keeps no metrics history (it names no "
                "prometheus_url): its figures count from the routers' start, leave since and "
                "until out",
                code="INVALID_TIME_RANGE",
                env=environment.name,
            )
        tally = _Tally()
        for sample in await self.ray_samples(environment):
            labels = sample.labels
            if labels.get("serve") != serve or labels.get("role") != "primary":
                continue
            if sample.name in (REQUESTS, f"{REQUESTS}_total"):
                tally.request(labels, sample.value)
            elif sample.name == f"{LATENCY}_bucket":
                tally.bucket(labels, sample.value)
        return tally.counts()

    async def window(
        self, environment: Environment, serve: str, since: datetime | None, until: datetime | None
    ) -> dict[str, Counts]:
        """What each variant answered between ``since`` (None: the routers' start) and
        ``until`` (None: now)."""
        if since is None:
            return await self.counts(environment, serve, until)
        earlier = await self.counts(environment, serve, since)
        later = await self.counts(environment, serve, until)
        return {name: c.since(earlier.get(name, Counts())) for name, c in later.items()}

    async def _from_prometheus(
        self, base: str, serve: str, at: datetime | None
    ) -> dict[str, Counts]:
        selector = f'serve="{serve}",role="primary"'
        tally = _Tally()
        for labels, value in await self.query(
            base, f"sum by (variant, code) ({{__name__=~'{REQUESTS}(_total)?',{selector}}})", at
        ):
            tally.request(labels, value)
        for labels, value in await self.query(
            base, f"sum by (variant, le) ({LATENCY}_bucket{{{selector}}})", at
        ):
            tally.bucket(labels, value)
        return tally.counts()
