from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from galapagos_model.base import uuid7
from galapagos_model.enums import (
    ArtifactKind,
    AuditOutcome,
    BuildStatus,
    BuilderKind,
    ConcurrencyPolicy,
    DeploymentStatus,
    DeploymentStrategy,
    EnvironmentBackend,
    ModelFormat,
    NodeCapacityType,
    ProjectRole,
    ServeType,
    ServingFramework,
)
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="AuditLog",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("actor_id", fields.UUIDField(null=True)),
                ("actor", fields.CharField(max_length=50)),
                ("action", fields.CharField(max_length=64)),
                ("resource_type", fields.CharField(max_length=32)),
                ("resource_id", fields.CharField(null=True, max_length=64)),
                ("resource_name", fields.CharField(null=True, max_length=255)),
                ("project", fields.CharField(null=True, max_length=50)),
                ("request_id", fields.CharField(null=True, max_length=64)),
                ("source_ip", fields.CharField(null=True, max_length=64)),
                (
                    "before",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "after",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "outcome",
                    fields.CharEnumField(
                        default=AuditOutcome.SUCCESS,
                        description="SUCCESS: success\nDENIED: denied",
                        enum_type=AuditOutcome,
                        max_length=16,
                    ),
                ),
            ],
            options={
                "table": "audit_logs",
                "app": "models",
                "indexes": [
                    Index(fields=["resource_type", "resource_id"]),
                    Index(fields=["created_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Project",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("name", fields.CharField(unique=True, max_length=50)),
                ("description", fields.TextField(default="", unique=False)),
            ],
            options={"table": "projects", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("username", fields.CharField(unique=True, max_length=50)),
                ("is_admin", fields.BooleanField(default=False)),
            ],
            options={"table": "users", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("prefix", fields.CharField(max_length=16)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "api_tokens",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A bearer token: only the SHA-256 of the secret is stored, the prefix is for display.",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Environment",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("name", fields.CharField(unique=True, max_length=50)),
                (
                    "env_configs",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("is_protected", fields.BooleanField(default=False)),
                (
                    "backend",
                    fields.CharEnumField(
                        default=EnvironmentBackend.RAY,
                        description="RAY: ray\nKUBERAY: kuberay\nKSERVE: kserve",
                        enum_type=EnvironmentBackend,
                        max_length=16,
                    ),
                ),
                ("ray_address", fields.CharField(null=True, max_length=255)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "environments", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="ProjectMember",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="members",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="VIEWER: viewer\nEDITOR: editor\nOWNER: owner",
                        enum_type=ProjectRole,
                        max_length=16,
                    ),
                ),
            ],
            options={
                "table": "project_members",
                "app": "models",
                "unique_together": (("project", "user"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Serve",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="serves",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(unique=True, max_length=50)),
                (
                    "type",
                    fields.CharEnumField(
                        description="API: api\nWORKFLOW: workflow",
                        enum_type=ServeType,
                        max_length=16,
                    ),
                ),
                ("description", fields.TextField(default="", unique=False)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "serves", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="ApiServeInfraConfig",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_configs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "environment",
                    fields.ForeignKeyField(
                        "models.Environment",
                        source_field="environment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "backend_type",
                    fields.CharEnumField(
                        description="FASTAPI: fastapi\nRAY: ray",
                        enum_type=ServingFramework,
                        max_length=16,
                    ),
                ),
                ("cores", fields.DecimalField(max_digits=6, decimal_places=2)),
                ("memory", fields.DecimalField(max_digits=7, decimal_places=2)),
                ("gpus", fields.IntField(default=0)),
                ("gpu_type", fields.CharField(null=True, max_length=64)),
                (
                    "node_capacity_type",
                    fields.CharEnumField(
                        description="SPOT: spot\nON_DEMAND: on-demand",
                        enum_type=NodeCapacityType,
                        max_length=16,
                    ),
                ),
                ("min_replicas", fields.IntField()),
                ("max_replicas", fields.IntField()),
                ("autoscaling_target", fields.IntField(null=True)),
                (
                    "additional_hosts",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "api_serve_infra_configs",
                "app": "models",
                "unique_together": (("serve", "environment"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="ArtifactBuilderJob",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="builder_jobs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("version", fields.CharField(max_length=64)),
                ("source", fields.CharField(max_length=1024)),
                ("branch", fields.CharField(null=True, max_length=255)),
                ("file_path", fields.CharField(null=True, max_length=1024)),
                (
                    "builder",
                    fields.CharEnumField(
                        description="LOCAL: local\nEXTERNAL: external\nKANIKO: kaniko",
                        enum_type=BuilderKind,
                        max_length=16,
                    ),
                ),
                ("task_id", fields.CharField(null=True, max_length=255)),
                (
                    "status",
                    fields.CharEnumField(
                        default=BuildStatus.PENDING,
                        description="PENDING: PENDING\nRUNNING: RUNNING\nSUCCESSFUL: SUCCESSFUL\nFAILED: FAILED\nCANCELLED: CANCELLED\nTIMED_OUT: TIMED_OUT",
                        enum_type=BuildStatus,
                        max_length=16,
                    ),
                ),
                ("error", fields.TextField(null=True, unique=False)),
                ("logs", fields.TextField(null=True, unique=False)),
                ("attempts", fields.IntField(default=0)),
                (
                    "lease_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("live_key", fields.CharField(null=True, unique=True, max_length=128)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "artifact_builder_jobs",
                "app": "models",
                "indexes": [Index(fields=["status", "lease_until"])],
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Artifact",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="artifacts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("version", fields.CharField(max_length=64)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="IMAGE: image\nPACKAGE: package\nMODEL: model\nGIT: git",
                        enum_type=ArtifactKind,
                        max_length=16,
                    ),
                ),
                ("image_url", fields.CharField(null=True, max_length=1024)),
                ("package_sha256", fields.CharField(null=True, max_length=64)),
                ("package_size", fields.BigIntField(null=True)),
                ("import_path", fields.CharField(null=True, max_length=255)),
                ("model_uri", fields.CharField(null=True, max_length=1024)),
                (
                    "model_format",
                    fields.CharEnumField(
                        null=True,
                        description="SKLEARN: sklearn\nXGBOOST: xgboost\nONNX: onnx\nHUGGINGFACE: huggingface\nMLFLOW: mlflow\nPYTHON: python",
                        enum_type=ModelFormat,
                        max_length=16,
                    ),
                ),
                ("source", fields.CharField(null=True, max_length=1024)),
                ("branch", fields.CharField(null=True, max_length=255)),
                ("file_path", fields.CharField(null=True, max_length=1024)),
                (
                    "builder_job",
                    fields.ForeignKeyField(
                        "models.ArtifactBuilderJob",
                        source_field="builder_job_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "artifacts",
                "app": "models",
                "unique_together": (("serve", "version"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Deployment",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deployments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "artifact",
                    fields.ForeignKeyField(
                        "models.Artifact",
                        source_field="artifact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deployments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "environment",
                    fields.ForeignKeyField(
                        "models.Environment",
                        source_field="environment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deployments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=DeploymentStatus.PENDING,
                        description="PENDING: PENDING\nDEPLOYING: DEPLOYING\nACTIVE: ACTIVE\nFAILED: FAILED\nSUPERSEDED: SUPERSEDED\nENDED: ENDED",
                        enum_type=DeploymentStatus,
                        max_length=16,
                    ),
                ),
                (
                    "strategy",
                    fields.CharEnumField(
                        default=DeploymentStrategy.ROLLING,
                        description="ROLLING: rolling\nRECREATE: recreate\nCANARY: canary\nBLUE_GREEN: blue_green",
                        enum_type=DeploymentStrategy,
                        max_length=16,
                    ),
                ),
                (
                    "config_snapshot",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "environment_variables",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("error", fields.TextField(null=True, unique=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ready_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("idempotency_key", fields.CharField(null=True, unique=True, max_length=128)),
                ("inflight_key", fields.CharField(null=True, unique=True, max_length=80)),
            ],
            options={
                "table": "deployments",
                "app": "models",
                "indexes": [
                    Index(fields=["serve_id", "created_at"]),
                    Index(fields=["serve_id", "status"]),
                ],
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="ActiveDeployment",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="active_deployments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "environment",
                    fields.ForeignKeyField(
                        "models.Environment",
                        source_field="environment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "deployment",
                    fields.ForeignKeyField(
                        "models.Deployment",
                        source_field="deployment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "previous_deployment",
                    fields.ForeignKeyField(
                        "models.Deployment",
                        source_field="previous_deployment_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "active_deployments",
                "app": "models",
                "unique_together": (("serve", "environment"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="WorkflowServeInfraConfig",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="workflow_configs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "environment",
                    fields.ForeignKeyField(
                        "models.Environment",
                        source_field="environment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("schedule", fields.CharField(null=True, max_length=100)),
                ("timezone", fields.CharField(default="UTC", max_length=64)),
                (
                    "head_node_config",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "worker_node_config",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "concurrency_policy",
                    fields.CharEnumField(
                        default=ConcurrencyPolicy.FORBID,
                        description="FORBID: forbid\nALLOW: allow\nREPLACE: replace",
                        enum_type=ConcurrencyPolicy,
                        max_length=16,
                    ),
                ),
                ("retries", fields.IntField(default=0)),
            ],
            options={
                "table": "workflow_serve_infra_configs",
                "app": "models",
                "unique_together": (("serve", "environment"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
    ]
