"""Artifacts and their builder jobs: register, build, list, poll, cancel, download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from tortoise.exceptions import IntegrityError

from galapagos_core.artifacts.builds.store import PackageStore
from galapagos_core.artifacts.creation import audit_serve, record_artifact, version_taken
from galapagos_core.artifacts.errors import artifact_not_found, job_not_found
from galapagos_core.artifacts.specs import (
    ArtifactRegister,
    ImageRegister,
    ModelRegister,
    PackageBuild,
)
from galapagos_core.catalog.serves import readable_serve, visible_serve
from galapagos_core.kernel.access import require_role
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.boundaries import LocalPaths, OutboundGuard
from galapagos_core.kernel.config import BuildSettings
from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.kernel.transactions import after_commit, transactional
from galapagos_model.artifacts import Artifact, ArtifactBuilderJob
from galapagos_model.catalog import Serve
from galapagos_model.enums import (
    ArtifactKind,
    BuilderKind,
    BuildStatus,
    ProjectRole,
    ServeType,
    SourceKind,
)
from galapagos_model.queries import artifacts as artifact_queries
from galapagos_model.queries import builds as build_queries
from galapagos_model.queries.paging import Page, PageRequest


@dataclass(frozen=True)
class Registration:
    """The result of registering: a builder job for api serves, an artifact for workflow serves."""

    job: ArtifactBuilderJob | None = None
    artifact: Artifact | None = None


def _missing(*fields: tuple[str, str]) -> InvalidInput:
    return InvalidInput(
        f"missing {', '.join(name for name, _ in fields)}",
        errors=[{"loc": ["body", n], "msg": m, "type": "missing"} for n, m in fields],
    )


async def artifact_of(serve_id: UUID, serve_name: str, version: str) -> Artifact:
    """Version ``version`` of the serve, or 404 ARTIFACT_NOT_FOUND."""
    artifact = await artifact_queries.artifact_by_version(serve_id, version)
    if artifact is None:
        raise artifact_not_found(serve_name, version)
    return artifact


class ArtifactService:
    def __init__(
        self,
        settings: BuildSettings,
        store: PackageStore,
        local_paths: LocalPaths,
        git_hosts: OutboundGuard,
        builds: Wakeup,
    ) -> None:
        self.settings = settings
        self.store = store
        self.local_paths = local_paths
        self.git_hosts = git_hosts
        self.builds = builds  # rung once a job is recorded

    # Registration -------------------------------------------------------------------------

    @transactional
    async def register(self, actor: Actor, spec: ArtifactRegister) -> Registration:
        """Darwin's registration: workflow serves get the artifact at once (a git source);
        api serves get a PENDING build job with the requested or default builder."""
        serve = await visible_serve(actor, spec.serve_name, ProjectRole.EDITOR)
        await self._version_free(serve, spec.version)
        source = spec.github_repo_url or await artifact_queries.latest_source(serve.id)
        missing = [] if source else [("github_repo_url", "required for the serve's first artifact")]
        if serve.type == ServeType.WORKFLOW:
            missing += [
                (name, "required for workflow serves")
                for name in ("branch", "file_path")
                if getattr(spec, name) is None
            ]
        if missing:
            raise _missing(*missing)
        assert source is not None
        self._check_git_source(actor, source)
        if serve.type == ServeType.WORKFLOW:
            artifact = await record_artifact(
                actor,
                serve,
                spec.version,
                action="artifact.register",
                audited=spec.model_dump(mode="json"),
                kind=ArtifactKind.GIT,
                source=source,
                branch=spec.branch,
                file_path=spec.file_path,
            )
            return Registration(artifact=artifact)
        job = await self._create_job(
            actor,
            serve,
            spec.version,
            builder=spec.builder or self.settings.default_builder,
            source=source,
            source_kind=SourceKind.GIT,
            branch=spec.branch,
            file_path=spec.file_path,
            import_path=spec.import_path,
        )
        await audit_serve(actor, "artifact.register", serve, spec.model_dump(mode="json"))
        return Registration(job=job)

    @transactional
    async def register_image(self, actor: Actor, serve_name: str, spec: ImageRegister) -> Artifact:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        return await record_artifact(
            actor,
            serve,
            spec.version,
            action="artifact.register_image",
            audited=spec.model_dump(mode="json"),
            kind=ArtifactKind.IMAGE,
            image_url=spec.image_url,
        )

    @transactional
    async def register_model(self, actor: Actor, serve_name: str, spec: ModelRegister) -> Artifact:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        self.check_model_uri(actor, spec.model_uri)
        return await record_artifact(
            actor,
            serve,
            spec.version,
            action="artifact.register_model",
            audited=spec.model_dump(mode="json"),
            kind=ArtifactKind.MODEL,
            model_uri=spec.model_uri,
            model_format=spec.model_format,
        )

    @transactional
    async def build_package(
        self, actor: Actor, serve_name: str, spec: PackageBuild
    ) -> ArtifactBuilderJob:
        """A package build with the local builder, from a host folder or a git repository."""
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        if (spec.source_path is None) == (spec.github_repo_url is None):
            raise InvalidInput(
                "give exactly one of source_path or github_repo_url",
                errors=[
                    {
                        "loc": ["body", "source_path"],
                        "msg": "exactly one source",
                        "type": "value_error",
                    }
                ],
            )
        await self._version_free(serve, spec.version)
        if spec.source_path is not None:
            source, kind = str(self._local_path(actor, spec.source_path)), SourceKind.PATH
        else:
            assert spec.github_repo_url is not None
            self._check_git_source(actor, spec.github_repo_url)
            source, kind = spec.github_repo_url, SourceKind.GIT
        job = await self._create_job(
            actor,
            serve,
            spec.version,
            builder=BuilderKind.LOCAL,
            source=source,
            source_kind=kind,
            branch=spec.branch,
            file_path=spec.file_path,
            import_path=spec.import_path,
        )
        await audit_serve(actor, "artifact.build_package", serve, spec.model_dump(mode="json"))
        return job

    # Reading ------------------------------------------------------------------------------

    async def list(self, actor: Actor, serve_name: str, page: PageRequest) -> Page[Artifact]:
        serve = await readable_serve(actor, serve_name)
        return await artifact_queries.artifacts_of(serve.id, page)

    async def package(self, actor: Actor, serve_name: str, version: str) -> tuple[Artifact, Path]:
        """A package artifact and the local file holding its zip."""
        serve = await readable_serve(actor, serve_name)
        artifact = await artifact_of(serve.id, serve_name, version)
        path = self.store.locate(artifact.package_sha256) if artifact.package_sha256 else None
        if path is None:
            raise NotFound(
                f"artifact '{version}' of '{serve_name}' is a {artifact.kind.value} artifact, "
                "not a stored package",
                code="PACKAGE_NOT_FOUND",
                serve=serve_name,
                version=version,
            )
        return artifact, path

    async def job(
        self, actor: Actor, job_id: UUID, required: ProjectRole = ProjectRole.VIEWER
    ) -> ArtifactBuilderJob:
        job = await artifact_queries.job_by_id(job_id)
        if job is None:
            raise job_not_found(job_id)
        await require_role(actor, job.serve.project, required, hidden=job_not_found(job_id))
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

    # Cancelling ---------------------------------------------------------------------------

    @transactional
    async def cancel_job(self, actor: Actor, job_id: UUID) -> ArtifactBuilderJob:
        """End a live job as CANCELLED; a worker running it stops at its next heartbeat."""
        job = await self.job(actor, job_id, ProjectRole.EDITOR)
        cancelled = await build_queries.cancel(
            job.id, datetime.now(UTC), f"cancelled by {actor.username}"
        )
        if not cancelled:
            raise Conflict(
                f"job '{job_id}' already ended ({job.status.value})",
                code="JOB_NOT_LIVE",
                job_id=str(job_id),
                status=job.status.value,
            )
        await audit_serve(actor, "artifact_job.cancel", job.serve, {"job_id": str(job.id)})
        refreshed = await artifact_queries.job_by_id(job.id)
        assert refreshed is not None
        return refreshed

    # Helpers ------------------------------------------------------------------------------

    def _local_path(self, actor: Actor, path: str) -> Path:
        """A folder of this host, for platform admins only and only below the roots."""
        if not actor.is_admin:
            raise PermissionDenied(
                "local sources (source_path, file:// URLs) read this host's disk: they are for "
                "platform admins; push the code to a git repository instead",
                code="LOCAL_SOURCE_FORBIDDEN",
            )
        return self.local_paths.check(path)

    def _check_git_source(self, actor: Actor, url: str) -> None:
        if urlsplit(url).scheme == "file":  # reads this host's disk, like a folder source
            self._local_path(actor, urlsplit(url).path)
        else:  # the builder resolves and pins the host; literal addresses are refused now
            self.git_hosts.check_literal(url)

    def check_model_uri(self, actor: Actor, uri: str) -> None:
        # A file:// model is read where the model server runs: on a local Ray, this host.
        if urlsplit(uri).scheme == "file":
            self._local_path(actor, urlsplit(uri).path)

    async def _version_free(self, serve: Serve, version: str) -> None:
        if await artifact_queries.artifact_exists(serve.id, version):
            raise version_taken(serve, version)

    async def _create_job(
        self, actor: Actor, serve: Serve, version: str, **values: Any
    ) -> ArtifactBuilderJob:
        try:
            job = await artifact_queries.create_job(
                serve=serve,
                version=version,
                live_key=f"{serve.id}:{version}",
                created_by_id=actor.user_id,
                **values,
            )
        except IntegrityError:
            live = await artifact_queries.live_job(serve.id, version)
            raise Conflict(
                f"a build of '{serve.name}' version '{version}' is already in progress",
                code="BUILD_IN_PROGRESS",
                serve=serve.name,
                version=version,
                job_id=str(live.id) if live else None,
            ) from None
        job.serve = serve
        after_commit(self.builds.ring)
        return job
