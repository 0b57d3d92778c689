"""The `galapagos` command as a newcomer runs it: up on an empty data dir, tokens, migrate."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

GALAPAGOS = [sys.executable, "-m", "galapagos_app.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "GALAPAGOS_"))}
    env.update(GALAPAGOS_DATA_DIR=str(data_dir), ENV="local")
    # A local Ray head of its own, on free ports, if the flow deploys anything.
    for key in ("DASHBOARD", "GCS", "SERVE", "CLIENT", "AGENT"):
        env[f"GALAPAGOS_RAY__{key}_PORT"] = str(_free_port())
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_up(data_dir: Path, **env: str) -> tuple[subprocess.Popen[str], str, str | None]:
    """``galapagos up`` on ``data_dir`` (with the settings ``env`` adds): it, its URL, the
    admin token it printed."""
    process = subprocess.Popen(
        [*GALAPAGOS, "up", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**_env(data_dir), **env},
    )
    assert process.stdout is not None
    url = token = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"API:\s+(http://\S+)", line):
            url = match.group(1)
        if match := re.search(r"(glp_\S+)", line):
            token = match.group(1)
    assert url is not None, "galapagos up printed no URL"
    if token is None:  # the token line follows the URL line when there is one
        line = process.stdout.readline()
        token = m.group(1) if (m := re.search(r"(glp_\S+)", line)) else None
    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthcheck").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return process, url, token


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.stdout is not None
    process.stdout.close()


def test_up_prints_url_and_a_bootstrap_token_once(data_dir: Path) -> None:
    process, url, token = _start_up(data_dir)
    try:
        assert token is not None
        me = httpx.get(f"{url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["data"]["is_admin"] is True
    finally:
        _stop(process)
    assert token not in (data_dir / "galapagos.db").read_bytes().decode("latin-1")

    process, url, second = _start_up(data_dir)
    try:
        assert second is None  # shown once: a restart prints none
        me = httpx.get(f"{url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    finally:
        _stop(process)


def test_token_create_and_migrate(data_dir: Path) -> None:
    env = _env(data_dir)
    subprocess.run([*GALAPAGOS, "migrate"], check=True, env=env, capture_output=True)
    created = subprocess.run(
        [*GALAPAGOS, "token", "create", "--user", "bob", "--admin"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert re.fullmatch(r"glp_\S+\n", created.stdout)


def test_invalid_configuration_fails_with_a_message(data_dir: Path) -> None:
    env = {**_env(data_dir), "GALAPAGOS_API__PORT": "eighty"}
    result = subprocess.run([*GALAPAGOS, "migrate"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "api.port" in result.stderr
    assert "Traceback" not in result.stderr
