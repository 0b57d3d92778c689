"""Artifacts and artifact builder jobs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuildStatus
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def artifacts_of(serve_id: UUID, request: PageRequest) -> Page[Artifact]:
    query = (
        Artifact.filter(serve_id=serve_id)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )
    return await paginate(query, request)


async def artifact_by_version(serve_id: UUID, version: str) -> Artifact | None:
    return await Artifact.get_or_none(serve_id=serve_id, version=version)


async def artifact_exists(serve_id: UUID, version: str) -> bool:
    return await Artifact.filter(serve_id=serve_id, version=version).exists()


async def latest_source(serve_id: UUID) -> str | None:
    """The git source of the serve's newest artifact, else of its newest build."""
    artifact = (
        await Artifact.filter(serve_id=serve_id, source__isnull=False)
        .order_by("-created_at", "-id")
        .first()
    )
    if artifact is not None:
        return artifact.source
    job = await ArtifactBuilderJob.filter(serve_id=serve_id).order_by("-created_at", "-id").first()
    return job.source if job else None


async def create_artifact(**values: Any) -> Artifact:
    return await Artifact.create(**values)


async def create_job(**values: Any) -> ArtifactBuilderJob:
    return await ArtifactBuilderJob.create(**values)


async def live_job(serve_id: UUID, version: str) -> ArtifactBuilderJob | None:
    return (
        await ArtifactBuilderJob.filter(
            serve_id=serve_id,
            version=version,
            status__in=[BuildStatus.PENDING, BuildStatus.RUNNING],
        )
        .select_for_update()
        .first()
    )


async def job_by_id(job_id: UUID) -> ArtifactBuilderJob | None:
    return await ArtifactBuilderJob.get_or_none(id=job_id).select_related("serve__project")


async def jobs_visible_to(
    user_id: UUID | None,
    request: PageRequest,
    *,
    serve_name: str | None = None,
    status: BuildStatus | None = None,
) -> Page[ArtifactBuilderJob]:
    query = ArtifactBuilderJob.all()
    if user_id is not None:
        query = query.filter(serve__project__members__user_id=user_id)
    if serve_name is not None:
        query = query.filter(serve__name=serve_name)
    if status is not None:
        query = query.filter(status=status)
    return await paginate(query.select_related("serve").order_by("-created_at", "-id"), request)
