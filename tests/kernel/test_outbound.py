"""Git hosts a user names are refused when they resolve to loopback, link-local or private
addresses, checked after DNS resolution and on every redirect; errors say what was refused,
never what the target answered."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.kernel.boundaries import OutboundGuard, OutboundRefused
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.catalog import Serve
from galapagos_model.enums import BuilderKind, BuildStatus, SourceKind
from tests.factories import Factory, bearer
from tests.gitrepos import make_repo
from tests.http_servers import served

STRICT = OutboundGuard("git host", "builds.allow_private_git_hosts")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "reserved"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        STRICT.check_address("host.example", ipaddress.ip_address(address))
    assert refused.value.params["reason"] == kind
    assert "builds.allow_private_git_hosts" in refused.value.message


def test_public_addresses_and_allowed_networks_pass() -> None:
    STRICT.check_address("github.com", ipaddress.ip_address("140.82.121.3"))
    STRICT.check_address("github.com", ipaddress.ip_address("2606:50c0:8000::153"))
    inhouse = OutboundGuard(
        "git host", "x", allowed_networks=[ipaddress.ip_network("10.20.0.0/16")]
    )
    inhouse.check_address("git.corp", ipaddress.ip_address("10.20.3.4"))
    with pytest.raises(OutboundRefused):
        inhouse.check_address("metadata", ipaddress.ip_address("169.254.169.254"))


async def test_a_name_resolving_to_loopback_is_refused_after_resolution() -> None:
    with pytest.raises(OutboundRefused) as refused:
        await STRICT.resolve("localhost", 443)
    assert "'localhost' resolves to" in refused.value.message
    with pytest.raises(OutboundRefused) as unresolved:
        await STRICT.resolve("no-such-host.invalid", 443)
    assert unresolved.value.code == "OUTBOUND_UNRESOLVED"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data.git",
        "https://127.0.0.1/org/repo.git",
        "http://0.0.0.0:9/repo.git",
        "http://localhost:8080/repo.git",
        "ssh://git@10.0.0.5/org/repo.git",
        "git@192.168.1.10:org/repo.git",
    ],
)
async def test_registration_refuses_literal_private_hosts(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    server: Any,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setattr(server[1].state["services"].artifacts, "git_hosts", STRICT)
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": url},
        headers=bearer(admin),
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "OUTBOUND_REFUSED"
    assert not await ArtifactBuilderJob.exists()


async def _http_backend(request: web.Request, root: Path) -> web.Response:
    """Git's smart HTTP protocol through ``git http-backend`` (CGI), as git hosts speak it."""
    env = {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "PATH": "/usr/bin:/bin",
    }
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate(await request.read())
    head, _, body = output.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if line)
    status = int(headers.pop("Status", "200").split()[0])
    return web.Response(status=status, body=body, headers=headers)


class GitHttp:
    """A smart-HTTP git server for one bare repository, plus redirects and a bait."""

    def __init__(self, bare: Path) -> None:
        self.bare = bare
        self.hits: list[str] = []
        self.bait_port = 0
        self.servers = contextlib.AsyncExitStack()

    async def start(self) -> tuple[int, int]:
        async def redirect_home(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently("/repo.git/info/refs?service=git-upload-pack")

        async def redirect_inside(request: web.Request) -> web.Response:
            target = f"http://127.0.0.1:{self.bait_port}/repo.git/info/refs?service=git-upload-pack"
            raise web.HTTPFound(target)

        async def bait(request: web.Request) -> web.Response:
            self.hits.append(request.path)
            return web.Response(status=403, text="SECRET-METADATA")

        git_app = web.Application()
        git_app.router.add_get("/moved.git/info/refs", redirect_home)
        git_app.router.add_get("/evil.git/info/refs", redirect_inside)

        async def smart_http(request: web.Request) -> web.Response:
            return await _http_backend(request, self.bare.parent)

        git_app.router.add_route("*", "/repo.git/{tail:.*}", smart_http)
        bait_app = web.Application()
        bait_app.router.add_route("*", "/{tail:.*}", bait)
        git_port, self.bait_port = [
            int((await self.servers.enter_async_context(served(app, host))).rsplit(":", 1)[1])
            for app, host in ((git_app, "127.0.0.2"), (bait_app, "127.0.0.1"))
        ]
        return git_port, self.bait_port

    async def stop(self) -> None:
        await self.servers.aclose()


def _bare_repo(folder: Path) -> Path:
    repo = make_repo(folder / "repo", {"main.py": "app = 1\n"})
    bare = folder / "repo.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    return bare


@pytest.fixture
async def git_http(tmp_path: Path) -> AsyncIterator[tuple[GitHttp, int, int]]:
    served = GitHttp(_bare_repo(tmp_path))
    git_port, bait_port = await served.start()
    yield served, git_port, bait_port
    await served.stop()


async def _build(
    settings: Settings, factory: Factory, url: str, version: str = "v1", **guard: Any
) -> ArtifactBuilderJob:
    """A job for ``url`` straight in the database (as if registration had let it through,
    or DNS changed since), run by a worker whose guard is configured with ``guard``."""
    serve = await Serve.get_or_none(name="iris") or await factory.serve("iris")
    job = await ArtifactBuilderJob.create(
        serve=serve,
        version=version,
        source=url,
        source_kind=SourceKind.GIT,
        builder=BuilderKind.LOCAL,
        live_key=f"{serve.id}:{version}",
    )
    builds = settings.builds.model_copy(update={"allow_private_git_hosts": False, **guard})
    http = HttpClient()
    worker = BuildWorker(
        configured_builders(settings.model_copy(update={"builds": builds}), http), builds
    )
    await worker.run_once()
    await http.close()
    return await ArtifactBuilderJob.get(id=job.id)


async def test_a_host_resolving_to_loopback_fails_the_build_without_a_request(
    settings: Settings, factory: Factory, git_http: tuple[GitHttp, int, int]
) -> None:
    served, _, bait_port = git_http
    job = await _build(settings, factory, f"http://localhost:{bait_port}/repo.git")
    assert job.status == BuildStatus.FAILED
    assert "'localhost' resolves to" in (job.error or "")
    assert "loopback" in (job.error or "")
    assert served.hits == []


async def test_redirects_are_followed_and_checked(
    settings: Settings, factory: Factory, git_http: tuple[GitHttp, int, int]
) -> None:
    served, git_port, _ = git_http
    allowed = {"allowed_git_networks": [ipaddress.ip_network("127.0.0.2/32")]}
    job = await _build(settings, factory, f"http://127.0.0.2:{git_port}/evil.git", **allowed)
    assert job.status == BuildStatus.FAILED
    assert "127.0.0.1 is a loopback address" in (job.error or "")
    assert "SECRET" not in (job.logs or "") + (job.error or "")
    assert served.hits == []  # refused before any request reached it

    url = f"http://127.0.0.2:{git_port}/moved.git"
    moved = await _build(settings, factory, url, "v2", **allowed)
    assert moved.status == BuildStatus.SUCCESSFUL, moved.error
    assert "cloned" in (moved.logs or "")


async def test_the_test_overlay_allows_private_git_hosts(
    settings: Settings, factory: Factory, git_http: tuple[GitHttp, int, int]
) -> None:
    _, git_port, _ = git_http
    job = await _build(
        settings, factory, f"http://127.0.0.2:{git_port}/repo.git", allow_private_git_hosts=True
    )
    assert job.status == BuildStatus.SUCCESSFUL, job.error
