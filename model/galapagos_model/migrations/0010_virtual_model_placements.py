from tortoise import migrations
from tortoise.migrations import operations as ops
from galapagos_model.base import uuid7
from galapagos_model.enums import WorkloadState
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0009_virtual_models")]

    initial = False

    operations = [
        ops.CreateModel(
            name="VirtualModelPlacement",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "virtual_model",
                    fields.ForeignKeyField(
                        "models.VirtualModel",
                        source_field="virtual_model_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="placements",
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
                    "state",
                    fields.CharEnumField(
                        default=WorkloadState.PENDING,
                        description="PENDING: PENDING\nDEPLOYING: DEPLOYING\nREADY: READY\nFAILED: FAILED\nUNDEPLOYED: UNDEPLOYED",
                        enum_type=WorkloadState,
                        max_length=16,
                    ),
                ),
                ("endpoint", fields.CharField(null=True, max_length=1024)),
                ("message", fields.TextField(null=True, unique=False)),
            ],
            options={
                "table": "virtual_model_placements",
                "app": "models",
                "unique_together": (("virtual_model", "environment"),),
                "pk_attr": "id",
                "table_description": "A virtual model deployed on an environment: its environment's LLM router answers it",
            },
            bases=["Entity"],
        ),
    ]
