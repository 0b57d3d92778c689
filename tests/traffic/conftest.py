"""The traffic tests' fixtures: ``deployed`` (iris v1 active on a Ray environment, as the
reconciler would have recorded it) and ``cluster`` for the Kubernetes ones, where each module
says its backend in ``KUBE`` (galapagos_core backend name, environment_configs, KMock
resources, operator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import kmock
import pytest

from galapagos_core.kernel.config import Settings
from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Deployment
from galapagos_model.enums import ArtifactKind
from galapagos_model.queries import deployments as deployment_queries
from tests.factories import Factory, bearer
from tests.traffic.kube import Cluster, serving


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest,
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    factory: Factory,
) -> AsyncIterator[Cluster]:
    """iris v1 active on the module's Kubernetes backend; v2 registered."""
    async with serving(kmock, api, admin, settings, server, factory, **request.module.KUBE) as here:
        yield here


@pytest.fixture
async def deployed(api: httpx.AsyncClient, admin: str, factory: Factory) -> None:
    """iris v1 active in prod (as the reconciler would have recorded it); v2, v3 built."""
    h = bearer(admin)
    await api.post("/api/v1/environment", headers=h, json={"name": "prod", "ray_address": "local"})
    serve = await factory.serve("iris")
    await factory.api_config(serve, await Environment.get(name="prod"))
    for version in ("v1", "v2", "v3"):
        await Artifact.create(
            serve=serve,
            version=version,
            kind=ArtifactKind.PACKAGE,
            package_sha256=version * 21 + "0",
            import_path="main:app",
        )
    response = await api.post(
        "/api/v1/serve/iris/deploy", headers=h, json={"env": "prod", "artifact_version": "v1"}
    )
    assert response.status_code == 200, response.text
    deployment = await Deployment.get(id=response.json()["data"]["deployment_id"])
    await deployment_queries.activate(deployment, None, None, datetime.now(UTC))
