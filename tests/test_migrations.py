"""The checked-in migrations match the models and apply to an empty database."""

from __future__ import annotations

from importlib import import_module

from tortoise import Tortoise
from tortoise.migrations import operations as ops
from tortoise.migrations.autodetector import MigrationAutodetector

from galapagos_core.config import Settings
from galapagos_core.database import tortoise_config
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
