"""The traffic router: the Serve application that owns a serve's route when the serve has
traffic variants. It picks a variant for each request (:mod:`galapagos_runtime.routing`) and
hands the request to that variant's application through a ``DeploymentHandle``
(:mod:`galapagos_runtime.variants`); shadow variants get a copy whose answer is dropped.

Its routing table is the deployment's ``user_config``: a weight change reconfigures the running
replicas, nothing restarts. Per variant it exports requests (by status class), errors and a
latency histogram through Ray's metrics, which Ray serves in Prometheus' format.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, cast

from ray import serve
from ray.serve import Application, metrics
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from galapagos_runtime.routing import RoutingTable, Variant
from galapagos_runtime.variants import HANDLER

# What a variant sees of the request's scope (the rest does not cross processes).
_SCOPE_KEYS = (
    "type",
    "asgi",
    "http_version",
    "method",
    "scheme",
    "path",
    "raw_path",
    "query_string",
    "root_path",
    "headers",
    "client",
    "server",
)
# A router replica holds a request until its variant answered: as many as the variants take.
MAX_ONGOING_REQUESTS = 256
# Copies in flight per replica; beyond, copies are dropped (and counted): a shadow slower than
# the traffic it is copied costs the router a bounded amount of memory, never the clients time.
MAX_SHADOW_COPIES = 1024
Stream = DeploymentResponseGenerator[dict[str, Any]]
LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]


def _status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "error"


# Ray annotates ``tag_keys`` as a one-element tuple; any number of tags works.
_PRIMARY_TAGS: Any = ("serve", "variant", "role", "code")
_LATENCY_TAGS: Any = ("serve", "variant", "role")
_DROP_TAGS: Any = ("serve", "variant")


class TrafficRouter:
    def __init__(self, serve_name: str) -> None:
        self.serve_name = serve_name
        self.table: RoutingTable | None = None
        self.handles: dict[str, DeploymentHandle[Any]] = {}
        self.shadows: set[asyncio.Task[None]] = set()
        self.requests = metrics.Counter(
            "galapagos_variant_requests",
            description="Requests a serve's router handed to each variant, by status class.",
            tag_keys=_PRIMARY_TAGS,
        )
        self.latency = metrics.Histogram(
            "galapagos_variant_latency_ms",
            description="Time until a variant's whole answer, in milliseconds.",
            boundaries=LATENCY_BUCKETS_MS,
            tag_keys=_LATENCY_TAGS,
        )
        self.dropped = metrics.Counter(
            "galapagos_shadow_copies_dropped",
            description="Shadow copies not sent because too many were in flight.",
            tag_keys=_DROP_TAGS,
        )

    def reconfigure(self, config: dict[str, Any]) -> None:
        """A new routing table; handles of variants still named are kept."""
        self.table = RoutingTable.from_config(config)
        apps = {v.app for v in self.table.variants}
        self.handles = {app: h for app, h in self.handles.items() if app in apps}

    def _call(self, app: str, scope: dict[str, Any], body: bytes) -> Stream:
        """``app``'s answer to the request, as the ASGI messages its ingress sends."""
        handle = self.handles.get(app)
        if handle is None:
            handle = serve.get_app_handle(app).options(method_name=HANDLER, stream=True)
            self.handles[app] = handle
        return cast(Stream, handle.remote(scope, body))

    def _record(self, variant: Variant, role: str, status: int | None, started: float) -> None:
        tags = {"serve": self.serve_name, "variant": variant.name, "role": role}
        self.requests.inc(tags={**tags, "code": _status_class(status)})
        self.latency.observe((time.perf_counter() - started) * 1000, tags=tags)

    async def __call__(self, request: Request) -> Response:
        table = self.table
        if table is None:
            return PlainTextResponse("no routing table yet", status_code=503)
        body = await request.body()
        scope = {k: request.scope[k] for k in _SCOPE_KEYS if k in request.scope}
        for copy in table.copies():
            self._shadow(copy, scope, body)
        variant = table.choose(request.headers, request.cookies)
        return await self._forward(variant, scope, body)

    async def _forward(self, variant: Variant, scope: dict[str, Any], body: bytes) -> Response:
        started = time.perf_counter()
        stream = self._call(variant.app, scope, body)
        try:
            start = await stream.__anext__()
            first = await anext(stream, None)
        except Exception:
            self._record(variant, "primary", None, started)
            raise
        status = start["status"]
        headers = [(bytes(k), bytes(v)) for k, v in start["headers"]]
        if first is None or not first.get("more_body", False):  # one body: sent as it came
            self._record(variant, "primary", status, started)
            response = Response(first.get("body", b"") if first else b"", status_code=status)
            response.raw_headers = headers
            return response
        streamed = StreamingResponse(self._rest(variant, stream, first, status, started), status)
        streamed.raw_headers = [h for h in headers if h[0].lower() != b"content-length"]
        return streamed

    async def _rest(
        self,
        variant: Variant,
        stream: Stream,
        first: dict[str, Any],
        status: int,
        started: float,
    ) -> AsyncIterator[bytes]:
        try:
            yield first.get("body", b"")
            async for message in stream:
                if message["type"] == "http.response.body":
                    yield message.get("body", b"")
        finally:
            self._record(variant, "primary", status, started)

    def _shadow(self, variant: Variant, scope: dict[str, Any], body: bytes) -> None:
        if len(self.shadows) >= MAX_SHADOW_COPIES:
            self.dropped.inc(tags={"serve": self.serve_name, "variant": variant.name})
            return
        task = asyncio.create_task(self._mirror(variant, scope, body))
        self.shadows.add(task)
        task.add_done_callback(self.shadows.discard)

    async def _mirror(self, variant: Variant, scope: dict[str, Any], body: bytes) -> None:
        """A copy to a shadow variant: its answer read and dropped, its status and time
        recorded; nothing it does reaches the client."""
        started = time.perf_counter()
        status: int | None = None
        try:
            async for message in self._call(variant.app, scope, body):
                if message["type"] == "http.response.start":
                    status = message["status"]
        except Exception:
            status = None
        self._record(variant, "shadow", status, started)


def build_router(args: dict[str, Any]) -> Application:
    """Ray Serve application builder: ``{"serve": name}``; the routing table comes as the
    ``router`` deployment's ``user_config``."""
    router = serve.deployment(name="router", max_ongoing_requests=MAX_ONGOING_REQUESTS)
    return router(TrafficRouter).bind(args["serve"])
