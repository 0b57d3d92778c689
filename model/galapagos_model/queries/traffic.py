"""Traffic configs and their variants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import F

from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Deployment, Workload
from galapagos_model.enums import DesiredState, WorkloadRole, WorkloadState
from galapagos_model.traffic import TrafficConfig, TrafficVariant


async def config_for(
    serve_id: UUID, environment_id: UUID, *, lock: bool = False
) -> TrafficConfig | None:
    """The serve's traffic config there; ``lock`` holds its row for the caller's transaction,
    so changes to its variants are made one at a time."""
    query = TrafficConfig.filter(serve_id=serve_id, environment_id=environment_id)
    if lock:
        query = query.select_for_update()
    return await query.first()


async def configs_of(environment_id: UUID) -> list[TrafficConfig]:
    return await TrafficConfig.filter(environment_id=environment_id).select_related(
        "serve__project"
    )


async def locked_config(config_id: UUID) -> TrafficConfig | None:
    """The config with its serve, its row (only its) held for the caller's transaction."""
    if not await TrafficConfig.filter(id=config_id).select_for_update().exists():
        return None
    return await TrafficConfig.get(id=config_id).select_related("serve__project")


async def variants_of(config_id: UUID) -> list[TrafficVariant]:
    """The config's variants in the order they were added (the router's order of rules)."""
    return (
        await TrafficVariant.filter(config_id=config_id)
        .select_related("artifact")
        .order_by("created_at", "id")
    )


async def variant_named(config_id: UUID, name: str, *, lock: bool = False) -> TrafficVariant | None:
    query = TrafficVariant.filter(config_id=config_id, name=name)
    if lock:
        query = query.select_for_update()
    return await query.select_related("artifact").first()


async def variant_by_id(variant_id: UUID | None) -> TrafficVariant | None:
    if variant_id is None:
        return None
    return await TrafficVariant.get_or_none(id=variant_id)


async def create_config(**values: Any) -> TrafficConfig:
    return await TrafficConfig.create(**values)


async def create_variant(**values: Any) -> TrafficVariant:
    return await TrafficVariant.create(**values)


async def update_config(config: TrafficConfig, **changes: Any) -> None:
    await TrafficConfig.filter(id=config.id).update(**changes)
    for key, value in changes.items():
        setattr(config, key, value)


async def update_variant(variant: TrafficVariant, **changes: Any) -> None:
    """Change a variant; what it receives changed, so its revision moves on."""
    changes["updated_at"] = datetime.now(UTC)
    await TrafficVariant.filter(id=variant.id).update(revision=F("revision") + 1, **changes)
    for key, value in changes.items():
        setattr(variant, key, value)
    variant.revision += 1


async def delete_variant(variant: TrafficVariant) -> None:
    await TrafficVariant.filter(id=variant.id).delete()


async def delete_config(config: TrafficConfig) -> None:
    await TrafficConfig.filter(id=config.id).delete()


async def variant_workloads(config_id: UUID) -> dict[UUID, Workload]:
    """The workload of each variant of the config, by variant id."""
    rows = await Workload.filter(variant__config_id=config_id).select_related("deployment")
    return {w.variant_id: w for w in rows if w.variant_id is not None}


async def router_of(environment_id: UUID, serve_id: UUID, *, lock: bool = False) -> Workload | None:
    query = Workload.filter(
        environment_id=environment_id, serve_id=serve_id, role=WorkloadRole.ROUTER
    )
    if lock:
        query = query.select_for_update()
    return await query.first()


async def adopt_workload(
    workload: Workload, variant: TrafficVariant, spec: dict[str, Any], spec_hash: str
) -> None:
    """The serve's only workload becomes its stable variant's (it keeps running)."""
    await Workload.filter(id=workload.id).update(
        role=WorkloadRole.VARIANT,
        variant_id=variant.id,
        spec=spec,
        spec_hash=spec_hash,
        generation=F("generation") + 1,
    )
    await Deployment.filter(id=workload.deployment_id).update(variant_id=variant.id, spec=spec)


async def want_router(
    serve: Serve,
    environment: Environment,
    deployment_id: UUID,
    *,
    name: str,
    spec: dict[str, Any],
    spec_hash: str,
    labels: dict[str, str],
) -> None:
    """The serve's router should run ``spec`` (created, or changed when it differs; its hash
    leaves the routing table out, so the spec itself is compared)."""
    router = await router_of(environment.id, serve.id, lock=True)
    if router is None:
        await Workload.create(
            environment=environment,
            serve=serve,
            deployment_id=deployment_id,
            backend=environment.backend,
            role=WorkloadRole.ROUTER,
            name=name,
            spec=spec,
            spec_hash=spec_hash,
            labels=labels,
            desired_state=DesiredState.DEPLOYED,
            current_state=WorkloadState.PENDING,
        )
    elif (
        router.spec != spec
        or router.deployment_id != deployment_id
        or router.desired_state != DesiredState.DEPLOYED
    ):
        await Workload.filter(id=router.id).update(
            deployment_id=deployment_id,
            spec=spec,
            spec_hash=spec_hash,
            labels=labels,
            desired_state=DesiredState.DEPLOYED,
            generation=F("generation") + 1,
        )


async def retire_workload(workload_id: UUID) -> None:
    await Workload.filter(id=workload_id).update(
        desired_state=DesiredState.UNDEPLOYED, generation=F("generation") + 1
    )
