"""Artifacts (immutable, deployable versions of a serve) and the jobs that build them."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.catalog import Serve
from galapagos_model.enums import ArtifactKind, BuilderKind, BuildStatus, ModelFormat, SourceKind
from galapagos_model.identity import User

if TYPE_CHECKING:
    from galapagos_model.deployments import Deployment


class ArtifactBuilderJob(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="builder_jobs", on_delete=fields.CASCADE
    )
    serve_id: UUID
    version = fields.CharField(max_length=64)
    source = fields.CharField(max_length=1024)  # git URL or local path
    source_kind = fields.CharEnumField(SourceKind, max_length=8, default=SourceKind.GIT)
    branch = fields.CharField(max_length=255, null=True)
    file_path = fields.CharField(max_length=1024, null=True)
    import_path = fields.CharField(max_length=255, null=True)
    builder = fields.CharEnumField(BuilderKind, max_length=16)
    task_id = fields.CharField(max_length=255, null=True)
    status = fields.CharEnumField(BuildStatus, max_length=16, default=BuildStatus.PENDING)
    error = fields.TextField(null=True)
    logs = fields.TextField(null=True)
    external_logs_url = fields.CharField(max_length=1024, null=True)
    attempts = fields.IntField(default=0)  # times a worker started or resumed the job
    transient_failures = fields.IntField(default=0)
    # A worker holds the job while lease_until is in the future; lease_owner tells its
    # results from those of a worker whose lease ran out.
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)  # NULL: due now
    # Set when a job was cancelled while its builder had work under way (task_id): a
    # worker then asks the builder to stop it, and clears the flag.
    needs_cleanup = fields.BooleanField(default=False)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # "<serve id>:<version>" while the job is live, NULL once it ends: the unique index
    # lets the database (not a read-then-write) keep one live job per (serve, version).
    live_key = fields.CharField(max_length=128, null=True, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: UUID | None

    class Meta:
        table = "artifact_builder_jobs"
        indexes = (("status", "next_attempt_at"),)


class Artifact(Entity):
    serve: fields.ForeignKeyRelation[Serve] = fields.ForeignKeyField(
        "models.Serve", related_name="artifacts", on_delete=fields.CASCADE
    )
    serve_id: UUID
    version = fields.CharField(max_length=64)
    kind = fields.CharEnumField(ArtifactKind, max_length=16)
    image_url = fields.CharField(max_length=1024, null=True)
    package_sha256 = fields.CharField(max_length=64, null=True)
    package_size = fields.BigIntField(null=True)
    import_path = fields.CharField(max_length=255, null=True)
    # What a package needs installed (requirements.txt or pyproject.toml dependencies);
    # nullable so that SQLite adds the column in place instead of rebuilding the table.
    requirements: list[str] | None = fields.JSONField(null=True)
    # The health route its code declares (found by the build), if any.
    health_path = fields.CharField(max_length=255, null=True)
    model_uri = fields.CharField(max_length=1024, null=True)
    model_format = fields.CharEnumField(ModelFormat, max_length=16, null=True)
    source = fields.CharField(max_length=1024, null=True)
    branch = fields.CharField(max_length=255, null=True)
    file_path = fields.CharField(max_length=1024, null=True)
    builder_job: fields.ForeignKeyNullableRelation[ArtifactBuilderJob] = fields.ForeignKeyField(
        "models.ArtifactBuilderJob", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    builder_job_id: UUID | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: UUID | None
    deployments: fields.ReverseRelation[Deployment]

    class Meta:
        table = "artifacts"
        unique_together = (("serve", "version"),)
