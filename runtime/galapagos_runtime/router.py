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
# Shadow copies go through a queue per shadow and router replica, sent by a few senders: a
# shadow slower than the traffic copied to it never holds more of them at once than it takes
# (a request Ray's handle cannot place yet costs the router and the replica CPU while it
# waits, probing the replica again and again), and copies wait in the queue, which costs
# nothing, up to its size; beyond, copies are dropped and counted.
SHADOW_SENDERS = 4
SHADOW_QUEUE = 1024
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
        self.mirrors: dict[str, _Mirror] = {}
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
            description="Shadow copies not sent because too many were waiting.",
            tag_keys=_DROP_TAGS,
        )

    def reconfigure(self, config: dict[str, Any]) -> None:
        """A new routing table; handles of variants still named are kept, and the mirrors of
        shadows still copied to (a shadow set to weight 0 gets none of its queued copies)."""
        self.table = RoutingTable.from_config(config)
        apps = {v.app for v in self.table.variants}
        copied = {v.app for v in self.table.variants if v.weight > 0}
        self.handles = {app: h for app, h in self.handles.items() if app in apps}
        for app in [app for app in self.mirrors if app not in copied]:
            self.mirrors.pop(app).stop()

    def _call(self, app: str, scope: dict[str, Any], body: bytes) -> Stream:
        """``app``'s answer to the request, in parts (:func:`galapagos_runtime.variants.
        handle_http`)."""
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
            first = await stream.__anext__()
        except Exception:
            self._record(variant, "primary", None, started)
            raise
        status = first["status"]
        headers = [(bytes(k), bytes(v)) for k, v in first["headers"]]
        if not first["more_body"]:  # the whole answer in one part: sent as it came
            self._record(variant, "primary", status, started)
            response = Response(first["body"], status_code=status)
            response.raw_headers = headers
            return response
        rest = self._rest(variant, stream, first["body"], status, started)
        streamed = StreamingResponse(rest, status)
        streamed.raw_headers = [h for h in headers if h[0].lower() != b"content-length"]
        return streamed

    async def _rest(
        self, variant: Variant, stream: Stream, first: bytes, status: int, started: float
    ) -> AsyncIterator[bytes]:
        try:
            yield first
            async for part in stream:
                yield part["body"]
        finally:
            self._record(variant, "primary", status, started)

    def _shadow(self, variant: Variant, scope: dict[str, Any], body: bytes) -> None:
        mirror = self.mirrors.get(variant.app)
        if mirror is None:
            mirror = self.mirrors[variant.app] = _Mirror(self, variant)
        if not mirror.offer(scope, body):
            self.dropped.inc(tags={"serve": self.serve_name, "variant": variant.name})

    async def _copy(self, variant: Variant, scope: dict[str, Any], body: bytes) -> None:
        """A copy to a shadow variant: its answer read and dropped, its status and time
        recorded; nothing it does reaches the client."""
        started = time.perf_counter()
        status: int | None = None
        try:
            async for part in self._call(variant.app, scope, body):
                status = part.get("status", status)
        except Exception:
            status = None
        self._record(variant, "shadow", status, started)


class _Mirror:
    """One shadow's copies in one router replica: a bounded queue and its senders."""

    def __init__(self, router: TrafficRouter, variant: Variant) -> None:
        self.queue: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue(SHADOW_QUEUE)
        self.senders = [
            asyncio.create_task(self._send(router, variant)) for _ in range(SHADOW_SENDERS)
        ]

    def offer(self, scope: dict[str, Any], body: bytes) -> bool:
        """Queue a copy; False when the queue is full."""
        try:
            self.queue.put_nowait((scope, body))
        except asyncio.QueueFull:
            return False
        return True

    async def _send(self, router: TrafficRouter, variant: Variant) -> None:
        while True:
            scope, body = await self.queue.get()
            await router._copy(variant, scope, body)

    def stop(self) -> None:
        for sender in self.senders:
            sender.cancel()


def build_router(args: dict[str, Any]) -> Application:
    """Ray Serve application builder: ``{"serve": name}``; the routing table comes as the
    ``router`` deployment's ``user_config``."""
    router = serve.deployment(name="router", max_ongoing_requests=MAX_ONGOING_REQUESTS)
    return router(TrafficRouter).bind(args["serve"])
