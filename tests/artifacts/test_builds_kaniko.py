"""Kaniko builds as Kubernetes Jobs, through kubernetes-asyncio against KMock's emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import kmock
import pytest

from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuildStatus
from tests.factories import Factory, bearer
from tests.kube import emulator

JOBS, PODS = "batch/v1/jobs", "v1/pods"
NAMESPACE = "builds"


@pytest.fixture
async def kaniko_worker(
    kmock: kmock.KubernetesEmulator, settings: Settings, tmp_path: Path
) -> AsyncIterator[BuildWorker]:
    emulator.prepare(kmock, JOBS, PODS)
    kaniko = settings.builds.kaniko.model_copy(
        update={
            "kubeconfig": emulator.kubeconfig(kmock, tmp_path / "kubeconfig"),
            "registry": "registry.local/serves",
            "namespace": NAMESPACE,
        }
    )
    changed = settings.model_copy(
        update={"builds": settings.builds.model_copy(update={"kaniko": kaniko})}
    )
    http = HttpClient()
    yield BuildWorker(configured_builders(changed, http), changed.builds)
    await http.close()


async def _start(
    api: httpx.AsyncClient, admin: str, factory: Factory, worker: BuildWorker
) -> ArtifactBuilderJob:
    await factory.serve("iris", project="vision")
    response = await api.post(
        "/api/v1/artifact",
        json={
            "serve_name": "iris",
            "version": "v1",
            "builder": "kaniko",
            "branch": "main",
            "file_path": "app",
            "github_repo_url": "https://github.com/example/iris.git",
        },
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    assert await worker.run_once() == 1
    job = await ArtifactBuilderJob.get(id=response.json()["data"]["job_id"])
    assert job.status == BuildStatus.RUNNING
    assert job.task_id is not None
    return job


async def _advance(worker: BuildWorker, job: ArtifactBuilderJob) -> ArtifactBuilderJob:
    await asyncio.sleep(0.1)  # past next_attempt_at
    await worker.run_once()
    return await ArtifactBuilderJob.get(id=job.id)


async def test_job_is_rendered_with_labels_and_succeeds(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    kaniko_worker: BuildWorker,
    kmock: kmock.KubernetesEmulator,
) -> None:
    job = await _start(api, admin, factory, kaniko_worker)
    stored = kmock.objects[JOBS, NAMESPACE, job.task_id]
    labels = stored["metadata"]["labels"]
    assert labels["galapagos.io/managed-by"] == "galapagos"
    assert labels["galapagos.io/serve"] == "iris"
    assert labels["galapagos.io/project"] == "vision"
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("gcr.io/kaniko-project/executor")
    assert "--context=git://github.com/example/iris.git#refs/heads/main" in container["args"]
    assert "--destination=registry.local/serves/iris:v1" in container["args"]
    assert "--context-sub-path=app" in container["args"]

    assert (await _advance(kaniko_worker, job)).status == BuildStatus.RUNNING  # no status yet

    kmock.objects[PODS, NAMESPACE, "kaniko-pod"] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "kaniko-pod",
            "namespace": NAMESPACE,
            "labels": {"job-name": job.task_id},
        },
    }
    kmock["get", kmock.resource(PODS), kmock.subresource("log")] << b"INFO Pushed image\n"
    kmock.objects[JOBS, NAMESPACE, job.task_id].patch(
        {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
    )
    done = await _advance(kaniko_worker, job)
    assert done.status == BuildStatus.SUCCESSFUL
    assert done.logs is not None
    assert "Pushed image" in done.logs
    artifact = await Artifact.get(serve__name="iris", version="v1")
    assert artifact.image_url == "registry.local/serves/iris:v1"


async def test_failed_job_fails_the_build(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    kaniko_worker: BuildWorker,
    kmock: kmock.KubernetesEmulator,
) -> None:
    job = await _start(api, admin, factory, kaniko_worker)
    kmock.objects[JOBS, NAMESPACE, job.task_id].patch(
        {
            "status": {
                "failed": 1,
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                    }
                ],
            }
        }
    )
    failed = await _advance(kaniko_worker, job)
    assert failed.status == BuildStatus.FAILED
    assert failed.error is not None
    assert "backoff limit" in failed.error
    assert not await Artifact.exists()


async def test_cancel_deletes_the_job(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    kaniko_worker: BuildWorker,
    kmock: kmock.KubernetesEmulator,
) -> None:
    job = await _start(api, admin, factory, kaniko_worker)
    response = await api.post(
        f"/api/v1/artifact_builder_job/{job.id}/cancel", headers=bearer(admin)
    )
    assert response.json()["data"]["status"] == "CANCELLED"
    await kaniko_worker.reap_cancelled()
    assert kmock.objects[JOBS, NAMESPACE, job.task_id].deleted
