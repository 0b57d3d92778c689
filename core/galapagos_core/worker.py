"""The worker process's loops — the build worker and the reconciler — startable inside any
event loop (``galapagos worker``, or in-process with ``galapagos up``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from galapagos_core.artifacts.builds.builders import configured_builders
from galapagos_core.artifacts.builds.store import DirectoryStore
from galapagos_core.artifacts.builds.worker import BuildWorker
from galapagos_core.catalog.cluster_health import ClusterMonitor
from galapagos_core.gpu.reconcile import GpuInstances
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.services import Services
from galapagos_core.traffic.controller import TrafficController
from galapagos_core.traffic.metrics import RouterMetrics
from galapagos_core.virtual_models.ai_gateway import AiGateways
from galapagos_core.virtual_models.routers import LlmRouters
from galapagos_core.workloads.backends.registry import Backends
from galapagos_core.workloads.reconciler import Reconciler


@dataclass
class Worker:
    builds: BuildWorker
    reconciler: Reconciler
    clusters: ClusterMonitor
    backends: Backends


def make_worker(settings: Settings, services: Services, http: HttpClient) -> Worker:
    backends = Backends(
        settings, http, services.secrets, DirectoryStore(settings.package_dir), services.links
    )
    return Worker(
        builds=BuildWorker(
            configured_builders(settings, http), settings.builds, services.wakeups.builds
        ),
        reconciler=Reconciler(
            backends.for_environment,
            services.env_secrets.open_spec,
            settings.reconcile,
            services.wakeups.reconcile,
            [
                TrafficController(
                    settings.traffic, services.traffic, RouterMetrics(http, backends.ray_endpoint)
                ),
                LlmRouters(settings.llm, services.secrets),
                AiGateways(settings.llm, services.secrets, backends.kube),
                GpuInstances(settings.gpu),
            ],
        ),
        clusters=ClusterMonitor(backends.kube, settings.reconcile.cluster_check_seconds),
        backends=backends,
    )


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, services: Services) -> AsyncIterator[Worker]:
    """Run the worker loops in the background for the duration of the block."""
    http = HttpClient(timeout=settings.builds.external.timeout_seconds)
    worker = make_worker(settings, services, http)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker.builds.run(stop), name="build-worker"),
        asyncio.create_task(worker.reconciler.run(stop), name="reconciler"),
        asyncio.create_task(worker.clusters.run(stop), name="cluster-health"),
    ]
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await worker.backends.close()
        await http.close()
