from tortoise import migrations
from tortoise.migrations import operations as ops
from galapagos_model.base import uuid7
from galapagos_model.enums import BackendKind, VirtualModelStatus
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0008_traffic_variants")]

    initial = False

    operations = [
        ops.CreateModel(
            name="VirtualModel",
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
                ("name", fields.CharField(max_length=128)),
                ("description", fields.TextField(null=True, unique=False)),
                ("route_name", fields.CharField(max_length=63)),
                (
                    "status",
                    fields.CharEnumField(
                        default=VirtualModelStatus.ACTIVE,
                        description="ACTIVE: active\nINACTIVE: inactive",
                        enum_type=VirtualModelStatus,
                        max_length=16,
                    ),
                ),
            ],
            options={
                "table": "virtual_models",
                "app": "models",
                "unique_together": (("project", "name"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="VirtualModelBackend",
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
                        related_name="backends",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=63)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="EXTERNAL: external\nSERVE: serve\nMODEL: model",
                        enum_type=BackendKind,
                        max_length=16,
                    ),
                ),
                ("base_url", fields.CharField(null=True, max_length=1024)),
                ("api_key_encrypted", fields.TextField(null=True, unique=False)),
                (
                    "serve",
                    fields.ForeignKeyField(
                        "models.Serve",
                        source_field="serve_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("model_id", fields.CharField(null=True, max_length=255)),
                ("namespace", fields.CharField(null=True, max_length=63)),
                ("model_name_override", fields.CharField(null=True, max_length=255)),
                ("override_key", fields.CharField(default="", max_length=255)),
                ("weight", fields.IntField(default=1)),
                ("priority", fields.IntField(default=0)),
                (
                    "status",
                    fields.CharEnumField(
                        default=VirtualModelStatus.ACTIVE,
                        description="ACTIVE: active\nINACTIVE: inactive",
                        enum_type=VirtualModelStatus,
                        max_length=16,
                    ),
                ),
            ],
            options={
                "table": "virtual_model_backends",
                "app": "models",
                "unique_together": (("virtual_model", "name", "override_key"),),
                "pk_attr": "id",
                "table_description": "Where a virtual model's requests may go: an external endpoint (base URL, API key sealed",
            },
            bases=["Entity"],
        ),
    ]
