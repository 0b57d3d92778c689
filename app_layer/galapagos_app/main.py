"""The Starlette application: lifespan-owned resources, middleware, routes, docs."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path
from tortoise import connections

from galapagos_app.artifacts.routes import linked_package
from galapagos_app.auth import BearerTokenBackend
from galapagos_app.endpoints import routes
from galapagos_app.errors import EXCEPTION_HANDLERS, on_auth_error
from galapagos_app.limits import BodyLimitMiddleware
from galapagos_app.openapi import docs, openapi_document, openapi_endpoint
from galapagos_app.request_context import RequestContextMiddleware
from galapagos_app.routers import ROUTERS
from galapagos_core.kernel import database
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.loops import background
from galapagos_core.services import Services
from galapagos_core.worker import running_worker


async def healthcheck(request: Request) -> Response:
    """Darwin's ``{"status": "ok"}``; 503 when the database does not answer."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, with_worker: bool = False) -> Starlette:
    """The API; ``with_worker`` also runs the worker loops in this process (``galapagos up``)."""
    services = Services.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await database.connect(settings)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if with_worker:
                    await stack.enter_async_context(running_worker(settings, services))
                await services.discovery.refresh()
                await stack.enter_async_context(background(services.discovery.run))
                # Startup built ~100k long-lived objects (modules, models, schemas): keep
                # them out of the collector so a full collection does not stall requests.
                gc.freeze()
                yield {"services": services}
        finally:
            await services.close()
            await database.close()

    document = openapi_document(ROUTERS, version("galapagos"))
    all_routes: list[BaseRoute] = [
        Route("/healthcheck", healthcheck, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint(document), methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Mount("/docs/static", app=StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
        Route("/packages/{sha256}.zip", linked_package, methods=["GET"], name="package"),
        *routes(ROUTERS),
    ]
    middleware = [
        Middleware(RequestContextMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes),
        Middleware(AuthenticationMiddleware, backend=BearerTokenBackend(), on_error=on_auth_error),
    ]
    return Starlette(
        routes=all_routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
