"""The traffic routers' counters per variant, read where the environment keeps them: its
Prometheus (``environment_configs.prometheus_url``) or, without one, the local Ray head's
metrics endpoint. Both answer cumulative counters; rollout gates and windows difference two
readings. Only Prometheus keeps history: Ray's endpoint answers for now.

The router (galapagos_runtime.router) exports ``galapagos_variant_requests`` and the
``galapagos_variant_latency_ms`` histogram; Ray prefixes them with ``ray_``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from galapagos_core.kernel.errors import GalapagosError, InvalidInput
from galapagos_core.kernel.http import HttpClient, HttpError
from galapagos_core.traffic.gates import Counts
from galapagos_core.workloads.backends.ray import RayEndpoint
from galapagos_model.catalog import Environment

REQUESTS = "ray_galapagos_variant_requests"
LATENCY = "ray_galapagos_variant_latency_ms"


class MetricsUnavailable(GalapagosError):
    status_code = 502
    default_code = "PROMETHEUS_QUERY_FAILED"


Resolver = Callable[[Environment], Awaitable[RayEndpoint]]


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


class RouterMetrics:
    def __init__(self, http: HttpClient, ray_endpoint: Resolver) -> None:
        self.http = http
        self.ray_endpoint = ray_endpoint

    async def counts(
        self, environment: Environment, serve: str, at: datetime | None = None
    ) -> dict[str, Counts]:
        """Each variant's primary requests until ``at`` (None: now), by variant name."""
        prometheus = environment.env_configs.get("prometheus_url")
        if prometheus:
            return await self._from_prometheus(str(prometheus), serve, at)
        if at is not None:
            raise InvalidInput(
                f"environment '{environment.name}' keeps no metrics history (it names no "
                "prometheus_url): its figures count from the routers' start, leave since and "
                "until out",
                code="INVALID_TIME_RANGE",
                env=environment.name,
            )
        endpoint = await self.ray_endpoint(environment)
        if endpoint.metrics is None:
            raise MetricsUnavailable(
                f"environment '{environment.name}' names no prometheus_url and its Ray's "
                "metrics cannot be read directly: set environment_configs.prometheus_url",
                code="METRICS_UNAVAILABLE",
                env=environment.name,
            )
        return await self._from_ray(endpoint.metrics, serve)

    async def _from_ray(self, url: str, serve: str) -> dict[str, Counts]:
        try:
            text = await self.http.text(url)
        except HttpError as exc:
            raise MetricsUnavailable(f"Ray's metrics at {url}: {exc}") from exc
        tally = _Tally()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
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
        for labels, value in await self._query(
            base, f"sum by (variant, code) ({{__name__=~'{REQUESTS}(_total)?',{selector}}})", at
        ):
            tally.request(labels, value)
        for labels, value in await self._query(
            base, f"sum by (variant, le) ({LATENCY}_bucket{{{selector}}})", at
        ):
            tally.bucket(labels, value)
        return tally.counts()

    async def _query(
        self, base: str, query: str, at: datetime | None
    ) -> list[tuple[dict[str, str], float]]:
        url = f"{base.rstrip('/')}/api/v1/query"
        params = {"query": query}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        try:
            answer: Any = await self.http.json("GET", url, params=params)
        except HttpError as exc:
            raise MetricsUnavailable(f"Prometheus at {base}: {exc}") from exc
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise MetricsUnavailable(f"Prometheus at {base} refused the query")
        rows = []
        for row in answer["data"]["result"]:
            value = float(row["value"][1])
            rows.append((row["metric"], 0.0 if math.isnan(value) else value))
        return rows
