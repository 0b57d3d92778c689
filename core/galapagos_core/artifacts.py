"""Artifacts and their builder jobs: register, list, poll."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import BaseModel, Field
from tortoise.exceptions import IntegrityError

from galapagos_core import audit
from galapagos_core.access import require_role
from galapagos_core.actor import Actor
from galapagos_core.errors import Conflict, InvalidInput, NotFound
from galapagos_core.names import ResourceName, Version
from galapagos_core.serves import visible_serve
from galapagos_core.transactions import transactional
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.catalog import Serve
from galapagos_model.enums import ArtifactKind, BuilderKind, BuildStatus, ProjectRole, ServeType
from galapagos_model.queries import artifacts as artifact_queries
from galapagos_model.queries.paging import Page, PageRequest


class ArtifactRegister(BaseModel):
    """Darwin's ``POST /api/v1/artifact`` body."""

    serve_name: ResourceName
    version: Version
    github_repo_url: str | None = Field(
        None,
        min_length=1,
        max_length=1024,
        description="git URL; defaults to the source of the serve's latest artifact or build",
    )
    branch: str | None = Field(None, max_length=255)
    file_path: str | None = Field(None, max_length=1024)


@dataclass(frozen=True)
class Registration:
    """The result of registering: a builder job for api serves, an artifact for workflow serves."""

    job: ArtifactBuilderJob | None = None
    artifact: Artifact | None = None


def job_not_found(job_id: UUID | str) -> NotFound:
    return NotFound(
        f"artifact builder job '{job_id}' not found", code="JOB_NOT_FOUND", job_id=str(job_id)
    )


class ArtifactService:
    @transactional
    async def register(self, actor: Actor, spec: ArtifactRegister) -> Registration:
        """Workflow serves get the artifact at once; api serves get a PENDING build job."""
        serve = await visible_serve(actor, spec.serve_name, ProjectRole.EDITOR)
        await self._version_free(serve, spec.version)
        spec = await self._complete(serve, spec)
        if serve.type == ServeType.WORKFLOW:
            registration = Registration(
                artifact=await self._create_source_artifact(actor, serve, spec)
            )
        else:
            registration = Registration(job=await self._create_job(actor, serve, spec))
        await audit.record(
            actor,
            "artifact.register",
            "serve",
            resource_id=serve.id,
            resource_name=serve.name,
            project=serve.project.name,
            after=spec.model_dump(),
        )
        return registration

    async def list(self, actor: Actor, serve_name: str, page: PageRequest) -> Page[Artifact]:
        serve = await visible_serve(actor, serve_name, ProjectRole.VIEWER)
        return await artifact_queries.artifacts_of(serve.id, page)

    async def job(self, actor: Actor, job_id: UUID) -> ArtifactBuilderJob:
        job = await artifact_queries.job_by_id(job_id)
        if job is None:
            raise job_not_found(job_id)
        await require_role(
            actor, job.serve.project, ProjectRole.VIEWER, hidden=job_not_found(job_id)
        )
        return job

    async def jobs(
        self,
        actor: Actor,
        page: PageRequest,
        *,
        serve_name: str | None = None,
        status: BuildStatus | None = None,
    ) -> Page[ArtifactBuilderJob]:
        return await artifact_queries.jobs_visible_to(
            actor.visibility, page, serve_name=serve_name, status=status
        )

    async def _complete(self, serve: Serve, spec: ArtifactRegister) -> ArtifactRegister:
        """Fill the source from the serve's history (as Darwin does) and check what is required."""
        missing = []
        source = spec.github_repo_url or await artifact_queries.latest_source(serve.id)
        if source is None:
            missing.append(("github_repo_url", "required for the serve's first artifact"))
        if serve.type == ServeType.WORKFLOW:
            missing += [
                (name, "required for workflow serves")
                for name in ("branch", "file_path")
                if getattr(spec, name) is None
            ]
        if missing:
            raise InvalidInput(
                f"missing {', '.join(name for name, _ in missing)}",
                errors=[{"loc": ["body", n], "msg": m, "type": "missing"} for n, m in missing],
            )
        return spec.model_copy(update={"github_repo_url": source})

    async def _version_free(self, serve: Serve, version: str) -> None:
        if await artifact_queries.artifact_exists(serve.id, version):
            raise Conflict(
                f"serve '{serve.name}' already has an artifact '{version}'; versions are immutable",
                code="ARTIFACT_ALREADY_EXISTS",
                serve=serve.name,
                version=version,
            )

    async def _create_source_artifact(
        self, actor: Actor, serve: Serve, spec: ArtifactRegister
    ) -> Artifact:
        try:
            return await artifact_queries.create_artifact(
                serve=serve,
                version=spec.version,
                kind=ArtifactKind.GIT,
                source=spec.github_repo_url,
                branch=spec.branch,
                file_path=spec.file_path,
                created_by_id=actor.user_id,
            )
        except IntegrityError:
            raise Conflict(
                f"serve '{serve.name}' already has an artifact '{spec.version}'",
                code="ARTIFACT_ALREADY_EXISTS",
                serve=serve.name,
                version=spec.version,
            ) from None

    async def _create_job(
        self, actor: Actor, serve: Serve, spec: ArtifactRegister
    ) -> ArtifactBuilderJob:
        try:
            return await artifact_queries.create_job(
                serve=serve,
                version=spec.version,
                source=spec.github_repo_url,
                branch=spec.branch,
                file_path=spec.file_path,
                builder=BuilderKind.LOCAL,
                live_key=f"{serve.id}:{spec.version}",
                created_by_id=actor.user_id,
            )
        except IntegrityError:
            live = await artifact_queries.live_job(serve.id, spec.version)
            raise Conflict(
                f"a build of '{serve.name}' version '{spec.version}' is already in progress",
                code="BUILD_IN_PROGRESS",
                serve=serve.name,
                version=spec.version,
                job_id=str(live.id) if live else None,
            ) from None
