from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from galapagos_model.base import uuid7
from galapagos_model.enums import (
    ClusterStatus,
    DeploymentStatus,
    DeploymentStrategy,
    DesiredState,
    EnvironmentBackend,
    WorkloadState,
)
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0002_build_worker")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Cluster",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("name", fields.CharField(unique=True, max_length=50)),
                ("api_server_url", fields.CharField(max_length=255)),
                ("kubeconfig_encrypted", fields.TextField(unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=ClusterStatus.UNKNOWN,
                        description="UNKNOWN: UNKNOWN\nHEALTHY: HEALTHY\nUNHEALTHY: UNHEALTHY\nUNREACHABLE: UNREACHABLE",
                        enum_type=ClusterStatus,
                        max_length=16,
                    ),
                ),
                ("status_message", fields.TextField(null=True, unique=False)),
                (
                    "capabilities",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("checked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "clusters",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A Kubernetes cluster. Its kubeconfig is stored encrypted and never returned.",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="DeploymentEvent",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "deployment",
                    fields.ForeignKeyField(
                        "models.Deployment",
                        source_field="deployment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        description="PENDING: PENDING\nDEPLOYING: DEPLOYING\nACTIVE: ACTIVE\nFAILED: FAILED\nSUPERSEDED: SUPERSEDED\nENDED: ENDED",
                        enum_type=DeploymentStatus,
                        max_length=16,
                    ),
                ),
                ("message", fields.TextField(null=True, unique=False)),
            ],
            options={
                "table": "deployment_events",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The status history of a deployment.",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Workload",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "environment",
                    fields.ForeignKeyField(
                        "models.Environment",
                        source_field="environment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="workloads",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="workloads",
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
                        related_name="workloads",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "backend",
                    fields.CharEnumField(
                        description="RAY: ray\nKUBERAY: kuberay\nKSERVE: kserve",
                        enum_type=EnvironmentBackend,
                        max_length=16,
                    ),
                ),
                ("name", fields.CharField(max_length=63)),
                ("external_id", fields.CharField(null=True, max_length=128)),
                (
                    "desired_state",
                    fields.CharEnumField(
                        default=DesiredState.DEPLOYED,
                        description="DEPLOYED: DEPLOYED\nUNDEPLOYED: UNDEPLOYED",
                        enum_type=DesiredState,
                        max_length=16,
                    ),
                ),
                (
                    "current_state",
                    fields.CharEnumField(
                        default=WorkloadState.PENDING,
                        description="PENDING: PENDING\nDEPLOYING: DEPLOYING\nREADY: READY\nFAILED: FAILED\nUNDEPLOYED: UNDEPLOYED",
                        enum_type=WorkloadState,
                        max_length=16,
                    ),
                ),
                (
                    "spec",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("spec_hash", fields.CharField(max_length=64)),
                ("url", fields.CharField(null=True, max_length=1024)),
                ("last_error", fields.TextField(null=True, unique=False)),
                (
                    "labels",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("generation", fields.IntField(default=1)),
                ("observed_generation", fields.IntField(default=0)),
                (
                    "last_reconciled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "workloads",
                "app": "models",
                "unique_together": (("environment", "name"), ("environment", "serve")),
                "pk_attr": "id",
                "table_description": "The object a serve has on an environment's backend (a Ray Serve application, a",
            },
            bases=["Entity"],
        ),
        ops.AddField(
            model_name="ApiServeInfraConfig",
            name="scaling_policy",
            field=fields.JSONField(
                null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
            ),
        ),
        ops.AlterField(
            model_name="Deployment",
            name="strategy",
            field=fields.CharEnumField(
                default=DeploymentStrategy.ROLLING,
                description="ROLLING: rolling",
                enum_type=DeploymentStrategy,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Deployment",
            name="rollback_of",
            field=fields.ForeignKeyField(
                "models.Deployment",
                source_field="rollback_of_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name=False,
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="Deployment",
            name="service_url",
            field=fields.CharField(null=True, max_length=1024),
        ),
        ops.AddField(
            model_name="Deployment",
            name="spec",
            field=fields.JSONField(
                default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
            ),
        ),
        ops.AddField(
            model_name="Environment",
            name="cluster",
            field=fields.ForeignKeyField(
                "models.Cluster",
                source_field="cluster_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="environments",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.AddField(
            model_name="Environment",
            name="last_reconciled_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Environment",
            name="ray_token_encrypted",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="Environment",
            name="reconcile_owner",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="Environment",
            name="reconcile_until",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
