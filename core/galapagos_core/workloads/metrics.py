"""Reading what the platform's routers export (Ray's metrics, in Prometheus' format), where an
environment keeps it: its Prometheus (``environment_configs.prometheus_url``: PromQL, with
history) or, without one, the Ray head's metrics endpoint (now only)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from galapagos_core.kernel.errors import GalapagosError
from galapagos_core.kernel.http import HttpClient, HttpError
from galapagos_core.workloads.backends.ray import RayEndpoint
from galapagos_model.catalog import Environment

Resolver = Callable[[Environment], Awaitable[RayEndpoint]]


class MetricsUnavailable(GalapagosError):
    status_code = 502
    default_code = "PROMETHEUS_QUERY_FAILED"


def prometheus_of(environment: Environment) -> str | None:
    url = environment.env_configs.get("prometheus_url")
    return str(url) if url else None


class Metrics:
    def __init__(self, http: HttpClient, ray_endpoint: Resolver) -> None:
        self.http = http
        self.ray_endpoint = ray_endpoint

    async def ray_samples(self, environment: Environment) -> list[Sample]:
        """Every sample the environment's Ray head exports now."""
        endpoint = await self.ray_endpoint(environment)
        if endpoint.metrics is None:
            raise MetricsUnavailable(
                f"environment '{environment.name}' names no prometheus_url and its Ray's "
                "metrics cannot be read directly: set environment_configs.prometheus_url",
                code="METRICS_UNAVAILABLE",
                env=environment.name,
            )
        try:
            text = await self.http.text(endpoint.metrics)
        except HttpError as exc:
            raise MetricsUnavailable(f"Ray's metrics at {endpoint.metrics}: {exc}") from exc
        return [s for family in text_string_to_metric_families(text) for s in family.samples]

    async def query(
        self, base: str, query: str, at: datetime | None = None
    ) -> list[tuple[dict[str, str], float]]:
        """A PromQL instant query at ``at`` (None: now): each series' labels and value."""
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
