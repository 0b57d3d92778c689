"""Every router of the API, in documentation order."""

from __future__ import annotations

from galapagos_app.endpoints import Router
from galapagos_app.routes import (
    artifacts,
    clusters,
    deploy,
    deployments,
    environments,
    identity,
    serves,
)

ROUTERS: list[Router] = [
    serves.router,
    deploy.router,
    deployments.router,
    artifacts.router,
    environments.router,
    clusters.router,
    identity.router,
]
