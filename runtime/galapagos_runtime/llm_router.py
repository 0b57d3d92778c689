"""The LLM router: the Serve application that answers an environment's virtual models
(:mod:`galapagos_runtime.llm_proxy`), one per environment. Its configuration (models,
backends, keys, timeouts, cooldown policy) is the deployment's ``user_config``: a change
reconfigures the running replicas, nothing restarts.

Per backend it exports, through Ray's metrics: attempts by status class, fallbacks, time to
first byte, tokens from ``usage``, and until when it cools down (one figure per replica).
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Application, metrics
from starlette.requests import Request
from starlette.responses import Response

from galapagos_runtime.llm_proxy import LlmProxy
from galapagos_runtime.llm_routing import Backend

# Requests wait on their upstreams, not on the replica's CPU: a replica holds many at once.
MAX_ONGOING_REQUESTS = 1000
TTFB_BUCKETS_MS = [5.0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]
# Ray annotates ``tag_keys`` as a one-element tuple; any number of tags works.
_ATTEMPT_TAGS: Any = ("model", "backend", "code")
_BACKEND_TAGS: Any = ("model", "backend")
_TOKEN_TAGS: Any = ("model", "backend", "kind")
_COOLING_TAGS: Any = ("backend",)


class RayMeter:
    """The router's figures as Ray metrics (Prometheus' format on the metrics port)."""

    def __init__(self) -> None:
        self.attempts = metrics.Counter(
            "galapagos_llm_attempts",
            description="Attempts on each backend of a virtual model, by status class.",
            tag_keys=_ATTEMPT_TAGS,
        )
        self.fallbacks = metrics.Counter(
            "galapagos_llm_fallbacks",
            description="Attempts that failed before their first byte and moved on.",
            tag_keys=_BACKEND_TAGS,
        )
        self.ttfb = metrics.Histogram(
            "galapagos_llm_time_to_first_byte_ms",
            description="Time until a backend's first byte, in milliseconds.",
            boundaries=TTFB_BUCKETS_MS,
            tag_keys=_BACKEND_TAGS,
        )
        self.token_count = metrics.Counter(
            "galapagos_llm_tokens",
            description="Tokens backends reported in usage, by kind (prompt, completion).",
            tag_keys=_TOKEN_TAGS,
        )
        self.cooldown = metrics.Gauge(
            "galapagos_llm_cooldown_until",
            description="Until when (seconds since the epoch) a backend cools down.",
            tag_keys=_COOLING_TAGS,
        )

    def attempt(self, model: str, backend: Backend, code: str, ttfb_ms: float | None) -> None:
        tags = {"model": model, "backend": backend.id}
        self.attempts.inc(tags={**tags, "code": code})
        if ttfb_ms is not None:
            self.ttfb.observe(ttfb_ms, tags=tags)

    def fallback(self, model: str, backend: Backend) -> None:
        self.fallbacks.inc(tags={"model": model, "backend": backend.id})

    def tokens(self, model: str, backend: Backend, prompt: int, completion: int) -> None:
        tags = {"model": model, "backend": backend.id}
        for kind, count in (("prompt", prompt), ("completion", completion)):
            if count > 0:  # Ray's counters take positive steps only (embeddings complete none)
                self.token_count.inc(count, tags={**tags, "kind": kind})

    def cooling(self, backend: Backend, until: float) -> None:
        self.cooldown.set(until, tags={"backend": backend.id})


class LlmRouter:
    def __init__(self) -> None:
        self.proxy = LlmProxy(RayMeter())

    def reconfigure(self, config: dict[str, Any]) -> None:
        self.proxy.reconfigure(config)

    async def __call__(self, request: Request) -> Response:
        return await self.proxy.handle(request)

    async def __del__(self) -> None:
        await self.proxy.close()


def build_llm_router(args: dict[str, Any]) -> Application:
    """Ray Serve application builder; the configuration comes as the ``llm-router``
    deployment's ``user_config``."""
    router = serve.deployment(name="llm-router", max_ongoing_requests=MAX_ONGOING_REQUESTS)
    return router(LlmRouter).bind()
