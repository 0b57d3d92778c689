"""ASGI entry point for uvicorn (``galapagos_app.asgi:create``, a factory)."""

from __future__ import annotations

from starlette.applications import Starlette

from galapagos_app.main import create_app
from galapagos_core.kernel.config import load_settings
from galapagos_core.kernel.log import configure_logging


def create() -> Starlette:
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
