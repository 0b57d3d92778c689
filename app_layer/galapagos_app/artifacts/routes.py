"""Darwin's artifact and artifact-builder-job endpoints, plus image/model/package artifacts,
cancel, logs and downloads."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from galapagos_app.artifacts.schemas import ArtifactRead, JobCreated, JobRead, JobStatus
from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_core.artifacts.errors import job_not_found
from galapagos_core.artifacts.links import LinkCheck, PackageLinks
from galapagos_core.artifacts.specs import (
    ArtifactRegister,
    ImageRegister,
    ModelRegister,
    PackageBuild,
)
from galapagos_core.kernel.errors import NotFound, PermissionDenied
from galapagos_core.kernel.names import ResourceName
from galapagos_core.services import Services
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.enums import BuildStatus

router = Router(tag="artifacts")


def artifact_read(artifact: Artifact, request: Request) -> ArtifactRead:
    sha = artifact.package_sha256
    links: PackageLinks = request.state.services.links
    return ArtifactRead(
        id=artifact.id,
        version=artifact.version,
        kind=artifact.kind,
        image_url=artifact.image_url,
        package_sha256=sha,
        package_size=artifact.package_size,
        package_url=links.url(sha) if sha else None,
        import_path=artifact.import_path,
        model_uri=artifact.model_uri,
        model_format=artifact.model_format,
        github_repo_url=artifact.source,
        branch=artifact.branch,
        file_path=artifact.file_path,
        created_at=artifact.created_at,
    )


def job_read(job: ArtifactBuilderJob) -> JobRead:
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
        started_at=job.started_at,
        finished_at=job.finished_at,
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
    return artifact_read(registration.artifact, call.request)


@router.get(
    "/api/v1/artifact/{serve}",
    summary="Artifacts of a serve, newest first",
    query=PageQuery,
    response=PageOut[ArtifactRead],
    errors=(404,),
)
async def list_artifacts(call: Call[NoBody, PageQuery]) -> PageOut[ArtifactRead]:
    page = await call.services.artifacts.list(call.actor, call.path["serve"], call.query.request())
    return page_out(page, ArtifactRead, lambda artifact: artifact_read(artifact, call.request))


@router.post(
    "/api/v1/artifact/{serve}/image",
    summary="Register a container image as an artifact",
    body=ImageRegister,
    response=ArtifactRead,
    status_code=201,
    errors=(403, 404, 409),
)
async def register_image(call: Call[ImageRegister, NoQuery]) -> ArtifactRead:
    artifact = await call.services.artifacts.register_image(
        call.actor, call.path["serve"], call.body
    )
    return artifact_read(artifact, call.request)


@router.post(
    "/api/v1/artifact/{serve}/model",
    summary="Register a model file (sklearn, xgboost, onnx, …) as an artifact",
    body=ModelRegister,
    response=ArtifactRead,
    status_code=201,
    errors=(403, 404, 409),
)
async def register_model(call: Call[ModelRegister, NoQuery]) -> ArtifactRead:
    artifact = await call.services.artifacts.register_model(
        call.actor, call.path["serve"], call.body
    )
    return artifact_read(artifact, call.request)


@router.post(
    "/api/v1/artifact/{serve}/package",
    summary="Build a package artifact from a folder or git repository with the local builder",
    body=PackageBuild,
    response=JobCreated,
    status_code=201,
    errors=(403, 404, 409),
)
async def build_package(call: Call[PackageBuild, NoQuery]) -> JobCreated:
    job = await call.services.artifacts.build_package(call.actor, call.path["serve"], call.body)
    return JobCreated(job_id=job.id)


@router.get(
    "/api/v1/artifact/{serve}/{version}/download",
    summary="Download a package artifact's zip",
    errors=(404,),
    media="application/zip",
)
async def download_package(call: Call[NoBody, NoQuery]) -> Response:
    serve, version = call.path["serve"], call.path["version"]
    artifact, path = await call.services.artifacts.package(call.actor, serve, version)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{serve}-{version}.zip",
        headers={"X-Content-SHA256": artifact.package_sha256 or ""},
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
    return page_out(page, JobRead, job_read)


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
    media="text/plain",
)
async def job_logs(call: Call[NoBody, NoQuery]) -> Response:
    job = await call.services.artifacts.job(call.actor, _job_id(call))
    text = job.logs or ""
    if job.external_logs_url:
        text += f"external builder logs: {job.external_logs_url}\n"
    return PlainTextResponse(text)


@router.post(
    "/api/v1/artifact_builder_job/{job_id}/cancel",
    summary="Cancel a pending or running build",
    response=JobRead,
    errors=(403, 404, 409),
)
async def cancel_job(call: Call[NoBody, NoQuery]) -> JobRead:
    return job_read(await call.services.artifacts.cancel_job(call.actor, _job_id(call)))


async def linked_package(request: Request) -> Response:
    """A package through a signed, expiring link (what Ray clusters fetch as ``working_dir``):
    no token, but the link is minted only by the control plane and only for a while."""
    services: Services = request.state.services
    sha256 = request.path_params["sha256"]
    verdict = services.links.check(
        sha256, request.query_params.get("expires", ""), request.query_params.get("signature", "")
    )
    if verdict == LinkCheck.EXPIRED:
        raise PermissionDenied(
            "this package link has expired: ask the API for the artifact again for a new one",
            code="PACKAGE_LINK_EXPIRED",
        )
    if verdict != LinkCheck.VALID:
        raise PermissionDenied(
            "package downloads need a signed link (an artifact's package_url) or a token "
            "(GET /api/v1/artifact/{serve}/{version}/download)",
            code="PACKAGE_LINK_INVALID",
        )
    path = services.artifacts.store.locate(sha256)
    if path is None:
        raise NotFound("no such package", code="PACKAGE_NOT_FOUND", sha256=sha256)
    return FileResponse(path, media_type="application/zip")
