"""Artifacts, builder jobs and deployments as rendered."""

from __future__ import annotations

from uuid import UUID

from galapagos_app.paging import ReadModel, Timestamp
from galapagos_model.enums import (
    ArtifactKind,
    BuilderKind,
    BuildStatus,
    DeploymentStatus,
    ModelFormat,
)


class ArtifactRead(ReadModel):
    id: UUID
    version: str
    kind: ArtifactKind
    image_url: str | None
    package_sha256: str | None
    package_size: int | None
    package_url: str | None = None
    import_path: str | None
    model_uri: str | None
    model_format: ModelFormat | None
    github_repo_url: str | None
    branch: str | None
    file_path: str | None
    created_at: Timestamp


class JobCreated(ReadModel):
    job_id: UUID


class JobStatus(ReadModel):
    """Darwin's job status: ``{version, status, logs_url}``."""

    job_id: UUID
    serve_name: str
    version: str
    status: BuildStatus
    logs_url: str | None
    error: str | None


class JobRead(ReadModel):
    id: UUID
    serve_name: str
    version: str
    github_repo_url: str
    branch: str | None
    file_path: str | None
    builder: BuilderKind
    task_id: str | None
    status: BuildStatus
    error: str | None
    attempts: int
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


class DeploymentRow(ReadModel):
    """One row of Darwin's deployment history."""

    id: UUID
    artifact_version: str
    env: str
    status: DeploymentStatus
    created_at: Timestamp
    created_by: str | None
    ended_at: Timestamp | None
