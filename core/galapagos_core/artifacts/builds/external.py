"""The external builder: Darwin's artifact-builder HTTP service builds container images."""

from __future__ import annotations

from typing import Any

import aiohttp

from galapagos_core.artifacts.builds.base import (
    BuildFailure,
    Built,
    InProgress,
    TransientBuildError,
)
from galapagos_core.kernel.http import HttpClient, HttpError
from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import ArtifactKind, BuilderKind

_RUNNING = {"waiting", "running"}


class ExternalBuilder:
    """Submits ``POST /build_with_dockerfile`` once, then polls ``GET /task/status``."""

    kind = BuilderKind.EXTERNAL

    def __init__(
        self, http: HttpClient, *, base_url: str, image_repository: str, poll_interval: float
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.image_repository = image_repository
        self.poll_interval = poll_interval

    def image_tag(self, job: ArtifactBuilderJob) -> str:
        return f"{job.serve.name}_{job.version}"

    async def advance(self, job: ArtifactBuilderJob) -> InProgress | Built:
        if job.task_id is None:
            return await self._submit(job)
        answer = await self._call("GET", "/task/status", params={"task_id": job.task_id})
        build_status = str(answer.get("build_status") or "").lower()
        if answer.get("status") == "FAILED" or build_status == "failed":
            raise BuildFailure(f"builder: {answer.get('message') or 'build failed'}")
        if build_status in _RUNNING:
            return InProgress(poll_after=self.poll_interval)
        if build_status == "completed":
            return Built(
                kind=ArtifactKind.IMAGE,
                image_url=f"{self.image_repository}:{self.image_tag(job)}",
                logs=[f"builder task {job.task_id} completed"],
            )
        raise BuildFailure(f"builder answered an unknown build_status {build_status!r}")

    async def cancel(self, job: ArtifactBuilderJob) -> None:
        """The builder's API has no cancel: the job simply stops being polled."""

    async def recover(self) -> None:
        """Nothing lives here: the builder service keeps its own state."""

    async def _submit(self, job: ArtifactBuilderJob) -> InProgress:
        form = aiohttp.FormData()
        form.add_field("app_name", job.serve.name)
        form.add_field("image_tag", self.image_tag(job))
        form.add_field("git_repo", job.source)
        form.add_field("branch", job.branch or "main")
        if job.file_path:
            form.add_field("app_dir", job.file_path)
        # Not idempotent: a retry could start a second build, so failures surface to the worker.
        answer = await self._call("POST", "/build_with_dockerfile", data=form, idempotent=False)
        task_id = str(answer.get("task_id") or "")
        if answer.get("status") == "FAILED" or not task_id:
            raise BuildFailure(
                f"builder refused the build: {answer.get('message') or 'no task id'}"
            )
        return InProgress(
            task_id=task_id,
            poll_after=self.poll_interval,
            logs=[f"submitted to the external builder as task {task_id}"],
            external_logs_url=answer.get("logs_url"),
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = await self.http.json(method, self.base_url + path, **kwargs)
        except HttpError as exc:
            if exc.transient:
                raise TransientBuildError(str(exc)) from exc
            raise BuildFailure(f"builder rejected the request: {exc}") from exc
        if not isinstance(answer, dict):
            raise TransientBuildError(f"builder answered {type(answer).__name__}, not an object")
        return answer
