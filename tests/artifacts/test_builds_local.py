"""Package builds with the local builder, from real git repositories and folders."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx

from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from tests.factories import Factory, bearer
from tests.gitrepos import commit, git, make_repo

FILES: dict[str, str | bytes] = {
    "README.md": "# iris\n",
    ".gitignore": "*.pyc\nbuild/\n",
    "serve/main.py": "class App:\n    pass\n\napp = App()\n",
    "serve/model/weights.bin": b"\x00\x01\x02",
    "notebooks/explore.ipynb": "{}",
}


async def _register(api: httpx.AsyncClient, token: str, **body: Any) -> str:
    response = await api.post(
        "/api/v1/artifact", json={"serve_name": "iris", **body}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["job_id"])


async def _status(api: httpx.AsyncClient, token: str, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/artifact_builder_job/{job_id}/status", headers=bearer(token))
    data: dict[str, Any] = response.json()["data"]
    return data


async def _zip_names(api: httpx.AsyncClient, token: str, version: str) -> list[str]:
    response = await api.get(f"/api/v1/artifact/iris/{version}/download", headers=bearer(token))
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content)).namelist()


async def test_git_build_packages_exactly_the_tracked_files(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    (repo / "serve" / "cache.pyc").write_bytes(b"ignored")  # untracked and ignored
    await factory.serve("iris")
    job_id = await _register(api, admin, version="v1", github_repo_url=f"file://{repo}")
    assert (await _status(api, admin, job_id))["status"] == "PENDING"

    assert await build_worker.run_once() == 1
    status = await _status(api, admin, job_id)
    assert status["status"] == "SUCCESSFUL", status
    assert await _zip_names(api, admin, "v1") == [
        ".gitignore",
        "README.md",
        "notebooks/explore.ipynb",
        "serve/main.py",
        "serve/model/weights.bin",
    ]
    artifact = (await api.get("/api/v1/artifact/iris", headers=bearer(admin))).json()["data"][
        "data"
    ][0]
    assert artifact["kind"] == "package"
    assert artifact["import_path"] == "main:app"
    public = await api.get(artifact["package_url"])  # no token: what Ray fetches
    assert public.status_code == 200
    assert public.headers["content-type"] == "application/zip"
    logs = await api.get(status["logs_url"], headers=bearer(admin))
    assert "packaged 5 files" in logs.text


async def test_same_source_same_sha_and_subfolder_and_branch(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    git(repo, "checkout", "--quiet", "-b", "feature")
    feature_commit = commit(repo, {"serve/extra.py": "X = 1\n"})
    git(repo, "checkout", "--quiet", "main")
    await factory.serve("iris")
    url = f"file://{repo}"
    for version in ("v1", "v2"):
        await _register(
            api,
            admin,
            version=version,
            github_repo_url=url,
            file_path="serve",
            import_path="main:app",
        )
    await _register(
        api, admin, version="v3", github_repo_url=url, branch="feature", file_path="serve"
    )
    await _register(
        api, admin, version="v4", github_repo_url=url, branch=feature_commit, file_path="serve"
    )
    while await build_worker.run_once():
        pass
    rows = {a.version: a for a in await Artifact.filter(serve__name="iris")}
    assert rows["v1"].package_sha256 == rows["v2"].package_sha256
    assert rows["v3"].package_sha256 == rows["v4"].package_sha256 != rows["v1"].package_sha256
    assert await _zip_names(api, admin, "v1") == ["main.py", "model/weights.bin"]
    assert await _zip_names(api, admin, "v3") == ["extra.py", "main.py", "model/weights.bin"]


async def test_missing_branch_or_repository_fails_the_job_clearly(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    await factory.serve("iris")
    no_branch = await _register(
        api, admin, version="v1", github_repo_url=f"file://{repo}", branch="nope"
    )
    no_repo = await _register(
        api, admin, version="v2", github_repo_url=f"file://{tmp_path}/missing"
    )
    no_folder = await _register(
        api, admin, version="v3", github_repo_url=f"file://{repo}", file_path="absent"
    )
    while await build_worker.run_once():
        pass
    for job_id, words in ((no_branch, "nope"), (no_repo, "missing"), (no_folder, "absent")):
        status = await _status(api, admin, job_id)
        assert status["status"] == "FAILED"
        assert words in status["error"]
    assert await Artifact.all().count() == 0


async def test_repository_over_the_size_limit_is_refused(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", {"big.bin": b"\x01" * (2 * 1024 * 1024)})  # limit: 1 MiB
    await factory.serve("iris")
    job_id = await _register(api, admin, version="v1", github_repo_url=f"file://{repo}")
    await build_worker.run_once()
    status = await _status(api, admin, job_id)
    assert status["status"] == "FAILED"
    assert "1 MiB limit" in status["error"]


async def test_folder_source_and_direct_image_and_model_artifacts(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "plain"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "main.py").write_text("app = None\n")
    await factory.serve("iris")
    h = bearer(admin)
    built = await api.post(
        "/api/v1/artifact/iris/package",
        json={
            "version": "v1",
            "source_path": str(folder),
            "import_path": "main:app",
            "file_path": "app",
        },
        headers=h,
    )
    assert built.status_code == 201, built.text
    await build_worker.run_once()
    assert await _zip_names(api, admin, "v1") == ["main.py"]

    image = await api.post(
        "/api/v1/artifact/iris/image",
        json={"version": "v2", "image_url": "registry.local/iris:2"},
        headers=h,
    )
    assert image.status_code == 201
    assert image.json()["data"]["kind"] == "image"
    model = await api.post(
        "/api/v1/artifact/iris/model",
        json={
            "version": "v3",
            "model_uri": f"file://{tmp_path}/iris.joblib",
            "model_format": "sklearn",
        },
        headers=h,
    )
    assert model.status_code == 201
    assert model.json()["data"]["model_format"] == "sklearn"
    taken = await api.post(
        "/api/v1/artifact/iris/image", json={"version": "v3", "image_url": "x:1"}, headers=h
    )
    assert taken.status_code == 409
    not_package = await api.get("/api/v1/artifact/iris/v2/download", headers=h)
    assert not_package.status_code == 404


async def test_cancelling_a_pending_job(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    build_worker: BuildWorker,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    await factory.serve("iris")
    job_id = await _register(api, admin, version="v1", github_repo_url=f"file://{repo}")
    cancelled = await api.post(
        f"/api/v1/artifact_builder_job/{job_id}/cancel", headers=bearer(admin)
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "CANCELLED"
    assert await build_worker.run_once() == 0
    again = await api.post(f"/api/v1/artifact_builder_job/{job_id}/cancel", headers=bearer(admin))
    assert again.status_code == 409
    # The version is free again for a new build.
    await _register(api, admin, version="v1", github_repo_url=f"file://{repo}")
    assert await ArtifactBuilderJob.filter(version="v1").count() == 2
