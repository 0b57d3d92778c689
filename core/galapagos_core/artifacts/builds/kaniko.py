"""The kaniko builder: a Kubernetes ``batch/v1`` Job runs the kaniko executor to build and
push an image from a git context; the Job's status and its pod's logs become the build's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from galapagos_core.artifacts.builds.base import (
    BuildFailure,
    Built,
    InProgress,
    TransientBuildError,
)
from galapagos_core.kernel.config import KanikoSettings
from galapagos_core.kernel.naming import managed_labels, resource_name
from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import ArtifactKind, BuilderKind

ApiClientFactory = Callable[[], Awaitable[client.ApiClient]]
_LOG_LINES = 200


def job_name(job: ArtifactBuilderJob) -> str:
    return resource_name("build", job.serve.name, job.version, job.id.hex[:8])


def git_context(url: str, ref: str | None) -> str:
    """kaniko's git context: ``git://host/path#refs/heads/branch`` (or ``#<commit>``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "git"):
        raise BuildFailure(f"kaniko builds from https git URLs; got {parts.scheme or url!r}")
    context = f"git://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    if ref:
        is_commit = len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)
        context += f"#{ref}" if is_commit else f"#refs/heads/{ref}"
    return context


class KanikoBuilder:
    kind = BuilderKind.KANIKO

    def __init__(
        self, api_client: ApiClientFactory, settings: KanikoSettings, *, poll_interval: float
    ) -> None:
        self.api_client = api_client
        self.settings = settings
        self.poll_interval = poll_interval

    def destination(self, job: ArtifactBuilderJob) -> str:
        if not self.settings.registry:
            raise BuildFailure("no registry configured for kaniko builds (builds.kaniko.registry)")
        return f"{self.settings.registry.rstrip('/')}/{job.serve.name}:{job.version}"

    def manifest(self, job: ArtifactBuilderJob) -> dict[str, Any]:
        """The Job that builds ``job``'s image."""
        args = [
            f"--context={git_context(job.source, job.branch)}",
            f"--destination={self.destination(job)}",
            "--dockerfile=Dockerfile",
            "--reproducible",
        ]
        if job.file_path:
            args.append(f"--context-sub-path={job.file_path}")
        labels = managed_labels(
            project=job.serve.project.name, serve=job.serve.name, build_job=str(job.id)
        )
        pod_spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "kaniko",
                    "image": self.settings.image,
                    "args": args,
                    "resources": {
                        "requests": {"cpu": self.settings.cpu, "memory": self.settings.memory},
                        "limits": {"memory": self.settings.memory},
                    },
                }
            ],
        }
        if self.settings.service_account:
            pod_spec["serviceAccountName"] = self.settings.service_account
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name(job),
                "namespace": self.settings.namespace,
                "labels": labels,
            },
            "spec": {
                "backoffLimit": 0,
                "ttlSecondsAfterFinished": 3600,
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        }

    async def advance(self, job: ArtifactBuilderJob) -> InProgress | Built:
        try:
            return await self._advance(job)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientBuildError(f"Kubernetes API unreachable: {exc}") from exc

    async def _advance(self, job: ArtifactBuilderJob) -> InProgress | Built:
        async with await self.api_client() as api:
            batch = client.BatchV1Api(api)
            if job.task_id is None:
                return await self._create(batch, job)
            try:
                current = await batch.read_namespaced_job_status(
                    job.task_id, self.settings.namespace
                )
            except ApiException as exc:
                if exc.status == 404:
                    raise BuildFailure(f"the build Job {job.task_id} disappeared") from None
                raise _transient(exc) from exc
            status = current.status
            conditions = {c.type: c for c in (status.conditions or []) if c.status == "True"}
            if "Complete" in conditions or (status.succeeded or 0) > 0:
                return Built(
                    kind=ArtifactKind.IMAGE,
                    image_url=self.destination(job),
                    logs=[f"Job {job.task_id} completed", *await self._logs(api, job.task_id)],
                )
            if "Failed" in conditions or (status.failed or 0) > 0:
                failed = conditions.get("Failed")
                reason = (failed.message or failed.reason) if failed else "the build pod failed"
                logs = await self._logs(api, job.task_id)
                raise BuildFailure(
                    f"kaniko: {reason}" + (f"; last log line: {logs[-1]}" if logs else "")
                )
            return InProgress(poll_after=self.poll_interval)

    async def recover(self) -> None:
        """Nothing lives here: Jobs on the cluster are found again through their jobs."""

    async def cancel(self, job: ArtifactBuilderJob) -> None:
        if job.task_id is None:
            return
        async with await self.api_client() as api:
            try:
                await client.BatchV1Api(api).delete_namespaced_job(
                    job.task_id, self.settings.namespace, propagation_policy="Background"
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise

    async def _create(self, batch: client.BatchV1Api, job: ArtifactBuilderJob) -> InProgress:
        manifest = self.manifest(job)
        name = manifest["metadata"]["name"]
        try:
            await batch.create_namespaced_job(self.settings.namespace, manifest)  # type: ignore[arg-type]
        except ApiException as exc:
            if exc.status >= 500:
                raise _transient(exc) from exc
            if exc.status != 409:  # 409: created by an earlier attempt; the name is stable
                raise BuildFailure(f"the cluster refused the build Job: {exc.reason}") from exc
        return InProgress(
            task_id=name,
            poll_after=self.poll_interval,
            logs=[f"created Job {self.settings.namespace}/{name}"],
        )

    async def _logs(self, api: client.ApiClient, name: str) -> list[str]:
        core = client.CoreV1Api(api)
        try:
            pods = await core.list_namespaced_pod(
                self.settings.namespace, label_selector=f"job-name={name}"
            )
            if not pods.items:
                return []
            text = await core.read_namespaced_pod_log(
                pods.items[0].metadata.name, self.settings.namespace, tail_lines=_LOG_LINES
            )
        except ApiException:
            return []
        return [line for line in str(text).splitlines() if line.strip()]


def _transient(exc: ApiException) -> TransientBuildError:
    return TransientBuildError(f"Kubernetes API: {exc.status} {exc.reason}")
