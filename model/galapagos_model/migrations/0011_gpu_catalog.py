from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from galapagos_model.base import uuid7
from galapagos_model.enums import ProviderKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0010_virtual_model_placements")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LlmModel",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("name", fields.CharField(max_length=255)),
                ("model_id", fields.CharField(unique=True, max_length=255)),
                ("required_vram_gb", fields.IntField()),
                ("context_length", fields.IntField()),
                (
                    "engine_args",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("is_active", fields.BooleanField(default=True)),
            ],
            options={"table": "llm_models", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Provider",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("name", fields.CharField(unique=True, max_length=50)),
                (
                    "kind",
                    fields.CharEnumField(
                        default=ProviderKind.KUBERNETES,
                        description="KUBERNETES: kubernetes\nRAY: ray",
                        enum_type=ProviderKind,
                        max_length=16,
                    ),
                ),
                ("description", fields.TextField(default="", unique=False)),
            ],
            options={"table": "gpu_providers", "app": "models", "pk_attr": "id"},
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="InstanceType",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "provider",
                    fields.ForeignKeyField(
                        "models.Provider",
                        source_field="provider_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="instance_types",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=50)),
                ("gpu_model", fields.CharField(max_length=50)),
                ("gpu_count", fields.IntField()),
                ("vram_per_gpu_gb", fields.IntField()),
                ("vcpus", fields.IntField()),
                ("memory_gb", fields.IntField()),
                (
                    "on_demand_price",
                    fields.DecimalField(null=True, max_digits=10, decimal_places=4),
                ),
                ("spot_price", fields.DecimalField(null=True, max_digits=10, decimal_places=4)),
                (
                    "node_selector",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "tolerations",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "gpu_instance_types",
                "app": "models",
                "unique_together": (("provider", "name"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Region",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "provider",
                    fields.ForeignKeyField(
                        "models.Provider",
                        source_field="provider_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="regions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=50)),
            ],
            options={
                "table": "gpu_regions",
                "app": "models",
                "unique_together": (("provider", "name"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="Zone",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "region",
                    fields.ForeignKeyField(
                        "models.Region",
                        source_field="region_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="zones",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=50)),
            ],
            options={
                "table": "gpu_zones",
                "app": "models",
                "unique_together": (("region", "name"),),
                "pk_attr": "id",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="InstanceAvailability",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "instance_type",
                    fields.ForeignKeyField(
                        "models.InstanceType",
                        source_field="instance_type_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="availability",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "zone",
                    fields.ForeignKeyField(
                        "models.Zone",
                        source_field="zone_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="availability",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "capacity",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "gpu_instance_availability",
                "app": "models",
                "unique_together": (("instance_type", "zone"),),
                "pk_attr": "id",
                "table_description": "An instance type offered in a zone, as which capacity kinds (spot, on_demand).",
            },
            bases=["Entity"],
        ),
    ]
