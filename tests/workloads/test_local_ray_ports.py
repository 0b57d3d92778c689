"""Two platforms on one machine: the local Ray head swaps a taken default port for a free
one (and every process sharing the data directory learns it), and refuses a taken port that
was set explicitly, saying which and what to set."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from galapagos_core.kernel.config import RaySettings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.workloads.backends.local_ray import LocalRay
from galapagos_core.workloads.spec import BackendError


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another program holds."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_taken_default_port_is_replaced_and_remembered(taken: int, tmp_path: Path) -> None:
    defaults = RaySettings.model_validate({})  # nothing set explicitly
    defaults.__dict__["dashboard_port"] = taken  # the default happens to be held
    ray = LocalRay(defaults, tmp_path, HttpClient())
    chosen = ray._choose_ports()
    assert chosen["dashboard_port"] != taken
    assert ray.dashboard == f"http://127.0.0.1:{chosen['dashboard_port']}"
    again = LocalRay(defaults, tmp_path, HttpClient())  # another process, same data dir
    assert again.dashboard == ray.dashboard
    assert again.endpoint().http_options == {"host": "127.0.0.1", "port": chosen["serve_port"]}


def test_a_taken_port_set_explicitly_is_an_error_saying_what_to_do(
    taken: int, tmp_path: Path
) -> None:
    settings = RaySettings(serve_port=taken)
    ray = LocalRay(settings, tmp_path, HttpClient())
    with pytest.raises(BackendError) as refused:
        ray._choose_ports()
    assert f"port {taken} (ray.serve_port) is taken" in str(refused.value)
    assert "GALAPAGOS_RAY__SERVE_PORT" in str(refused.value)
    assert not (tmp_path / "ray" / "ports.json").exists()
