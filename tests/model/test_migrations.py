"""The checked-in migrations match the models and apply to an empty database."""

from __future__ import annotations

from importlib import import_module

from tortoise import Tortoise
from tortoise.migrations import operations as ops
from tortoise.migrations.autodetector import MigrationAutodetector

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.database import tortoise_config
from galapagos_model import APP_LABEL
from galapagos_model.catalog import Serve
from tests.factories import Factory


async def test_models_and_migrations_do_not_drift(settings: Settings) -> None:
    """Fails when a model changed without ``make migration``."""
    apps_config = tortoise_config(settings)["apps"]
    assert Tortoise.apps is not None
    changes = await MigrationAutodetector(Tortoise.apps, apps_config).changes()
    pending = [op for writer in changes for op in writer.operations]
    assert not pending, f"models changed without a migration: {pending}"


async def test_migrations_were_applied_to_this_database(settings: Settings) -> None:
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT app, name FROM tortoise_migrations"
    )
    assert {(r["app"], r["name"]) for r in rows} >= {(APP_LABEL, "0001_initial")}


def test_model_docstrings_are_safe_table_comments() -> None:
    """Tortoise turns model docstrings into table comments, and splits migration SQL on ';'."""
    from tortoise import Tortoise

    assert Tortoise.apps is not None
    for model in Tortoise.apps.get_models_iterable():
        doc = model.__doc__ or ""
        assert ";" not in doc, model.__name__
        assert "`" not in doc, model.__name__


async def test_deployment_counters_are_filled_from_existing_history(
    factory: Factory,
) -> None:
    """Migration 0004's back-fill counts each serve's deployments (run here on this database)."""
    from tortoise import connections

    backfill = import_module("galapagos_model.migrations.0004_deployment_count")
    statement = next(op for op in backfill.Migration.operations if isinstance(op, ops.RunSQL))
    environment = await factory.environment("prod")
    busy = await factory.serve("busy")
    await factory.serve("idle")
    await factory.deployments(busy, environment, 3)
    await Serve.all().update(deployment_count=0)  # as the column starts out

    await connections.get("default").execute_script(statement.sql)

    counts = dict(await Serve.all().values_list("name", "deployment_count"))
    assert counts == {"busy": 3, "idle": 0}


async def test_stored_specs_name_packages_by_digest_after_migration_0005(
    factory: Factory,
) -> None:
    """Specs written before package links were signed kept the public URL; 0005 turns it
    into the digest (and the stored hash with it)."""
    from types import SimpleNamespace

    from tortoise import connections

    from galapagos_core.workloads.spec import WorkloadSpec
    from galapagos_model.deployments import Deployment, Workload

    sha = "c" * 64
    old = WorkloadSpec(
        name="iris",
        project="ml",
        serve="iris",
        environment="prod",
        deployment_id="0d6c1f6e-8a5b-4c1e-9f3e-2b7a9c4d5e6f",
        route_prefix="/iris",
        artifact_kind="package",
        artifact_version="v1",
        import_path="main:Model",
    ).model_dump(mode="json", exclude={"package_sha256"})
    old["package_url"] = f"http://cp:8000/packages/{sha}.zip"
    environment = await factory.environment("prod")
    serve = await factory.serve("iris")
    await factory.deployments(serve, environment, 1)
    deployment = await Deployment.get(serve=serve)
    await Deployment.filter(id=deployment.id).update(spec=old)
    workload = await Workload.create(
        environment=environment,
        serve=serve,
        deployment=deployment,
        backend="ray",
        name="iris",
        spec=old,
        spec_hash="stale",
    )

    migration = import_module("galapagos_model.migrations.0005_reconcile_error_and_package_digests")
    editor = SimpleNamespace(client=connections.get("default"))
    await migration.name_packages_by_digest(None, editor)

    await workload.refresh_from_db()
    assert "package_url" not in workload.spec
    assert workload.spec["package_sha256"] == sha
    assert workload.spec_hash == migration._digest(workload.spec)  # not the stale one
    assert WorkloadSpec.model_validate(workload.spec).package_sha256 == sha
    await deployment.refresh_from_db()
    assert deployment.spec["package_sha256"] == sha


async def test_every_unique_rule_of_the_models_holds_in_the_database() -> None:
    """Migrations must keep what the models promise: SQLite rebuilds a table for some
    changes, and a rebuild that forgot a unique key would let duplicates in."""
    from tortoise import connections

    assert Tortoise.apps is not None
    expected = set()
    for model in Tortoise.apps.get_models_iterable():
        meta = model._meta
        column = {
            name: meta.fields_db_projection.get(name) or meta.fields_db_projection[f"{name}_id"]
            for name in meta.fields_map
            if name in meta.fields_db_projection or f"{name}_id" in meta.fields_db_projection
        }
        for name, field in meta.fields_map.items():
            if field.unique and not field.pk and name in meta.fields_db_projection:
                expected.add((meta.db_table, frozenset([column[name]])))
        for together in meta.unique_together:
            expected.add((meta.db_table, frozenset(column[name] for name in together)))
    client = connections.get("default")
    actual = set()
    if client.capabilities.dialect == "sqlite":
        tables = {table for table, _ in expected}
        for table in tables:
            for index in await client.execute_query_dict(f"PRAGMA index_list({table})"):
                if index["unique"]:
                    info = await client.execute_query_dict(f"PRAGMA index_info({index['name']})")
                    actual.add((table, frozenset(row["name"] for row in info)))
    else:
        rows = await client.execute_query_dict(
            "SELECT table_name AS t, index_name AS i, column_name AS c FROM "
            "information_schema.statistics WHERE table_schema = DATABASE() AND non_unique = 0"
        )
        grouped: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            grouped.setdefault((row["t"], row["i"]), set()).add(row["c"])
        actual = {(table, frozenset(columns)) for (table, _), columns in grouped.items()}
    assert expected <= actual, sorted(expected - actual)
