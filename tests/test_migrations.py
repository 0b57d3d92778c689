"""The checked-in migrations match the models and apply to an empty database."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from galapagos_core.config import Settings
from galapagos_core.database import tortoise_config
from galapagos_model import APP_LABEL


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
