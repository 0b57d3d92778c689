"""Darwin's artifact and artifact-builder-job endpoints."""

from __future__ import annotations

from uuid import UUID

from starlette.responses import PlainTextResponse, Response

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.schemas.artifacts import ArtifactRead, JobCreated, JobRead, JobStatus
from galapagos_app.schemas.common import PageOut, PageQuery
from galapagos_core.artifacts import ArtifactRegister, job_not_found
from galapagos_core.names import ResourceName
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuildStatus

router = Router(tag="artifacts")


def artifact_read(artifact: Artifact) -> ArtifactRead:
    return ArtifactRead(
        id=artifact.id,
        version=artifact.version,
        kind=artifact.kind,
        image_url=artifact.image_url,
        package_sha256=artifact.package_sha256,
        package_size=artifact.package_size,
        import_path=artifact.import_path,
        model_uri=artifact.model_uri,
        model_format=artifact.model_format,
        github_repo_url=artifact.source,
        branch=artifact.branch,
        file_path=artifact.file_path,
        created_at=artifact.created_at,
    )


def _job(job: ArtifactBuilderJob) -> JobRead:
    return JobRead(
        id=job.id,
        serve_name=job.serve.name,
        version=job.version,
        github_repo_url=job.source,
        branch=job.branch,
        file_path=job.file_path,
        builder=job.builder,
        task_id=job.task_id,
        status=job.status,
        error=job.error,
        attempts=job.attempts,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def _job_id(call: Call[NoBody, NoQuery]) -> UUID:
    raw = call.path["job_id"]
    try:
        return UUID(raw)
    except ValueError:
        raise job_not_found(raw) from None


@router.post(
    "/api/v1/artifact",
    summary="Register an artifact: a build job for api serves, the artifact for workflow serves",
    body=ArtifactRegister,
    response=JobCreated | ArtifactRead,
    status_code=201,
    errors=(403, 404, 409),
)
async def register_artifact(call: Call[ArtifactRegister, NoQuery]) -> JobCreated | ArtifactRead:
    registration = await call.services.artifacts.register(call.actor, call.body)
    if registration.job is not None:
        return JobCreated(job_id=registration.job.id)
    assert registration.artifact is not None
    return artifact_read(registration.artifact)


@router.get(
    "/api/v1/artifact/{serve}",
    summary="Artifacts of a serve, newest first",
    query=PageQuery,
    response=PageOut[ArtifactRead],
    errors=(404,),
)
async def list_artifacts(call: Call[NoBody, PageQuery]) -> PageOut[ArtifactRead]:
    page = await call.services.artifacts.list(call.actor, call.path["serve"], call.query.request())
    return PageOut[ArtifactRead](
        data=[artifact_read(a) for a in page.items],
        page=page.page,
        limit=page.limit,
        total=page.total,
    )


class JobListQuery(PageQuery):
    serve_name: ResourceName | None = None
    status: BuildStatus | None = None


@router.get(
    "/api/v1/artifact_builder_job",
    summary="Builder jobs, newest first",
    query=JobListQuery,
    response=PageOut[JobRead],
)
async def list_jobs(call: Call[NoBody, JobListQuery]) -> PageOut[JobRead]:
    q = call.query
    page = await call.services.artifacts.jobs(
        call.actor, q.request(), serve_name=q.serve_name, status=q.status
    )
    return PageOut[JobRead](
        data=[_job(j) for j in page.items], page=page.page, limit=page.limit, total=page.total
    )


@router.get(
    "/api/v1/artifact_builder_job/{job_id}/status",
    summary="A builder job's status",
    response=JobStatus,
    errors=(404,),
)
async def job_status(call: Call[NoBody, NoQuery]) -> JobStatus:
    job = await call.services.artifacts.job(call.actor, _job_id(call))
    logs_url = str(call.request.url_for("job_logs", job_id=str(job.id)))
    return JobStatus(
        job_id=job.id,
        serve_name=job.serve.name,
        version=job.version,
        status=job.status,
        logs_url=logs_url,
        error=job.error,
    )


@router.get(
    "/api/v1/artifact_builder_job/{job_id}/logs",
    summary="A builder job's logs (plain text)",
    errors=(404,),
)
async def job_logs(call: Call[NoBody, NoQuery]) -> Response:
    job = await call.services.artifacts.job(call.actor, _job_id(call))
    return PlainTextResponse(job.logs or "")
