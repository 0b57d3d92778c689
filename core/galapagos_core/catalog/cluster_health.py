"""Cluster health and capabilities: which custom resources (and versions) each registered
cluster offers, checked on a loop by the worker."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.loops import every
from galapagos_core.kernel.secrets import SecretError
from galapagos_model.catalog import Cluster
from galapagos_model.enums import ClusterStatus
from galapagos_model.queries import clusters as cluster_queries

log = logging.getLogger("galapagos.clusters")
_DEADLINE = 20.0  # seconds one cluster may take to answer; the others are not kept waiting
WATCHED = (
    "inferenceservices.serving.kserve.io",
    "rayservices.ray.io",
    "rayjobs.ray.io",
    "httproutes.gateway.networking.k8s.io",
    "aigatewayroutes.aigateway.envoyproxy.io",
)


class ClusterMonitor:
    def __init__(self, clients: KubeClients, interval: float) -> None:
        self.clients = clients
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        await every(self.interval, stop, self.check_all, name="cluster health")

    async def check_all(self) -> None:
        for cluster in await cluster_queries.all_clusters():
            status, message, capabilities = await self._check(cluster)
            await cluster_queries.record_health(
                cluster,
                status=status,
                status_message=message,
                capabilities=capabilities if capabilities is not None else cluster.capabilities,
                checked_at=datetime.now(UTC),
            )

    async def _check(
        self, cluster: Cluster
    ) -> tuple[ClusterStatus, str | None, dict[str, list[str]] | None]:
        try:
            api = await self.clients.for_cluster(cluster)
            extensions = client.ApiextensionsV1Api(api)
            crds = await asyncio.wait_for(extensions.list_custom_resource_definition(), _DEADLINE)
        except SecretError as exc:
            return ClusterStatus.UNHEALTHY, exc.message, None
        except ApiException as exc:
            return ClusterStatus.UNHEALTHY, f"{exc.status} {exc.reason}", None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return ClusterStatus.UNREACHABLE, str(exc) or type(exc).__name__, None
        except Exception as exc:  # a kubeconfig the client cannot use, and the like
            return ClusterStatus.UNHEALTHY, f"{type(exc).__name__}: {exc}"[:2000], None
        capabilities = {
            item.metadata.name: sorted(v.name for v in item.spec.versions if v.served)
            for item in crds.items
            if item.metadata.name in WATCHED
        }
        return ClusterStatus.HEALTHY, None, capabilities
