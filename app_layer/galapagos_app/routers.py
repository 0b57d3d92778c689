"""Every router of the API, in documentation order."""

from __future__ import annotations

from galapagos_app.artifacts import routes as artifacts
from galapagos_app.catalog import clusters, environments, serves
from galapagos_app.deployments import deploy, history
from galapagos_app.endpoints import Router
from galapagos_app.gpu import instances as gpu_instances
from galapagos_app.gpu import routes as gpu
from galapagos_app.identity import routes as identity
from galapagos_app.infra import routes as infra
from galapagos_app.traffic import routes as traffic
from galapagos_app.virtual_models import routes as virtual_models

ROUTERS: list[Router] = [
    serves.router,
    infra.router,
    deploy.router,
    traffic.router,
    virtual_models.router,
    gpu.router,
    gpu_instances.router,
    history.router,
    artifacts.router,
    environments.router,
    clusters.router,
    identity.router,
]
