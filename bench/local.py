"""A `galapagos up` of the benchmark's own: the platform and its local Ray on free ports, an
admin client, and the steps every Ray benchmark takes (a git repository, a serve with one
replica of half a CPU, a build)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import free_port

IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
RAY_PORTS = (
    "dashboard_port",
    "gcs_port",
    "serve_port",
    "client_port",
    "agent_port",
    "metrics_port",
)


@dataclass
class Platform:
    api: httpx.Client  # as the admin whose token `up` printed
    token: str
    pid: int  # of the `galapagos up` process (API and worker)
    data: Path
    ray_ports: dict[str, int]

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.ray_ports['dashboard_port']}"

    @property
    def ray_token_path(self) -> Path:
        return self.data / "ray" / "auth_token"

    @property
    def ray_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ray_token_path.read_text().strip()}"}

    def ray_applications(self) -> dict[str, dict[str, object]]:
        answer = httpx.get(f"{self.dashboard}/api/serve/applications/", headers=self.ray_headers)
        return answer.json().get("applications") or {}

    def gone(self, app: str) -> None:
        """Wait until Ray no longer runs ``app``."""
        while app in self.ray_applications():
            time.sleep(0.2)

    def serve_deploy(self, config: Path) -> None:
        """Ray's own ``serve deploy`` of ``config`` to this platform's Ray."""
        env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.ray_token_path),
        }
        serve_cli = str(Path(sys.executable).with_name("serve"))
        done = subprocess.run(
            [serve_cli, "deploy", str(config), "--address", self.dashboard],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"serve deploy failed: {done.stderr[-2000:]}")

    def register(self, serve: str) -> None:
        """A serve with one replica of half a CPU on the ``local`` environment."""
        self.api.post("/api/v1/serve", json={"name": serve, "type": "api", "space": "bench"})
        self.api.post(
            f"/api/v1/serve/{serve}/infra-config/local",
            json={
                "api_serve_config": {
                    "fast_api_config": {
                        "cores": 0.5,
                        "memory": 0.5,
                        "min_replicas": 1,
                        "max_replicas": 1,
                    }
                }
            },
        )

    def build(self, serve: str, version: str, repo: Path, import_path: str) -> None:
        """Build ``repo`` as ``serve``'s ``version``; returns when the build succeeded."""
        job = self.api.post(
            "/api/v1/artifact",
            json={
                "serve_name": serve,
                "version": version,
                "github_repo_url": f"file://{repo}",
                "import_path": import_path,
            },
        ).json()["data"]["job_id"]
        while True:
            status = self.api.get(f"/api/v1/artifact_builder_job/{job}/status").json()["data"]
            if status["status"] not in ("PENDING", "RUNNING"):
                break
            time.sleep(0.2)
        if status["status"] != "SUCCESSFUL":
            raise SystemExit(f"build of {serve} {version}: {status}")


def git_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository of ``files``, committed on ``main``."""
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    commit_all(root)
    return root


def commit_all(root: Path) -> None:
    """``root`` made a git repository whose ``main`` holds everything in it."""
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *IDENTITY, *args], cwd=root, check=True)


@contextmanager
def platform(data: Path, **settings: str) -> Iterator[Platform]:
    """``galapagos up`` on ``data`` (extra ``GALAPAGOS_*`` settings as keyword arguments);
    stopped, with its Ray, on exit."""
    ray_ports = {name: free_port() for name in RAY_PORTS}
    port = free_port()
    env = {
        **os.environ,
        "ENV": "local",
        "GALAPAGOS_LOG_LEVEL": "WARNING",
        **{f"GALAPAGOS_RAY__{k.upper()}": str(v) for k, v in ray_ports.items()},
        **{f"GALAPAGOS_{k.upper()}": v for k, v in settings.items()},
    }
    command = [sys.executable, "-m", "galapagos_app.cli", "up", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(data)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        token = ""
        while not token:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                raise SystemExit("galapagos up stopped before it printed a token")
            if match := re.search(r"(glp_\S+)", line):
                token = match.group(1)
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )
        for _ in range(100):
            try:
                api.get("/healthcheck")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Platform(api, token, server.pid, data, ray_ports)
    finally:
        server.terminate()
        server.wait(timeout=120)
