"""Galápagos persistence: Tortoise models, enums, migrations and query modules."""

from __future__ import annotations

from typing import Any

APP_LABEL = "models"
APPS: dict[str, Any] = {
    APP_LABEL: {
        "models": ["galapagos_model.models"],
        "migrations": "galapagos_model.migrations",
        "default_connection": "default",
    }
}

# What `tortoise makemigrations` reads (pyproject's [tool.tortoise]): migrations are
# computed from the models and the migration files, so no real database is involved.
AUTHORING_CONFIG: dict[str, Any] = {
    "connections": {"default": "sqlite://:memory:"},
    "apps": APPS,
}
