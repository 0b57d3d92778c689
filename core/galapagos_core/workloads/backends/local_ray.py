"""The Ray head that environments with ``ray_address: local`` use, started by the platform
on first use with a token it generates (kept in the data directory, mode 0600, never
printed), and stopped when the process that started it shuts down.

Its ports are the configured ones; a default port another program holds (a second platform
on the same machine) is swapped for a free one, and the choice kept in the data directory
for every process sharing it. A port set explicitly and taken fails with what to change."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
from pathlib import Path

from galapagos_core.kernel.config import RaySettings
from galapagos_core.kernel.http import HttpClient, HttpError
from galapagos_core.workloads.backends.ray import RayEndpoint
from galapagos_core.workloads.spec import BackendError

log = logging.getLogger("galapagos.ray")


def local_gpus(settings: RaySettings) -> float:
    """The GPUs the local head has: as declared, else those the NVIDIA driver lists (where
    Ray looks too)."""
    if settings.num_gpus is not None:
        return settings.num_gpus
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return float(len([d for d in visible.split(",") if d.strip()]))
    driver = Path("/proc/driver/nvidia/gpus")
    return float(len(list(driver.iterdir()))) if driver.is_dir() else 0.0


# Each port, the setting that names it.
_PORTS = ("gcs_port", "dashboard_port", "serve_port", "client_port", "agent_port", "metrics_port")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    return found


class LocalRay:
    def __init__(self, settings: RaySettings, data_dir: Path, http: HttpClient) -> None:
        self.settings = settings
        self.dir = data_dir.resolve() / "ray"
        self.http = http
        self.process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def session_dir(self) -> Path:
        # Ray's unix sockets live here and their paths may not exceed 107 bytes.
        digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"galapagos-ray-{digest}"

    @property
    def ports(self) -> dict[str, int]:
        """The ports in use: those chosen when the head started, else the configured ones."""
        chosen = self.dir / "ports.json"
        configured = {name: int(getattr(self.settings, name)) for name in _PORTS}
        if chosen.exists():
            return {**configured, **json.loads(chosen.read_text())}
        return configured

    def _choose_ports(self) -> dict[str, int]:
        """Free ports for a new head: a default one that is taken is replaced; a configured
        one that is taken is an error naming it."""
        explicit = self.settings.model_fields_set
        chosen: dict[str, int] = {}
        for name in _PORTS:
            port = int(getattr(self.settings, name))
            if _free(port):
                chosen[name] = port
            elif name in explicit:
                variable = f"GALAPAGOS_RAY__{name.upper()}"
                raise BackendError(
                    f"port {port} (ray.{name}) is taken by another program: set {variable} "
                    "to a free port, or leave it unset to have one chosen"
                )
            else:
                chosen[name] = _any_free_port()
                log.info("ray.%s %d is taken; the local Ray head uses %d", name, port, chosen[name])
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "ports.json").write_text(json.dumps(chosen))
        return chosen

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.ports['dashboard_port']}"

    @property
    def serve_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['serve_port']}"

    def _token(self) -> str:
        path = self.dir / "auth_token"
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()

    def endpoint(self) -> RayEndpoint:
        return RayEndpoint(
            self.dashboard,
            self._token(),
            self.serve_url,
            http_options={"host": "127.0.0.1", "port": self.ports["serve_port"]},
            metrics=f"http://127.0.0.1:{self.ports['metrics_port']}/metrics",
        )

    async def _answers(self) -> bool:
        try:
            await self.http.json(
                "GET",
                f"{self.dashboard}/api/version",
                headers={"Authorization": f"Bearer {self._token()}"},
                idempotent=False,
            )
        except HttpError:
            return False
        return True

    async def ensure_started(self) -> RayEndpoint:
        """The head's endpoint, starting the head if nothing answers on its dashboard port."""
        async with self._lock:
            if await self._answers():
                return self.endpoint()
            self.dir.mkdir(parents=True, exist_ok=True)
            # A file lock, so that processes sharing the data directory start one head.
            with (self.dir / "start.lock").open("w") as lock:
                await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
                try:
                    if not await self._answers() and not self._started_elsewhere():
                        await self._spawn()
                    await self._wait_ready()
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            return self.endpoint()

    def _started_elsewhere(self) -> bool:
        pid_file = self.dir / "head.pid"
        return pid_file.exists() and Path(f"/proc/{pid_file.read_text().strip()}").exists()

    async def _spawn(self) -> None:
        s = self.settings
        ports = self._choose_ports()
        command = [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={ports['gcs_port']}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={ports['dashboard_port']}",
            f"--ray-client-server-port={ports['client_port']}",
            f"--dashboard-agent-listen-port={ports['agent_port']}",
            f"--metrics-export-port={ports['metrics_port']}",
            "--include-dashboard=true",
            "--disable-usage-stats",
            f"--object-store-memory={s.object_store_mb * 1024 * 1024}",
            f"--temp-dir={self.session_dir}",
        ]
        if s.num_cpus is not None:
            command.append(f"--num-cpus={s.num_cpus:g}")
        if s.num_gpus is not None:
            command.append(f"--num-gpus={s.num_gpus:g}")
        if s.resources:
            command.append(f"--resources={json.dumps(s.resources)}")
        env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.dir / "auth_token"),
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            # Replicas report their metrics every 2 s (Ray's default is 10 s): rollout gates
            # read them.
            "RAY_metrics_report_interval_ms": "2000",
        }
        env.pop("RAY_AUTH_TOKEN", None)
        log.info(
            "starting a local Ray head (dashboard %s, serve %s)", self.dashboard, self.serve_url
        )
        with (self.dir / "head.log").open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        (self.dir / "head.pid").write_text(str(self.process.pid))

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.settings.start_timeout_seconds
        while asyncio.get_running_loop().time() < deadline:
            if self.process is not None and self.process.returncode is not None:
                raise BackendError(f"the local Ray head exited; see {self.dir / 'head.log'}")
            if await self._answers():
                return
            await asyncio.sleep(0.5)
        raise BackendError(
            f"the local Ray head did not answer within "
            f"{self.settings.start_timeout_seconds:g}s; see {self.dir / 'head.log'}"
        )

    async def stop(self) -> None:
        """Stop the head if this process started it (its whole process tree)."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        tree = _descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 45)
        except TimeoutError:
            process.kill()
            await process.wait()
        await asyncio.sleep(0.5)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        (self.dir / "head.pid").unlink(missing_ok=True)
        self.process = None
        log.info("local Ray head stopped")
