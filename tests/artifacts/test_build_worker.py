"""Several workers, crashes and races: a build finishes exactly once and never stays stuck."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from galapagos_core.artifacts.builds.base import Outcome
from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuilderKind, BuildStatus
from tests.conftest import MYSQL_URL, TEST_DB
from tests.factories import Factory, bearer
from tests.gitrepos import make_repo


class GatedBuilder:
    """The real local builder, held at a gate until the test opens it."""

    kind = BuilderKind.LOCAL

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def advance(self, job: ArtifactBuilderJob) -> Outcome:
        self.entered.set()
        await self.gate.wait()
        return await self.inner.advance(job)  # type: ignore[attr-defined,no-any-return]

    async def cancel(self, job: ArtifactBuilderJob) -> None:
        return None

    async def recover(self) -> None:
        return None


async def _register(api: httpx.AsyncClient, admin: str, factory: Factory, repo: Path) -> str:
    await factory.serve("iris")
    response = await api.post(
        "/api/v1/artifact",
        json={"serve_name": "iris", "version": "v1", "github_repo_url": f"file://{repo}"},
        headers=bearer(admin),
    )
    assert response.status_code == 201
    return str(response.json()["data"]["job_id"])


async def test_two_workers_claiming_at_once_build_once(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    job_id = await _register(api, admin, factory, repo)
    http = HttpClient()
    workers = [BuildWorker(configured_builders(settings, http), settings.builds) for _ in range(2)]
    advanced = await asyncio.gather(*(w.run_once() for w in workers))
    await http.close()
    assert sorted(advanced) == [0, 1]
    assert (await ArtifactBuilderJob.get(id=job_id)).status == BuildStatus.SUCCESSFUL
    assert await Artifact.filter(serve__name="iris").count() == 1


async def test_a_worker_whose_lease_ran_out_cannot_finish_the_job(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    job_id = await _register(api, admin, factory, repo)
    http = HttpClient()
    builders = configured_builders(settings, http)
    gated = GatedBuilder(builders[BuilderKind.LOCAL])
    slow = BuildWorker({BuilderKind.LOCAL: gated}, settings.builds)  # type: ignore[dict-item]
    fast = BuildWorker(builders, settings.builds)

    first = asyncio.create_task(slow.run_once())
    await asyncio.wait_for(gated.entered.wait(), 10)
    # The slow worker stalls past its lease: another worker takes the job over.
    await ArtifactBuilderJob.filter(id=job_id).update(
        lease_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await fast.run_once() == 1
    gated.gate.set()
    await first
    await http.close()

    job = await ArtifactBuilderJob.get(id=job_id)
    assert job.status == BuildStatus.SUCCESSFUL
    assert job.attempts == 2  # the take-over counts as a restart
    assert await Artifact.filter(serve__name="iris").count() == 1


async def test_killed_worker_is_replaced_and_the_job_finishes(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    # Enough incompressible data that packaging takes a few seconds.
    repo = make_repo(
        tmp_path / "repo", {f"blob{i}.bin": os.urandom(8 * 1024 * 1024) for i in range(8)}
    )
    job_id = await _register(api, admin, factory, repo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GALAPAGOS_", "MYSQL_"))},
        "ENV": "test",
        "GALAPAGOS_DATA_DIR": str(settings.data_dir),
        "GALAPAGOS_BUILDS__LOCAL_SOURCE_ROOTS": json.dumps([str(tmp_path)]),
        "GALAPAGOS_BUILDS__MAX_SOURCE_MB": "500",
        "GALAPAGOS_BUILDS__LEASE_SECONDS": "2",
        "GALAPAGOS_BUILDS__POLL_INTERVAL_SECONDS": "0.1",
    }
    if TEST_DB == "mysql":
        env["GALAPAGOS_DATABASE__URL"] = MYSQL_URL
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "galapagos_app.cli",
        "worker",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The worker starts, takes the job and clones 64 MiB before it packages: on a busy
        # machine that takes a while, so wait on the job rather than on a fixed count.
        deadline = asyncio.get_running_loop().time() + 120
        packagers: list[int] = []
        while not packagers and asyncio.get_running_loop().time() < deadline:
            if not (await ArtifactBuilderJob.get(id=job_id)).status.is_live:
                break
            packagers = _children(worker.pid, "galapagos_core.artifacts.builds.packaging")
            await asyncio.sleep(0.05)
        job = await ArtifactBuilderJob.get(id=job_id)
        assert job.status == BuildStatus.RUNNING, job.status
        assert packagers, "the worker never started packaging"
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert (await ArtifactBuilderJob.get(id=job_id)).status == BuildStatus.RUNNING  # stuck…
    for _ in range(100):  # the packager dies with its worker
        if not _alive(packagers):
            break
        await asyncio.sleep(0.05)
    assert not _alive(packagers)
    work_root = settings.data_dir / "builds"
    left = [folder for folder in work_root.iterdir() if folder.name.startswith(f"build-{job_id}")]
    assert left, "the killed worker's build folder should be there until a worker starts"

    builds = settings.builds.model_copy(update={"max_source_mb": 500, "lease_seconds": 2})
    http = HttpClient()
    replacement = BuildWorker(
        configured_builders(settings.model_copy(update={"builds": builds}), http), builds
    )
    stop = asyncio.Event()
    task = asyncio.create_task(replacement.run(stop))
    for _ in range(600):  # …until its lease runs out and another worker takes over
        job = await ArtifactBuilderJob.get(id=job_id)
        if not job.status.is_live:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    await http.close()
    assert job.status == BuildStatus.SUCCESSFUL, job.error
    assert job.attempts == 2
    assert await Artifact.filter(serve__name="iris").count() == 1
    assert not any(folder.exists() for folder in left)  # removed when the worker started


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _children(parent: int, marker: str) -> list[int]:
    """Processes whose parent is ``parent`` and whose command line holds ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and marker in cmdline:
            found.append(int(proc.name))
    return found


async def test_cancelling_a_running_build_stops_it(
    api: httpx.AsyncClient, admin: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"main.py": "app = 1\n"})
    job_id = await _register(api, admin, factory, repo)
    http = HttpClient()
    gated = GatedBuilder(configured_builders(settings, http)[BuilderKind.LOCAL])
    builds = settings.builds.model_copy(update={"lease_seconds": 1})
    worker = BuildWorker({BuilderKind.LOCAL: gated}, builds)  # type: ignore[dict-item]
    running = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(gated.entered.wait(), 10)
    response = await api.post(
        f"/api/v1/artifact_builder_job/{job_id}/cancel", headers=bearer(admin)
    )
    assert response.status_code == 200
    await asyncio.wait_for(running, 5)  # the heartbeat noticed and stopped the step
    gated.gate.set()
    await http.close()
    job = await ArtifactBuilderJob.get(id=job_id)
    assert job.status == BuildStatus.CANCELLED
    assert job.error == "cancelled by root"
    assert not await Artifact.exists()
