"""The serve's router as the database wants it: a workload whose spec carries the routing table
(galapagos_runtime.routing) made from the variants that take traffic now."""

from __future__ import annotations

from typing import Any

from galapagos_core.kernel.config import TrafficSettings
from galapagos_core.traffic.rules import is_shadow
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Workload
from galapagos_model.enums import DesiredState, VariantStatus, WorkloadState
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.traffic import STABLE, TrafficConfig, TrafficVariant


def routing_table(
    config: TrafficConfig, variants: list[TrafficVariant], workloads: dict[Any, Workload]
) -> dict[str, Any]:
    """The router's ``user_config``: the active variants in the order they were added."""
    entries = [
        {
            "name": v.name,
            "app": workloads[v.id].name,
            "weight": v.weight,
            "header_match": v.header_match or {},
            "shadow": is_shadow(v.name),
        }
        for v in variants
        if v.status == VariantStatus.ACTIVE and v.id in workloads
    ]
    return {"default": STABLE, "sticky": config.sticky, "variants": entries}


async def sync_router(
    serve: Serve, environment: Environment, config: TrafficConfig, settings: TrafficSettings
) -> None:
    """Bring the router's workload up to date with the variants (inside the caller's
    transaction, with the config row locked)."""
    variants = await traffic_queries.variants_of(config.id)
    workloads = await traffic_queries.variant_workloads(config.id)
    active = await deployment_queries.active_for(serve.id, environment.id)
    if active is None:
        return  # undeployed meanwhile: the router goes with the serve
    router = await traffic_queries.router_of(environment.id, serve.id)
    route = await _handover(serve, router, workloads, variants)
    spec = WorkloadSpec(
        name=config.route_name,
        project=serve.project.name,
        serve=serve.name,
        environment=environment.name,
        route_prefix=route,
        min_replicas=settings.router_replicas,
        max_replicas=settings.router_replicas,
        cpus=settings.router_cpus,
        routing=routing_table(config, variants, workloads),
    )
    await traffic_queries.want_router(
        serve,
        environment,
        active.deployment_id,
        name=spec.name,
        spec=spec.model_dump(mode="json"),
        spec_hash=spec.digest(),
        labels=spec.labels(),
    )


async def _handover(
    serve: Serve,
    router: Workload | None,
    workloads: dict[Any, Workload],
    variants: list[TrafficVariant],
) -> str | None:
    """The router's route: none until it runs, then the serve's, which the stable variant
    gives up in the same pass. Requests keep being answered throughout: by the serve's
    application until the router, already running, takes the route over."""
    route = f"/{serve.name}"
    if router is None or router.desired_state != DesiredState.DEPLOYED:
        return None
    if router.spec.get("route_prefix") == route:
        return route
    running = (
        router.current_state == WorkloadState.READY
        and router.observed_generation == router.generation
    )
    if not running:
        return None
    for variant in variants:
        workload = workloads.get(variant.id)
        if workload is not None and workload.spec.get("route_prefix") == route:
            spec = WorkloadSpec.model_validate(workload.spec)
            spec = spec.model_copy(update={"route_prefix": None})
            await traffic_queries.adopt_workload(
                workload, variant, spec.model_dump(mode="json"), spec.digest()
            )
    return route
