"""Test harness: one database (SQLite or MariaDB, per GALAPAGOS_TEST_DB) and one real API server.

The server is uvicorn on a free port inside the test session's event loop, so tests speak
real HTTP to it while sharing the ORM with factories and assertions. ``asgi_api`` reaches
the same application in-process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from galapagos_app.main import create_app
from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.identity.service import IdentityService
from galapagos_core.kernel import database
from galapagos_core.kernel.config import Settings, load_settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.kernel.log import request_id_var
from galapagos_core.worker import Worker, make_worker
from tests.factories import Factory

TEST_DB = os.environ.get("GALAPAGOS_TEST_DB", "sqlite")
MYSQL_URL = os.environ.get(
    "GALAPAGOS_TEST_MYSQL_URL", "mysql://galapagos:galapagos@127.0.0.1:3399/galapagos_test"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _reset_mysql(url: str) -> None:
    """Drop and recreate the test database so migrations run on an empty schema."""
    import asyncmy  # type: ignore[import-untyped]

    parsed = httpx.URL(url.replace("mysql://", "http://", 1))
    conn = await asyncmy.connect(
        host=parsed.host,
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password,
        autocommit=True,
    )
    name = parsed.path.strip("/")
    async with conn.cursor() as cursor:
        await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    port = _free_port()
    overrides: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "api": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        "ray": {
            "dashboard_port": _free_port(),
            "gcs_port": _free_port(),
            "serve_port": _free_port(),
            "client_port": _free_port(),
            "agent_port": _free_port(),
            "metrics_port": _free_port(),
            "num_cpus": 2,
            # One L4 declared (none is there): GPU instances run the CPU stand-in engine on it.
            "num_gpus": 1,
            "resources": {"accelerator_type:L4": 1},
        },
        "reconcile": {"interval_seconds": 0.3, "health_timeout_seconds": 5},
        "llm": {"router_replicas": 1, "cooldown_seconds": 2},
        "builds": {
            "local_source_roots": [tmp_path_factory.getbasetemp()],
            "max_source_mb": 1,
            "poll_interval_seconds": 0.05,
        },
    }
    if TEST_DB == "mysql":
        overrides["database"] = {"url": MYSQL_URL, "pool_max": 30}
    return load_settings(**overrides)


class _StatefulApp:
    """The app with the lifespan state injected, so one lifespan serves both transports."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        scope["state"] = dict(self.state)
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[tuple[str, _StatefulApp]]:
    if TEST_DB == "mysql":
        await _reset_mysql(MYSQL_URL)
    await database.migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        stateful = _StatefulApp(app, dict(state or {}))
        port = settings.api.port
        config = uvicorn.Config(
            stateful,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", stateful
        server.should_exit = True
        await task


async def _delete_all_rows() -> None:
    """Empty every table with foreign keys enforced, children first (found by retrying)."""
    assert Tortoise.apps is not None
    remaining = list(Tortoise.apps.get_models_iterable())
    while remaining:
        blocked = []
        for model in remaining:
            try:
                await model.all().delete()
            except IntegrityError:
                blocked.append(model)
        if len(blocked) == len(remaining):
            raise RuntimeError(f"cannot empty tables: {[m.__name__ for m in blocked]}")
        remaining = blocked


@pytest.fixture(autouse=True)
async def _clean_database(server: tuple[str, _StatefulApp]) -> AsyncIterator[None]:
    yield
    await _delete_all_rows()
    await server[1].state["services"].discovery.forget()


@pytest.fixture
async def factory(settings: Settings) -> Factory:
    return Factory(IdentityService(settings.auth))


@pytest.fixture
async def admin(factory: Factory) -> str:
    return await factory.token("root", admin=True)


@pytest.fixture
async def api(server: tuple[str, _StatefulApp]) -> AsyncIterator[httpx.AsyncClient]:
    """A real-HTTP client for the running uvicorn server."""
    async with httpx.AsyncClient(base_url=server[0], timeout=30) as client:
        yield client


@pytest.fixture
async def asgi_api(server: tuple[str, _StatefulApp]) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for the same application."""
    transport = httpx.ASGITransport(app=server[1])
    async with httpx.AsyncClient(transport=transport, base_url="http://galapagos") as client:
        yield client


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if request_id_var.get() is None:  # a background loop's (GPU discovery), not a request's
            return
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.queries.append(message)


@pytest.fixture
def count_queries() -> Iterator[QueryCounter]:
    """Counts the SQL statements the ORM sends for requests (those with a request id) while
    the test runs."""
    logger = logging.getLogger("tortoise.db_client")
    counter, level = QueryCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


@pytest.fixture
async def build_worker(settings: Settings) -> AsyncIterator[BuildWorker]:
    """A build worker on the test database, advanced explicitly with ``run_once``."""
    http = HttpClient(timeout=5)
    yield BuildWorker(configured_builders(settings, http), settings.builds)
    await http.close()


@pytest.fixture(scope="session")
async def worker_parts(
    settings: Settings, server: tuple[str, _StatefulApp]
) -> AsyncIterator[Worker]:
    """One worker (reconciler, builds, backends) for the session: its local Ray head starts
    on first use and stops when the session ends."""
    http = HttpClient(timeout=30)
    services = server[1].state["services"]
    worker = make_worker(settings, services, http)
    yield worker
    await worker.backends.close()
    await http.close()


@pytest.fixture
async def running(worker_parts: Worker) -> AsyncIterator[Worker]:
    """The session's worker loops, running in the background for one test."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker_parts.builds.run(stop)),
        asyncio.create_task(worker_parts.reconciler.run(stop)),
    ]
    yield worker_parts
    stop.set()
    await asyncio.gather(*tasks)
