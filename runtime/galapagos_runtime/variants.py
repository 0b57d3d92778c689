"""A variant of a serve: the user's application as written, its ingress given one more method
through which the serve's traffic router hands it HTTP requests.

Ray Serve has no public way to pass an HTTP request from one application to another through a
``DeploymentHandle`` (a Starlette ``Request`` does not pickle). So the router sends the request's
ASGI scope and body, and :func:`handle_http` runs the ingress on them in its own replica,
yielding the ASGI messages it sends: an ASGI app (FastAPI, Starlette, the model server) is
called as ASGI; a plain deployment gets a ``Request`` and its return value is turned into a
response the way Serve's proxy path does. Status, headers and streamed bodies come back as the
app sent them, and ``root_path`` stays the serve's route.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ray.serve import Application
from ray.serve._private.http_util import convert_object_to_asgi_messages
from ray.serve.deployment import Deployment
from starlette.requests import Request
from starlette.responses import Response

HANDLER = "_galapagos_http"  # the method the router calls
log = logging.getLogger("ray.serve")


async def _answer(ingress: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Run ``ingress`` on one request: as ASGI, or as Serve runs a plain ``__call__``."""
    call = type(ingress).__call__
    if len(inspect.signature(call).parameters) == 4:  # self, scope, receive, send
        await ingress(scope, receive, send)
        return
    result = ingress(Request(scope, receive))
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, Response):
        await result(scope, receive, send)
        return
    for message in convert_object_to_asgi_messages(result):
        await send(message)


async def handle_http(
    ingress: Any, scope: dict[str, Any], body: bytes
) -> AsyncIterator[dict[str, Any]]:
    """``ingress``'s answer to one request, as a streaming handle method yields it: a first
    part ``{"status", "headers", "body", "more_body"}`` with the response's start and first
    body (all of it, unless the app streams), then ``{"body", "more_body"}`` per further body.
    One part for a whole answer: every part costs the router a round trip."""
    messages: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until we are cancelled
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await messages.put(message)

    async def run() -> None:
        try:
            await _answer(ingress, scope, receive, send)
        finally:
            await messages.put(None)

    async def next_body() -> dict[str, Any] | None:
        while (message := await messages.get()) is not None:
            if message["type"] == "http.response.body":
                return message
        return None

    task = asyncio.create_task(run())
    try:
        start = await messages.get()
        if start is None:
            await task  # the app's exception
            raise RuntimeError("the application sent no response")
        first = await next_body()
        more = bool(first and first.get("more_body", False))
        yield {
            "status": start["status"],
            "headers": start.get("headers", []),
            "body": first.get("body", b"") if first else b"",
            "more_body": more,
        }
        while more and (message := await next_body()) is not None:
            more = message.get("more_body", False)
            yield {"body": message.get("body", b""), "more_body": more}
        try:
            await task
        except Exception:
            if more or first is None:  # the answer is cut short: the caller must know
                raise
            # Answered in full (as Starlette does with a 500, then raises for the server to
            # log): logged here, where it happened, not carried back to the router.
            _APP_ERRORS.log()
    finally:
        task.cancel()


class _ErrorLog:
    """An application that fails every request (a broken shadow at full copy) would have its
    replica write a traceback per request, and Ray ship each one: the traceback of each kind of
    error once per ``every`` seconds, and how many more there were."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def log(self) -> None:
        kind = repr(sys.exc_info()[0])
        now = time.monotonic()
        if now - self.last.get(kind, -math.inf) < self.every:
            self.quiet[kind] = self.quiet.get(kind, 0) + 1
            return
        self.last[kind] = now
        more = self.quiet.pop(kind, 0)
        since = f" ({more} more like it in the last {self.every:g}s)" if more else ""
        log.exception("the application raised after answering%s", since)


_APP_ERRORS = _ErrorLog()


async def _galapagos_http(
    self: Any, scope: dict[str, Any], body: bytes
) -> AsyncIterator[dict[str, Any]]:
    async for message in handle_http(self, scope, body):
        yield message


def _function_ingress(function: Callable[[Request], Any]) -> type:
    """A function deployment as the class Serve would call the same way."""

    class FunctionIngress:
        def __call__(self, request: Request) -> Any:
            return function(request)

    return FunctionIngress


def routable(app: Application) -> Application:
    """``app`` with its ingress able to take requests from the serve's router; its arguments,
    options and the rest of its graph kept (see ``galapagos_runtime.apps``)."""
    ingress: Deployment = app._bound_deployment
    user = ingress.func_or_class
    if isinstance(user, str):
        raise TypeError(f"the ingress {ingress.name} names {user}, not a class or function")
    cls = user if inspect.isclass(user) else _function_ingress(user)
    routed = type(cls.__name__, (cls,), {HANDLER: _galapagos_http})
    return Application(ingress.options(func_or_class=routed))
