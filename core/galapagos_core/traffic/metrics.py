"""The traffic routers' counters per variant, read where the environment keeps them: its
Prometheus (``environment_configs.prometheus_url``) or, without one, the local Ray head's
metrics endpoint. Both answer cumulative counters; rollout gates difference two readings.

The router (galapagos_runtime.router) exports ``galapagos_variant_requests`` and the
``galapagos_variant_latency_ms`` histogram; Ray prefixes them with ``ray_``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from galapagos_core.kernel.errors import GalapagosError
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

    async def counts(self, environment: Environment, serve: str) -> dict[str, Counts]:
        """Each variant's primary requests so far, by variant name."""
        prometheus = environment.env_configs.get("prometheus_url")
        if prometheus:
            return await self._from_prometheus(str(prometheus), serve)
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

    async def _from_prometheus(self, base: str, serve: str) -> dict[str, Counts]:
        selector = f'serve="{serve}",role="primary"'
        tally = _Tally()
        for labels, value in await self._query(
            base, f"sum by (variant, code) ({{__name__=~'{REQUESTS}(_total)?',{selector}}})"
        ):
            tally.request(labels, value)
        for labels, value in await self._query(
            base, f"sum by (variant, le) ({LATENCY}_bucket{{{selector}}})"
        ):
            tally.bucket(labels, value)
        return tally.counts()

    async def _query(self, base: str, query: str) -> list[tuple[dict[str, str], float]]:
        url = f"{base.rstrip('/')}/api/v1/query"
        try:
            answer: Any = await self.http.json("GET", url, params={"query": query})
        except HttpError as exc:
            raise MetricsUnavailable(f"Prometheus at {base}: {exc}") from exc
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise MetricsUnavailable(f"Prometheus at {base} refused the query")
        rows = []
        for row in answer["data"]["result"]:
            value = float(row["value"][1])
            rows.append((row["metric"], 0.0 if math.isnan(value) else value))
        return rows
