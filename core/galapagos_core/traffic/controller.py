"""The traffic controller: the part of each reconcile pass that moves traffic configs along.
It removes drained variants once their drain time is over and keeps each router's table in
step with its variants (a variant that became ready joins it). Everything it acts on is in the
database, so a worker that takes over continues where another stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from galapagos_core.kernel.config import TrafficSettings
from galapagos_core.kernel.transactions import transactional
from galapagos_core.traffic.router import sync_router
from galapagos_model.catalog import Environment
from galapagos_model.enums import VariantStatus
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.queries import workloads as workload_queries


class TrafficController:
    def __init__(self, settings: TrafficSettings) -> None:
        self.settings = settings

    async def prepare(self, environment: Environment) -> None:
        """Before the environment's workloads are reconciled: bring its configs along."""
        for config in await traffic_queries.configs_of(environment.id):
            await self._advance(config.serve_id, environment)

    @transactional
    async def _advance(self, serve_id: UUID, environment: Environment) -> None:
        config = await traffic_queries.config_for(serve_id, environment.id, lock=True)
        if config is None:
            return  # removed meanwhile
        config = (await traffic_queries.configs_of(environment.id, ids=[config.id]))[0]
        now = datetime.now(UTC)
        drained_before = now - timedelta(seconds=self.settings.drain_seconds)
        for variant in await traffic_queries.variants_of(config.id):
            if variant.status == VariantStatus.DRAINING and variant.updated_at < drained_before:
                workload = await workload_queries.workload_of_variant(variant.id)
                if workload is not None:
                    await traffic_queries.retire_workload(workload.id)
                    await deployment_queries.end(workload.deployment_id, "drained", now)
                await traffic_queries.delete_variant(variant)
        await sync_router(config.serve, environment, config, self.settings)
