"""The ``cluster`` fixture of the Kubernetes traffic tests: each module says its backend in
``KUBE`` (galapagos_core backend name, environment_configs, KMock resources, operator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import kmock
import pytest

from galapagos_core.kernel.config import Settings
from tests.factories import Factory
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
