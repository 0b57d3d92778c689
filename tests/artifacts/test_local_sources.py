"""Local sources are for platform admins, below the configured roots, never the data
directory; package downloads without a token need a signed, unexpired link."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.kernel.config import Settings
from galapagos_model.artifacts import Artifact
from galapagos_model.enums import ProjectRole
from tests.factories import Factory, bearer
from tests.gitrepos import make_repo


async def _package(api: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    return await api.post(
        "/api/v1/artifact/iris/package", json={"version": "v1", **body}, headers=bearer(token)
    )


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_non_admins_may_not_name_local_sources(
    api: httpx.AsyncClient, factory: Factory, tmp_path: Path
) -> None:
    await factory.serve("iris")
    editor = await factory.member("ml", "eve", ProjectRole.EDITOR)
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    for body in ({"source_path": "/etc"}, {"source_path": str(repo)}):
        assert _error(await _package(api, editor, **body)) == (403, "LOCAL_SOURCE_FORBIDDEN")
    darwin = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": f"file://{repo}"},
        headers=bearer(editor),
    )
    assert _error(darwin) == (403, "LOCAL_SOURCE_FORBIDDEN")
    model = await api.post(
        "/api/v1/artifact/iris/model",
        json={"version": "v1", "model_uri": "file:///etc/shadow", "model_format": "sklearn"},
        headers=bearer(editor),
    )
    assert _error(model) == (403, "LOCAL_SOURCE_FORBIDDEN")
    assert not await Artifact.exists()


async def test_a_source_inheriting_an_admins_local_url_is_refused_too(
    api: httpx.AsyncClient, admin: str, factory: Factory, tmp_path: Path
) -> None:
    """Darwin's registration reuses the serve's latest source when none is given."""
    await factory.serve("iris")
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    first = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": f"file://{repo}"},
        headers=bearer(admin),
    )
    assert first.status_code == 201
    editor = await factory.member("ml", "eve", ProjectRole.EDITOR)
    second = await api.post(
        "/api/v1/artifact", json={"serve_name": "iris", "version": "v2"}, headers=bearer(editor)
    )
    assert _error(second) == (403, "LOCAL_SOURCE_FORBIDDEN")


async def test_admins_only_below_the_roots_and_never_the_data_directory(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    await factory.serve("iris")
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "escape").symlink_to("/etc")
    refused = {
        "/etc": "outside the folders",
        str(inside / "escape"): "outside the folders",  # the symlink is resolved first
        str(settings.data_dir): "control plane's own data",
        str(settings.data_dir / "packages"): "control plane's own data",
        str(settings.data_dir.parent): "control plane's own data",  # holds the data dir
    }
    for path, words in refused.items():
        response = await _package(api, admin, source_path=path)
        assert _error(response) == (403, "LOCAL_SOURCE_REFUSED"), path
        assert words in response.json()["message"]
    linked = await api.post(
        "/api/v1/artifact",
        json={
            "serve_name": "iris",
            "version": "v1",
            "github_repo_url": f"file://{inside / 'escape'}",
        },
        headers=bearer(admin),
    )
    assert _error(linked) == (403, "LOCAL_SOURCE_REFUSED")
    relative = await _package(api, admin, source_path="relative/path")
    assert _error(relative) == (422, "VALIDATION_ERROR")  # an absolute path, says the schema
    assert (await _package(api, admin, source_path=str(inside))).status_code == 201


async def test_a_symlink_swapped_after_registration_fails_the_build(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    await factory.serve("iris")
    real = tmp_path / "real"
    real.mkdir()
    (real / "main.py").write_text("app = 1\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    response = await _package(api, admin, source_path=str(link))
    assert response.status_code == 201
    job_id = response.json()["data"]["job_id"]
    # Registration stored the resolved folder; swapping what the link points at changes
    # nothing, and a folder replaced by a symlink out of the roots is refused at build time.
    link.unlink()
    link.symlink_to("/etc")
    real.rename(tmp_path / "moved")
    real.symlink_to("/etc")
    assert await build_worker.run_once() == 1
    status = await api.get(f"/api/v1/artifact_builder_job/{job_id}/status", headers=bearer(admin))
    assert status.json()["data"]["status"] == "FAILED"
    assert "outside the folders" in status.json()["data"]["error"]
    assert not await Artifact.exists()


async def test_packages_never_follow_symlinks_out_of_the_source(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    await factory.serve("iris")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "main.py").write_text("app = 1\n")
    (folder / "etc").symlink_to("/etc")
    (folder / "passwd").symlink_to("/etc/passwd")
    assert (await _package(api, admin, source_path=str(folder))).status_code == 201
    assert await build_worker.run_once() == 1
    download = await api.get("/api/v1/artifact/iris/v1/download", headers=bearer(admin))
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist() == ["main.py"]


async def _built_package(
    api: httpx.AsyncClient, admin: str, factory: Factory, build_worker: BuildWorker, tmp: Path
) -> str:
    await factory.serve("iris")
    repo = make_repo(tmp / "repo", {"main.py": "app = 1\n"})
    await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": f"file://{repo}"},
        headers=bearer(admin),
    )
    await build_worker.run_once()
    listing = await api.get("/api/v1/artifact/iris", headers=bearer(admin))
    return str(listing.json()["data"]["data"][0]["package_url"])


async def test_package_links_are_signed_and_expire(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    settings: Settings,
    server: Any,
    tmp_path: Path,
) -> None:
    url = await _built_package(api, admin, factory, build_worker, tmp_path)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    sha = parts.path.rsplit("/", 1)[-1].removesuffix(".zip")
    assert (await api.get(url)).status_code == 200  # what Ray fetches: no token

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    unsigned = await api.get(parts.path)
    assert code(unsigned) == (403, "PACKAGE_LINK_INVALID")
    later = str(int(query["expires"][0]) + 86400)
    stretched = await api.get(parts.path, params={**query, "expires": later})
    assert code(stretched) == (403, "PACKAGE_LINK_INVALID")
    other = await api.get(f"/packages/{'0' * 64}.zip", params={k: v[0] for k, v in query.items()})
    assert code(other) == (403, "PACKAGE_LINK_INVALID")  # a signature names one package

    links: PackageLinks = server[1].state["services"].links
    past = PackageLinks(links.base_url, links.keys, 2 * links.half, clock=lambda: 1_000_000)
    expired = await api.get(past.url(sha))
    assert code(expired) == (403, "PACKAGE_LINK_EXPIRED")


def test_links_are_stable_within_half_their_lifetime_and_keep_at_least_half() -> None:
    now = [1_000_000.0]
    links = PackageLinks("http://cp", [os.urandom(32)], 3600, clock=lambda: now[0])
    first = links.url("a" * 64)
    expiry = int(parse_qs(urlsplit(first).query)["expires"][0])
    for step in range(0, 1800, 60):
        now[0] = 1_000_000.0 + step
        url = links.url("a" * 64)
        remaining = int(parse_qs(urlsplit(url).query)["expires"][0]) - now[0]
        assert 1800 <= remaining <= 3600
        if url != first:  # renewed on the half-hour grid, never in between
            assert int(parse_qs(urlsplit(url).query)["expires"][0]) == expiry + 1800


@pytest.mark.parametrize("scheme", ["ssh://git@github.com/org/repo.git", "git@github.com:o/r.git"])
async def test_ssh_urls_with_a_user_name_are_accepted(
    api: httpx.AsyncClient, admin: str, factory: Factory, scheme: str
) -> None:
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": scheme},
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "url",
    [
        "https://user:token@github.com/org/repo.git",
        "https://ghp_secret@github.com/org/repo.git",
        "ssh://git:password@github.com/org/repo.git",
    ],
)
async def test_credentials_in_urls_are_refused(
    api: httpx.AsyncClient, admin: str, factory: Factory, url: str
) -> None:
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": url},
        headers=bearer(admin),
    )
    assert response.status_code == 422
    assert "credentials" in response.text
