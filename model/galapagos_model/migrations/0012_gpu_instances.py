from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from galapagos_model.base import uuid7
from galapagos_model.enums import CapacityKind, EnvironmentBackend, GpuInstanceStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0011_gpu_catalog")]

    initial = False

    operations = [
        ops.CreateModel(
            name="GpuInstance",
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
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "llm_model",
                    fields.ForeignKeyField(
                        "models.LlmModel",
                        source_field="llm_model_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="instances",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "instance_type",
                    fields.ForeignKeyField(
                        "models.InstanceType",
                        source_field="instance_type_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "zone",
                    fields.ForeignKeyField(
                        "models.Zone",
                        source_field="zone_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
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
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(unique=True, max_length=63)),
                (
                    "backend",
                    fields.CharEnumField(
                        description="RAY: ray\nKUBERAY: kuberay\nKSERVE: kserve",
                        enum_type=EnvironmentBackend,
                        max_length=16,
                    ),
                ),
                (
                    "capacity",
                    fields.CharEnumField(
                        description="SPOT: spot\nON_DEMAND: on_demand",
                        enum_type=CapacityKind,
                        max_length=16,
                    ),
                ),
                ("policy", fields.CharField(max_length=32)),
                ("hourly_price", fields.DecimalField(max_digits=10, decimal_places=4)),
                (
                    "gpu_profile",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("endpoint", fields.CharField(null=True, max_length=1024)),
                ("current_load", fields.FloatField(default=0)),
                (
                    "last_heartbeat_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=GpuInstanceStatus.PROVISIONING,
                        description="PROVISIONING: PROVISIONING\nBOOTING: BOOTING\nREADY: READY\nRECOVERING: RECOVERING\nDRAINING: DRAINING\nTERMINATED: TERMINATED\nFAILED: FAILED",
                        enum_type=GpuInstanceStatus,
                        max_length=16,
                    ),
                ),
                ("status_message", fields.TextField(null=True, unique=False)),
                (
                    "drain_deadline",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "terminated_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "replaces",
                    fields.ForeignKeyField(
                        "models.GpuInstance",
                        source_field="replaces_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "gpu_instances",
                "app": "models",
                "indexes": [
                    Index(fields=["environment_id", "status"]),
                    Index(fields=["updated_at"]),
                ],
                "pk_attr": "id",
                "table_description": "A model served on GPUs of one instance type in one zone, run on an environment (a",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="GpuInstanceEvent",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "instance",
                    fields.ForeignKeyField(
                        "models.GpuInstance",
                        source_field="instance_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        description="PROVISIONING: PROVISIONING\nBOOTING: BOOTING\nREADY: READY\nRECOVERING: RECOVERING\nDRAINING: DRAINING\nTERMINATED: TERMINATED\nFAILED: FAILED",
                        enum_type=GpuInstanceStatus,
                        max_length=16,
                    ),
                ),
                ("message", fields.TextField(unique=False)),
            ],
            options={
                "table": "gpu_instance_events",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A GPU instance's history: each state it entered, and why.",
            },
            bases=["Entity"],
        ),
    ]
