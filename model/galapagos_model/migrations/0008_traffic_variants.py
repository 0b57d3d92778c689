import re

from tortoise import migrations
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.migrations import operations as ops
import functools
from galapagos_model.base import uuid7
from galapagos_model.enums import TrafficStatus, TrafficStrategy, VariantStatus, WorkloadRole
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields


async def several_workloads_per_serve(apps, schema_editor):
    """Drop the rule of one workload per (environment, serve). SQLite keeps a table's UNIQUE
    clauses in its CREATE TABLE and cannot drop them, so there the table is rebuilt without
    it (SQLite's documented way), keeping its rows and its indexes."""
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        model = apps.get_model("models.Workload")
        await schema_editor.remove_constraint(model, UniqueConstraint(("environment", "serve")))
        return
    rows = await client.execute_query_dict(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'workloads'"
    )
    create = next(row["sql"] for row in rows if row["type"] == "table")
    clause = re.compile(
        r',\s*(CONSTRAINT\s+"[^"]+"\s+)?UNIQUE\s*\(\s*"environment_id"\s*,\s*"serve_id"\s*\)', re.I
    )
    assert clause.search(create), create
    rebuilt = clause.sub("", create).replace('"workloads"', '"new__workloads"', 1)
    indexes = [row["sql"] for row in rows if row["type"] == "index" and row["sql"]]
    for statement in (
        rebuilt,
        'INSERT INTO "new__workloads" SELECT * FROM "workloads"',
        'DROP TABLE "workloads"',
        'ALTER TABLE "new__workloads" RENAME TO "workloads"',
        *indexes,
    ):
        await client.execute_query(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0007_health_routes_and_environment_variables")]

    initial = False

    operations = [
        ops.CreateModel(
            name="TrafficConfig",
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
                        related_name="traffic_configs",
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
                    "strategy",
                    fields.CharEnumField(
                        description="CANARY: canary\nAB_TEST: ab_test\nSHADOW: shadow\nBLUE_GREEN: blue_green",
                        enum_type=TrafficStrategy,
                        max_length=16,
                    ),
                ),
                ("route_name", fields.CharField(max_length=63)),
                (
                    "status",
                    fields.CharEnumField(
                        default=TrafficStatus.ACTIVE,
                        description="ACTIVE: active\nPAUSED: paused",
                        enum_type=TrafficStatus,
                        max_length=16,
                    ),
                ),
                ("sticky_header", fields.CharField(null=True, max_length=128)),
                ("sticky_cookie", fields.CharField(null=True, max_length=128)),
                (
                    "rollout",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("rollout_step", fields.IntField(null=True)),
                (
                    "step_started_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "traffic_configs",
                "app": "models",
                "unique_together": (("serve", "environment"),),
                "pk_attr": "id",
                "table_description": "How a serve's traffic in an environment is split among its variants.",
            },
            bases=["Entity"],
        ),
        ops.CreateModel(
            name="TrafficVariant",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "config",
                    fields.ForeignKeyField(
                        "models.TrafficConfig",
                        source_field="config_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="variants",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                (
                    "artifact",
                    fields.ForeignKeyField(
                        "models.Artifact",
                        source_field="artifact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("weight", fields.IntField(default=0)),
                (
                    "header_match",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=VariantStatus.PENDING,
                        description="PENDING: pending\nACTIVE: active\nPROMOTING: promoting\nDRAINING: draining\nINACTIVE: inactive",
                        enum_type=VariantStatus,
                        max_length=16,
                    ),
                ),
                ("revision", fields.IntField(default=1)),
            ],
            options={
                "table": "traffic_variants",
                "app": "models",
                "unique_together": (("config", "name"),),
                "pk_attr": "id",
                "table_description": "One version taking part in a serve's traffic: its artifact, its weight (percent of",
            },
            bases=["Entity"],
        ),
        ops.AddField(
            model_name="Deployment",
            name="variant",
            field=fields.ForeignKeyField(
                "models.TrafficVariant",
                source_field="variant_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="deployments",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.RunPython(several_workloads_per_serve, ops.RunPython.noop),
        ops.AlterModelOptions(
            name="Workload",
            options={
                "table": "workloads",
                "app": "models",
                "unique_together": (("environment", "name"),),
                "pk_attr": "id",
                "table_description": "An object a serve has on an environment's backend (a Ray Serve application, a",
            },
        ),
        ops.AddField(
            model_name="Workload",
            name="role",
            field=fields.CharEnumField(
                default=WorkloadRole.APP,
                description="APP: app\nVARIANT: variant\nROUTER: router",
                enum_type=WorkloadRole,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Workload",
            name="variant",
            field=fields.ForeignKeyField(
                "models.TrafficVariant",
                source_field="variant_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="workloads",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
    ]
