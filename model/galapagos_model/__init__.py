"""Galápagos persistence: Tortoise models, enums, migrations and query modules."""

MODELS_MODULE = "galapagos_model.models"
MIGRATIONS_MODULE = "galapagos_model.migrations"
APP_LABEL = "models"
