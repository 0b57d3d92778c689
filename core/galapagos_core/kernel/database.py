"""Database lifecycle: Tortoise configuration from settings, connect, migrate, close."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

from galapagos_core.kernel.config import Settings
from galapagos_model import APPS

_READ_COMMITTED = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise configuration for ``settings``: MySQL when configured, else embedded SQLite."""
    db = settings.database
    connection: dict[str, Any]
    if db.url:
        connection = expand_db_url(db.url)
    elif db.host:
        connection = {
            "engine": "tortoise.backends.mysql",
            "credentials": {
                "host": db.host,
                "port": db.port,
                "user": db.user or "root",
                "password": db.password.get_secret_value() if db.password else "",
                "database": db.name,
                "charset": "utf8mb4",
            },
        }
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        connection = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": str(settings.data_dir / "galapagos.db"),
                "busy_timeout": 10000,
            },
        }
    if connection["engine"] == "tortoise.backends.mysql":
        # The pool is sized by settings whether the server came as a URL or as fields.
        connection["credentials"].update(minsize=db.pool_min, maxsize=db.pool_max)
        # Every statement sees the latest committed rows. Invariants rest on unique keys and
        # row locks; REPEATABLE READ snapshots would hide rows another request just
        # committed (a race-lost insert followed by a read of the winner's row).
        connection["credentials"]["init_command"] = _READ_COMMITTED
    return {
        "connections": {"default": connection},
        "apps": APPS,
        "use_tz": True,
        "timezone": "UTC",
    }


async def connect(settings: Settings) -> None:
    """Open the ORM for this process. Never creates tables: that is ``migrate``'s job."""
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    """Apply every pending migration (idempotent)."""
    await tortoise_migrate(config=tortoise_config(settings))
    await Tortoise.close_connections()
