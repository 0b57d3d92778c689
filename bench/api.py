"""API benchmark on MariaDB: req/s, p50 and p99 at concurrency 16, one uvicorn worker.

Seeds 2,000 serves and 5,000 deployments of one serve, starts `galapagos api` and a bare
Starlette JSON app (the ceiling) side by side, and loads each endpoint with wrk.

    make bench            # or: .venv/bin/python bench/api.py [--duration 15]

Needs Debian's wrk and mariadb-server; both are installed when missing (apt-get, as root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("MARIADB_PORT", "3399"))
MYSQL_URL = f"mysql://galapagos:galapagos@127.0.0.1:{PORT}/galapagos_bench"
CONCURRENCY = 16
HISTORY_RPS, HISTORY_P99_MS = 800, 40  # the history page's target, one worker

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def ping(request):
    return JSONResponse({"status": "SUCCESS", "data": {"ok": True}, "message": None})

app = Starlette(routes=[Route("/ping", ping)])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    if path := shutil.which("wrk"):
        return path
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env, capture_output=True
    )
    return shutil.which("wrk") or "wrk"


async def open_database(url: str) -> str:
    """Migrate and connect the database at ``url``; an admin token ("bench") in it."""
    from galapagos_core.identity.service import IdentityService
    from galapagos_core.kernel import database
    from galapagos_core.kernel.config import load_settings

    settings = load_settings(database={"url": url})
    await database.migrate(settings)
    await database.connect(settings)
    return (await IdentityService(settings.auth).issue_for_username("bench", admin=True)).secret


async def seed() -> str:
    """A fresh database with the benchmark's rows; returns an admin token."""
    from tortoise import Tortoise

    from galapagos_model.artifacts import Artifact
    from galapagos_model.catalog import Environment, Serve
    from galapagos_model.deployments import Deployment
    from galapagos_model.enums import (
        ArtifactKind,
        DeploymentStatus,
        NodeCapacityType,
        ServeType,
        ServingFramework,
    )
    from galapagos_model.identity import Project, User
    from galapagos_model.infra import ApiServeInfraConfig
    from galapagos_model.queries.deployments import add_deployments

    sys.path.insert(0, str(ROOT))
    from tests.conftest import _reset_mysql

    await _reset_mysql(MYSQL_URL)  # a fresh schema every run
    token = await open_database(MYSQL_URL)
    try:
        user = await User.get(username="bench")
        project = await Project.create(name="bench")
        environment = await Environment.create(name="prod", env_configs={"namespace": "serving"})
        await Serve.bulk_create(
            [
                Serve(name=f"serve-{i:04d}", type=ServeType.API, project=project)
                for i in range(2000)
            ],
            batch_size=500,
        )
        serve = await Serve.get(name="serve-0000")
        await ApiServeInfraConfig.create(
            serve=serve,
            environment=environment,
            backend_type=ServingFramework.FASTAPI,
            cores=Decimal(2),
            memory=Decimal(4),
            node_capacity_type=NodeCapacityType.SPOT,
            min_replicas=1,
            max_replicas=4,
        )
        await Artifact.bulk_create(
            [
                Artifact(
                    serve=serve, version=f"v{i}", kind=ArtifactKind.IMAGE, image_url=f"r/i:{i}"
                )
                for i in range(5000)
            ],
            batch_size=1000,
        )
        artifacts = {a.version: a for a in await Artifact.filter(serve=serve)}
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await add_deployments(
            [
                Deployment(
                    serve=serve,
                    environment=environment,
                    artifact=artifacts[f"v{i}"],
                    created_by=user,
                    status=DeploymentStatus.SUPERSEDED,
                    ended_at=start + timedelta(minutes=i),
                )
                for i in range(5000)
            ]
        )
    finally:
        await Tortoise.close_connections()
    return token


def start(command: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(
        f"server did not start: {process.stderr.read().decode() if process.stderr else ''}"
    )


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(
    wrk: str,
    url: str,
    seconds: int,
    *,
    token: str | None = None,
    body: str | None = None,
    connections: int = CONCURRENCY,
) -> tuple[float, float, float, int]:
    """wrk at concurrency ``connections`` (16) for ``seconds``: (req/s, p50 ms, p99 ms,
    non-2xx answers). With ``body``, every request POSTs it as JSON."""
    threads = min(2, connections)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if body is not None:
            script.write(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            script.flush()
            command += ["-s", script.name]
        out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * _UNIT[u] for p, v, u in _LATENCY.findall(out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, latency["50"], latency["99"], int(errors.group(1)) if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    args = parser.parse_args()

    wrk = ensure_wrk()
    mariadb_dir = ROOT / ".mariadb"
    subprocess.run(
        [str(ROOT / "scripts/mariadb.sh"), "start", str(mariadb_dir), str(PORT)], check=True
    )
    servers: list[subprocess.Popen[bytes]] = []
    try:
        sys.stdout.write("seeding 2,000 serves and 5,000 deployments…\n")
        token = asyncio.run(seed())
        env = {
            **os.environ,
            "ENV": "local",
            "GALAPAGOS_DATABASE__URL": MYSQL_URL,
            "GALAPAGOS_LOG_LEVEL": "WARNING",
        }
        api_port, bare_port = free_port(), free_port()
        api = f"http://127.0.0.1:{api_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        servers.append(
            start(
                [sys.executable, "-m", "galapagos_app.cli", "api", "--port", str(api_port)],
                env,
                f"{api}/healthcheck",
            )
        )
        bare_dir = ROOT / ".galapagos" / "bench"
        bare_dir.mkdir(parents=True, exist_ok=True)
        (bare_dir / "bare_app.py").write_text(BARE_APP)
        servers.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(bare_dir),
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "bare_app:app",
                ],
                env,
                f"{bare}/ping",
            )
        )
        targets = [
            ("serve overview", f"{api}/api/v1/serve/serve-0000"),
            (
                "deployment history (limit 50)",
                f"{api}/api/v1/serve/serve-0000/deployments?limit=50",
            ),
            ("environment GET", f"{api}/api/v1/environment/prod"),
            ("bare Starlette JSON (ceiling)", f"{bare}/ping"),
        ]
        sys.stdout.write(
            f"\nwrk, concurrency {CONCURRENCY}, {args.duration}s each, one uvicorn worker, "
            f"{os.cpu_count()} CPUs\n"
        )
        sys.stdout.write(
            f"{'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}\n"
        )
        for name, url in targets:
            check = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
            check.raise_for_status()
            rps, p50, p99, errors = load(wrk, url, args.duration, token=token)
            sys.stdout.write(f"{name:34} {rps:9.0f} {p50:8.2f} {p99:8.2f} {errors:8d}\n")
            if name.startswith("deployment history"):
                met = rps >= HISTORY_RPS and p99 <= HISTORY_P99_MS and not errors
                sys.stdout.write(
                    f"{'':34} target ≥ {HISTORY_RPS} req/s, p99 ≤ {HISTORY_P99_MS} ms: "
                    f"{'met' if met else 'MISSED'}\n"
                )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([str(ROOT / "scripts/mariadb.sh"), "stop", str(mariadb_dir)], check=False)


if __name__ == "__main__":
    main()
