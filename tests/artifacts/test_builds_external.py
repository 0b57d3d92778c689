"""The external builder over real HTTP against a server that follows Darwin's contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuildStatus
from tests.factories import Factory, bearer
from tests.fake_builder import Script, fake_builder

RUNNING = {"status": "SUCCESS", "build_status": "running", "message": "building"}
DONE = {"status": "SUCCESS", "build_status": "completed", "message": "pushed"}

WorkerFor = Callable[..., AbstractAsyncContextManager[BuildWorker]]


@pytest.fixture
def worker_for(settings: Settings) -> WorkerFor:
    @asynccontextmanager
    async def make(url: str, **builds: Any) -> AsyncIterator[BuildWorker]:
        external = {"url": url, "image_repository": "registry.local/serves", "timeout_seconds": 0.5}
        changed = settings.model_copy(
            update={
                "builds": settings.builds.model_copy(
                    update={
                        "external": settings.builds.external.model_copy(update=external),
                        "max_transient_failures": 3,
                        **builds,
                    }
                )
            }
        )
        http = HttpClient(timeout=0.5, retries=1, backoff=0.01)
        try:
            yield BuildWorker(configured_builders(changed, http), changed.builds)
        finally:
            await http.close()

    return make


async def _job(api: httpx.AsyncClient, admin: str, factory: Factory) -> str:
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/artifact",
        json={
            "serve_name": "iris",
            "version": "v1",
            "builder": "external",
            "branch": "dev",
            "file_path": "app",
            "github_repo_url": "https://github.com/example/iris.git",
        },
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["job_id"])


async def _until_done(worker: BuildWorker, job_id: str, seconds: float = 15) -> ArtifactBuilderJob:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await worker.run_once()
        job = await ArtifactBuilderJob.get(id=job_id)
        if not job.status.is_live:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} still live")


async def test_success(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    script = Script(statuses=[RUNNING, RUNNING, DONE])
    async with fake_builder(script) as url, worker_for(url) as worker:
        job_id = await _job(api, admin, factory)
        job = await _until_done(worker, job_id)
    assert job.status == BuildStatus.SUCCESSFUL
    assert job.task_id == "task-1"
    assert script.submitted == [
        {
            "app_name": "iris",
            "image_tag": "iris_v1",
            "branch": "dev",
            "git_repo": "https://github.com/example/iris.git",
            "app_dir": "app",
        }
    ]
    artifact = await Artifact.get(serve__name="iris", version="v1")
    assert artifact.image_url == "registry.local/serves:iris_v1"
    logs = await api.get(f"/api/v1/artifact_builder_job/{job_id}/logs", headers=bearer(admin))
    assert "http://builder/logs/task-1" in logs.text


async def test_build_failure_carries_the_builders_message(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    failed = {"status": "SUCCESS", "build_status": "failed", "message": "Dockerfile not found"}
    async with fake_builder(Script(statuses=[RUNNING, failed])) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.FAILED
    assert job.error is not None
    assert "Dockerfile not found" in job.error


async def test_refused_submission_fails(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    script = Script(
        submit={"status": "FAILED", "task_id": "", "message": "repo not allowed"}, statuses=[DONE]
    )
    async with fake_builder(script) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.FAILED
    assert job.error is not None
    assert "repo not allowed" in job.error
    assert script.polls == 0


async def test_unknown_status_fails_with_the_raw_status(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    weird = {"status": "SUCCESS", "build_status": "exploded", "message": "?"}
    async with fake_builder(Script(statuses=[weird])) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.FAILED
    assert job.error is not None
    assert "'exploded'" in job.error


async def test_server_errors_then_success(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    script = Script(statuses=[503, 503, 502, 500, DONE])
    async with fake_builder(script) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.SUCCESSFUL
    assert script.polls == 5


async def test_slow_builder_then_success(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    script = Script(statuses=[2.0, 2.0, DONE])  # longer than the 0.5 s client timeout
    async with fake_builder(script) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.SUCCESSFUL
    assert job.logs is not None
    assert "transient error, retrying" in job.logs


async def test_builder_that_never_answers_fails_after_retries(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    async with fake_builder(Script(statuses=[500])) as url, worker_for(url) as worker:
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.FAILED
    assert job.error is not None
    assert "giving up after 4 errors" in job.error


async def test_build_that_runs_too_long_times_out(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker_for: WorkerFor
) -> None:
    async with (
        fake_builder(Script(statuses=[RUNNING])) as url,
        worker_for(url, timeout_seconds=0.5) as worker,
    ):
        job = await _until_done(worker, await _job(api, admin, factory))
    assert job.status == BuildStatus.TIMED_OUT
    assert job.live_key is None
