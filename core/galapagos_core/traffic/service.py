"""Traffic variants of a serve in an environment: create the config, add and remove variants,
change weights, promote, roll back, pause and resume.

Every change holds the config's row lock for its transaction, so concurrent changes apply one
after the other and the weight rules always see the whole config. A change writes what should
run (variant deployments, the router's table) and rings the reconciler once committed.

The serve's active deployment becomes the stable variant: its application keeps running and
hands its route to the router. A variant other than stable starts as its own deployment and
takes traffic once ready. Promoting a variant makes it stable (its application keeps running:
nothing restarts) and drains the previous stable one; rolling back drains every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from galapagos_core.artifacts.service import artifact_of
from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import visible_serve
from galapagos_core.deployments.commands import DeploymentService, Placement
from galapagos_core.deployments.workload_spec import as_variant, preview_route
from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import TrafficSettings
from galapagos_core.kernel.errors import Conflict, InvalidInput
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.kernel.naming import resource_name
from galapagos_core.kernel.transactions import after_commit, transactional
from galapagos_core.traffic import errors, rules
from galapagos_core.traffic.router import sync_router
from galapagos_core.traffic.specs import TrafficRequest, VariantRequest
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.catalog import Environment, Serve
from galapagos_model.deployments import Workload
from galapagos_model.enums import (
    ProjectRole,
    TrafficStatus,
    TrafficStrategy,
    VariantStatus,
)
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import traffic as traffic_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.traffic import STABLE, TrafficConfig, TrafficVariant

# Variants that count towards the 100 and the candidate rule (the others are on their way out).
_LIVE = {VariantStatus.PENDING, VariantStatus.ACTIVE, VariantStatus.PROMOTING}


@dataclass(frozen=True)
class Scope:
    """A traffic config with what it belongs to, its row locked."""

    serve: Serve
    environment: Environment
    config: TrafficConfig
    variants: list[TrafficVariant]

    def variant(self, name: str) -> TrafficVariant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise errors.variant_not_found(name)

    @property
    def live(self) -> list[TrafficVariant]:
        return [v for v in self.variants if v.status in _LIVE]


@dataclass(frozen=True)
class TrafficView:
    environment: Environment
    config: TrafficConfig
    variants: list[TrafficVariant]
    workloads: dict[Any, Workload]
    router: Workload | None


def _now() -> datetime:
    return datetime.now(UTC)


class TrafficService:
    def __init__(
        self, deployments: DeploymentService, settings: TrafficSettings, reconcile: Wakeup
    ) -> None:
        self.deployments = deployments
        self.settings = settings
        self.reconcile = reconcile

    async def _scope(self, actor: Actor, serve_name: str, env_name: str) -> Scope:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        config = await traffic_queries.config_for(serve.id, environment.id, lock=True)
        if config is None:
            raise errors.config_not_found(serve_name, env_name)
        variants = await traffic_queries.variants_of(config.id)
        return Scope(serve, environment, config, variants)

    async def _changed(self, actor: Actor, scope: Scope, action: str, **after: Any) -> None:
        """Bring the router up to date, audit, and ring the reconciler once committed."""
        await sync_router(scope.serve, scope.environment, scope.config, self.settings)
        await audit.record(
            actor,
            f"traffic.{action}",
            "serve",
            resource_id=scope.serve.id,
            resource_name=scope.serve.name,
            project=scope.serve.project.name,
            after={"env": scope.environment.name, **after},
        )
        after_commit(self.reconcile.ring)

    # -- reads ---------------------------------------------------------------------------

    async def view(self, actor: Actor, serve_name: str, env_name: str) -> TrafficView:
        serve = await visible_serve(actor, serve_name, ProjectRole.VIEWER)
        environment = await environment_named(env_name)
        config = await traffic_queries.config_for(serve.id, environment.id)
        if config is None:
            raise errors.config_not_found(serve_name, env_name)
        return TrafficView(
            environment,
            config,
            await traffic_queries.variants_of(config.id),
            await traffic_queries.variant_workloads(config.id),
            await traffic_queries.router_of(environment.id, serve.id),
        )

    # -- changes -------------------------------------------------------------------------

    @transactional
    async def create(
        self, actor: Actor, serve_name: str, env_name: str, request: TrafficRequest
    ) -> TrafficConfig:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        rules.check_backend(
            environment, sticky=request.sticky is not None, rollout=request.rollout is not None
        )
        if await traffic_queries.config_for(serve.id, environment.id, lock=True):
            raise errors.config_exists(serve_name, env_name)
        rollout = request.rollout
        if rollout is not None:  # a candidate starts at the plan's first step
            if request.strategy not in (TrafficStrategy.CANARY, TrafficStrategy.BLUE_GREEN):
                raise InvalidInput(
                    "a rollout walks one candidate through its steps: use the canary or "
                    f"blue_green strategy, not {request.strategy.value}",
                    code="ROLLOUT_STRATEGY_UNSUPPORTED",
                    strategy=request.strategy.value,
                )
            for step in rollout.steps:
                rules.check_weight("a rollout step", step)
        shares = [
            rules.Share(
                v.variant_name,
                rollout.steps[0] if rollout and rules.is_candidate(v.variant_name) else v.weight,
            )
            for v in request.variants
        ]
        rules.check_variants(request.strategy, shares)
        weights = {share.name: share.weight for share in shares}
        active = await deployment_queries.active_for(serve.id, environment.id, lock=True)
        if active is None:
            raise Conflict(
                f"'{serve_name}' has no active deployment in '{env_name}': deploy it first, "
                "its active deployment becomes the stable variant",
                code="NO_ACTIVE_DEPLOYMENT",
                serve=serve_name,
                env=env_name,
            )
        if await deployment_queries.in_flight(serve.id, environment.id):
            raise Conflict(
                f"a deployment of '{serve_name}' to '{env_name}' is in progress",
                code="DEPLOYMENT_IN_PROGRESS",
                serve=serve_name,
                env=env_name,
            )
        running = active.deployment
        stable_request = next(v for v in request.variants if v.variant_name == STABLE)
        wanted = stable_request.artifact_version
        if wanted is not None and wanted != running.artifact.version:
            raise InvalidInput(
                f"the stable variant is the active deployment, version "
                f"'{running.artifact.version}', not '{wanted}': add '{wanted}' as another "
                "variant and promote it",
                code="STABLE_VERSION_MISMATCH",
                active=running.artifact.version,
                requested=wanted,
            )
        sticky = request.sticky
        config = await traffic_queries.create_config(
            serve=serve,
            environment=environment,
            strategy=request.strategy,
            route_name=resource_name(serve.name, "router"),
            sticky_header=sticky.header if sticky else None,
            sticky_cookie=sticky.cookie if sticky else None,
            rollout=rollout.model_dump(mode="json") if rollout else None,
            rollout_step=0 if rollout else None,
        )
        stable = await traffic_queries.create_variant(
            config=config,
            name=STABLE,
            artifact_id=running.artifact_id,
            weight=weights[STABLE],
            header_match=stable_request.header_match,
            status=VariantStatus.ACTIVE,
        )
        await self._adopt(serve, environment, stable)
        scope = Scope(serve, environment, config, [stable])
        for variant in request.variants:
            if variant.variant_name != STABLE:
                await self._start_variant(actor, scope, variant, weights[variant.variant_name])
        await self._changed(
            actor, scope, "create", strategy=request.strategy.value, weights=weights
        )
        return config

    async def _adopt(self, serve: Serve, environment: Environment, stable: TrafficVariant) -> None:
        """The serve's application becomes its stable variant: the same application, keeping
        its route until the router is ready to take it (galapagos_core.traffic.router)."""
        workload = await workload_queries.route_owner(environment.id, serve.id)
        assert workload is not None, "an active deployment has its workload"
        spec = WorkloadSpec.model_validate(workload.spec)
        spec = as_variant(spec, stable, workload.name, spec.route_prefix)
        await traffic_queries.adopt_workload(
            workload, stable, spec.model_dump(mode="json"), spec.digest()
        )

    async def _start_variant(
        self, actor: Actor, scope: Scope, request: VariantRequest, weight: int
    ) -> TrafficVariant:
        if request.artifact_version is None:
            raise InvalidInput(
                f"variant '{request.variant_name}' needs an artifact_version",
                code="VALIDATION_ERROR",
                variant=request.variant_name,
            )
        artifact = await artifact_of(scope.serve.id, scope.serve.name, request.artifact_version)
        variant = await traffic_queries.create_variant(
            config=scope.config,
            name=request.variant_name,
            artifact=artifact,
            weight=weight,
            header_match=request.header_match,
            status=VariantStatus.PENDING,
        )
        blue_green = scope.config.strategy == TrafficStrategy.BLUE_GREEN
        preview = blue_green and rules.is_candidate(variant.name)
        placement = Placement(
            variant,
            resource_name(scope.serve.name, variant.id.hex[-8:]),
            preview_route(scope.serve) if preview else None,
        )
        await self.deployments.start(
            actor,
            scope.serve,
            scope.environment,
            artifact,
            action=f"variant '{variant.name}'",
            placement=placement,
        )
        return variant

    @transactional
    async def add_variant(
        self, actor: Actor, serve_name: str, env_name: str, request: VariantRequest
    ) -> TrafficVariant:
        scope = await self._scope(actor, serve_name, env_name)
        name = request.variant_name
        if any(v.name == name for v in scope.variants):
            raise errors.variant_exists(name)
        plan = scope.config.rollout
        weight = int(plan["steps"][0]) if plan and rules.is_candidate(name) else request.weight
        shares = [rules.Share(v.name, v.weight) for v in scope.live]
        rules.check_variants(scope.config.strategy, [*shares, rules.Share(name, weight)])
        variant = await self._start_variant(actor, scope, request, weight)
        if plan and rules.is_candidate(name):  # a new candidate walks the plan from its start
            await traffic_queries.update_config(
                scope.config, rollout_step=0, step_started_at=None, status=TrafficStatus.ACTIVE
            )
        await self._changed(actor, scope, "variant.add", variant=name, weight=weight)
        return variant

    @transactional
    async def set_weights(
        self, actor: Actor, serve_name: str, env_name: str, weights: dict[str, int]
    ) -> None:
        """Set these variants' weights at once: all of them or none."""
        scope = await self._scope(actor, serve_name, env_name)
        for name, weight in weights.items():
            rules.check_weight(name, weight)
            if scope.variant(name).status not in _LIVE:
                raise errors.variant_not_found(name)
        rules.check_sum({v.name: weights.get(v.name, v.weight) for v in scope.live})
        for name, weight in weights.items():
            variant = scope.variant(name)
            if variant.weight != weight:
                await traffic_queries.update_variant(variant, weight=weight)
        await self._changed(actor, scope, "weights", weights=weights)

    @transactional
    async def delete_variant(self, actor: Actor, serve_name: str, env_name: str, name: str) -> None:
        scope = await self._scope(actor, serve_name, env_name)
        variant = scope.variant(name)
        if variant.name == STABLE:
            raise errors.cannot_delete_stable()
        await self._drain(variant)
        await self._changed(actor, scope, "variant.delete", variant=name)

    async def _drain(self, variant: TrafficVariant) -> None:
        """Out of the routing table now; its workload goes once the drain time has passed
        (galapagos_core.traffic.controller). Its name is free again at once."""
        if variant.status == VariantStatus.DRAINING:
            return
        await traffic_queries.update_variant(
            variant,
            name=f"drained_{variant.id.hex[-8:]}",
            status=VariantStatus.DRAINING,
            weight=0,
        )

    @transactional
    async def promote(self, actor: Actor, serve_name: str, env_name: str, name: str) -> None:
        scope = await self._scope(actor, serve_name, env_name)
        await self.promote_in(scope, name, f"promoted by {actor.username}")
        await self._changed(actor, scope, "promote", variant=name)

    async def promote_in(self, scope: Scope, name: str, why: str) -> None:
        """Make ``name`` the stable variant (the serve's active deployment); the previous
        stable one drains. Its application keeps running: only the router changes. As stable
        it takes whatever weight no one else has, so it needs no header match."""
        target = scope.variant(name)
        if target.name == STABLE:
            raise errors.cannot_promote_stable()
        if target.status != VariantStatus.ACTIVE:
            raise errors.cannot_promote_inactive(name, target.status.value)
        workload = await workload_queries.workload_of_variant(target.id)
        assert workload is not None, "an active variant has its workload"
        await self._drain(scope.variant(STABLE))
        await traffic_queries.update_variant(target, name=STABLE, weight=0, header_match=None)
        if workload.spec.get("route_prefix") is not None:  # a preview: the router has the route
            spec = WorkloadSpec.model_validate(workload.spec)
            spec = spec.model_copy(update={"route_prefix": None})
            await traffic_queries.adopt_workload(
                workload, target, spec.model_dump(mode="json"), spec.digest()
            )
        active = await deployment_queries.active_for(
            scope.serve.id, scope.environment.id, lock=True
        )
        deployment = await deployment_queries.deployment_by_id(workload.deployment_id)
        assert deployment is not None
        previous = active.deployment if active else None
        now = _now()
        if previous is not None and previous.id != deployment.id:
            await deployment_queries.supersede(previous, deployment, now)
        await deployment_queries.point_active(
            scope.serve.id, scope.environment.id, deployment, previous
        )
        await deployment_queries.record_event(
            deployment, deployment.status, f"variant '{name}' is stable now: {why}"
        )
        await self._end_rollout(scope)

    @transactional
    async def rollback(self, actor: Actor, serve_name: str, env_name: str) -> None:
        scope = await self._scope(actor, serve_name, env_name)
        await self.rollback_in(scope, f"rolled back by {actor.username}")
        await self._changed(actor, scope, "rollback")

    async def rollback_in(self, scope: Scope, why: str) -> None:
        """Every candidate drains: all traffic goes back to the stable variant."""
        for variant in scope.live:
            if rules.is_candidate(variant.name):
                workload = await workload_queries.workload_of_variant(variant.id)
                if workload is not None:
                    await deployment_queries.record_event_by_id(
                        workload.deployment_id, f"variant '{variant.name}' rolled back: {why}"
                    )
                await self._drain(variant)
        await self._end_rollout(scope)

    async def _end_rollout(self, scope: Scope) -> None:
        if scope.config.rollout_step is not None or scope.config.status != TrafficStatus.ACTIVE:
            await traffic_queries.update_config(
                scope.config, rollout_step=None, step_started_at=None, status=TrafficStatus.ACTIVE
            )

    @transactional
    async def pause(self, actor: Actor, serve_name: str, env_name: str) -> None:
        scope = await self._scope(actor, serve_name, env_name)
        await traffic_queries.update_config(scope.config, status=TrafficStatus.PAUSED)
        await self._changed(actor, scope, "pause")

    @transactional
    async def resume(self, actor: Actor, serve_name: str, env_name: str) -> None:
        """A paused rollout goes on; its step waits a whole interval again (what it saw while
        paused does not count)."""
        scope = await self._scope(actor, serve_name, env_name)
        await traffic_queries.update_config(
            scope.config, status=TrafficStatus.ACTIVE, step_started_at=None
        )
        await self._changed(actor, scope, "resume")
