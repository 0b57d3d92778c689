"""GPU instances: a catalog model served on the cheapest instance type that fits it, run on an
environment, moved along its states (galapagos_core.gpu.lifecycle) by the reconciler
(galapagos_core.gpu.reconcile) and by what the instance itself reports (heartbeats, a spot
preemption notice). Every move is an event saying why."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec
from uuid import UUID

from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.errors import project_not_found
from galapagos_core.gpu import errors, lifecycle
from galapagos_core.gpu.discovery import Discovery
from galapagos_core.gpu.placement import CapacityPolicy, Offer, Placement, place
from galapagos_core.gpu.specs import GpuInstanceCreate, Heartbeat
from galapagos_core.kernel import audit
from galapagos_core.kernel.access import require_role
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import GpuSettings
from galapagos_core.kernel.errors import InvalidInput
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.kernel.transactions import after_commit, transactional
from galapagos_model.base import uuid7
from galapagos_model.catalog import Environment
from galapagos_model.enums import (
    CapacityKind,
    EnvironmentBackend,
    GpuInstanceStatus,
    ProjectRole,
    ProviderKind,
)
from galapagos_model.gpu import GpuInstance, GpuInstanceEvent, InstanceAvailability, LlmModel
from galapagos_model.identity import Project
from galapagos_model.queries import gpu as gpu_queries
from galapagos_model.queries import projects as project_queries
from galapagos_model.queries.paging import Page, PageRequest

S = GpuInstanceStatus
# Which providers' instance types an environment's backend runs on.
PROVIDER_KIND = {
    EnvironmentBackend.KSERVE: ProviderKind.KUBERNETES,
    EnvironmentBackend.KUBERAY: ProviderKind.KUBERNETES,
    EnvironmentBackend.RAY: ProviderKind.RAY,
}


@dataclass(frozen=True)
class Plan:
    """A placement decided for a model on an environment, with the offers it chose among."""

    model: LlmModel
    project: Project
    environment: Environment
    policy: CapacityPolicy
    placement: Placement
    offers: dict[tuple[str, str], InstanceAvailability]  # (type, zone) → offer

    def refusal(self) -> InvalidInput:
        """Why nothing was chosen (422 NO_INSTANCE_TYPE_FITS)."""
        p = self.placement
        return errors.nothing_fits(
            self.model.model_id, p.needed_vram_gb, p.largest, self.policy.value
        )


@dataclass(frozen=True)
class InstanceView:
    instance: GpuInstance
    events: list[GpuInstanceEvent]


def offer_of(row: InstanceAvailability) -> Offer:
    t = row.instance_type
    return Offer(
        instance_type=t.name,
        zone=row.zone.name,
        gpu_count=t.gpu_count,
        vram_per_gpu_gb=t.vram_per_gpu_gb,
        on_demand_price=t.on_demand_price,
        spot_price=t.spot_price,
        capacity=frozenset(CapacityKind(c) for c in row.capacity),
    )


def _now() -> datetime:
    return datetime.now(UTC)


P = ParamSpec("P")
_Writer = Callable[Concatenate["GpuInstanceService", P], Awaitable[GpuInstance]]


def _told(method: _Writer[P]) -> _Writer[P]:
    """Discovery is told of the instance ``method`` wrote, once its transaction committed."""

    @functools.wraps(method)
    async def told(
        service: GpuInstanceService, /, *args: P.args, **kwargs: P.kwargs
    ) -> GpuInstance:
        instance = await method(service, *args, **kwargs)
        await service.discovery.tell(instance)
        return instance

    return told


class GpuInstanceService:
    def __init__(
        self, settings: GpuSettings, discovery: Discovery, reconcile: Wakeup, local_gpus: float
    ) -> None:
        self.settings = settings
        self.discovery = discovery
        self.reconcile = reconcile
        self.local_gpus = local_gpus  # what the local Ray head has

    # -- placement -----------------------------------------------------------------------

    async def _plan(
        self,
        model: LlmModel,
        project: Project,
        environment: Environment,
        policy: CapacityPolicy,
        *,
        avoid: tuple[str, str] | None = None,
    ) -> Plan:
        rows = await gpu_queries.offers(
            PROVIDER_KIND[environment.backend], environment.env_configs.get("gpu_provider")
        )
        offers = {
            (r.instance_type.name, r.zone.name): r
            for r in rows
            if (r.instance_type.name, r.zone.name) != avoid
        }
        placement = place(
            [offer_of(r) for r in offers.values()],
            model.required_vram_gb,
            policy,
            self.settings.headroom,
        )
        return Plan(model, project, environment, policy, placement, offers)

    async def plan(self, actor: Actor, spec: GpuInstanceCreate) -> Plan:
        """Where an instance of ``spec.model_id`` would go, and why not elsewhere (a dry run)."""
        project = await project_queries.project_by_name(spec.project)
        if project is None:
            raise project_not_found(spec.project)
        await require_role(
            actor, project, ProjectRole.EDITOR, hidden=project_not_found(spec.project)
        )
        model = await gpu_queries.llm_model(spec.model_id)
        if model is None:
            raise errors.model_not_found(spec.model_id)
        if not model.is_active:
            raise errors.model_inactive(spec.model_id)
        environment = await environment_named(spec.env)
        if environment.ray_address == "local" and not self.local_gpus:
            raise errors.no_gpus(environment.name)
        return await self._plan(model, project, environment, spec.capacity)

    async def _start(
        self, plan: Plan, message: str, replaces: GpuInstance | None = None
    ) -> GpuInstance:
        """Create the instance ``plan`` chose, PROVISIONING (422 when nothing fits)."""
        chosen = plan.placement.chosen
        if chosen is None:
            raise plan.refusal()
        offer = plan.offers[(chosen.instance_type, chosen.zone)]
        t = offer.instance_type
        instance_id = uuid7()
        instance = await gpu_queries.create_instance(
            id=instance_id,
            project=plan.project,
            llm_model=plan.model,
            instance_type=t,
            zone=offer.zone,
            environment=plan.environment,
            name=f"gpu-{instance_id.hex[-12:]}",
            backend=plan.environment.backend,
            capacity=chosen.capacity,
            policy=plan.policy.value,
            hourly_price=chosen.hourly_price,
            gpu_profile={
                "gpu_model": t.gpu_model,
                "gpu_count": t.gpu_count,
                "vram_per_gpu_gb": t.vram_per_gpu_gb,
                "vram_gb": t.gpu_count * t.vram_per_gpu_gb,
            },
            status=S.PROVISIONING,
            status_message=message,
            replaces=replaces,
        )
        instance.project, instance.llm_model, instance.instance_type = plan.project, plan.model, t
        instance.zone, instance.environment = offer.zone, plan.environment
        fitting = sum(1 for r in plan.placement.rejected if r.reason in ("price", "policy"))
        await gpu_queries.add_event(
            instance,
            S.PROVISIONING,
            f"{message}: {t.name} in {chosen.zone}, {chosen.capacity.value} at "
            f"${chosen.hourly_price}/h ({plan.policy.value}; {fitting} other fitting offers "
            f"cost more or the policy ranks them lower)",
        )
        after_commit(self.reconcile.ring)
        return instance

    @transactional
    async def create(self, actor: Actor, spec: GpuInstanceCreate) -> GpuInstance:
        plan = await self.plan(actor, spec)
        instance = await self._start(plan, "placed")
        await self._audit(actor, "create", instance, env=spec.env, capacity=spec.capacity.value)
        return instance

    # -- reads ---------------------------------------------------------------------------

    async def list(
        self,
        actor: Actor,
        page: PageRequest,
        *,
        project: str | None = None,
        model_id: str | None = None,
        status: GpuInstanceStatus | None = None,
    ) -> Page[GpuInstance]:
        return await gpu_queries.instances_visible_to(
            actor.visibility, page, project=project, model_id=model_id, status=status
        )

    async def _find(
        self, actor: Actor, instance_id: str, required: ProjectRole, *, lock: bool = False
    ) -> GpuInstance:
        try:
            key = UUID(instance_id)
        except ValueError:
            raise errors.instance_not_found(instance_id) from None
        instance = await gpu_queries.instance(key, lock=lock)
        if instance is None:
            raise errors.instance_not_found(instance_id)
        await require_role(
            actor, instance.project, required, hidden=errors.instance_not_found(instance_id)
        )
        return instance

    async def view(self, actor: Actor, instance_id: str) -> InstanceView:
        instance = await self._find(actor, instance_id, ProjectRole.VIEWER)
        return InstanceView(instance, await gpu_queries.events_of(instance.id))

    # -- moves ---------------------------------------------------------------------------

    async def _audit(self, actor: Actor, action: str, instance: GpuInstance, **after: Any) -> None:
        await audit.record(
            actor,
            f"gpu_instance.{action}",
            "gpu_instance",
            resource_id=instance.id,
            resource_name=instance.name,
            project=instance.project.name,
            after={"model_id": instance.llm_model.model_id, **after},
        )

    async def _drain(self, instance: GpuInstance, seconds: float, message: str) -> None:
        """Out of discovery at once; terminated by the reconciler when nothing is in flight
        or ``seconds`` have passed."""
        deadline = _now() + timedelta(seconds=seconds)
        if instance.status == S.DRAINING:
            if instance.drain_deadline is None or deadline < instance.drain_deadline:
                await gpu_queries.update_instance(instance, drain_deadline=deadline)
        else:
            await lifecycle.move(instance, S.DRAINING, message, drain_deadline=deadline)
        after_commit(self.reconcile.ring)

    @_told
    @transactional
    async def drain(self, actor: Actor, instance_id: str) -> GpuInstance:
        instance = await self._find(actor, instance_id, ProjectRole.EDITOR, lock=True)
        await self._drain(
            instance, self.settings.drain_timeout_seconds, f"drained by {actor.username}"
        )
        await self._audit(actor, "drain", instance)
        return instance

    @_told
    @transactional
    async def terminate(self, actor: Actor, instance_id: str) -> GpuInstance:
        """Terminate at once, in flight or not (draining first when it was live)."""
        instance = await self._find(actor, instance_id, ProjectRole.EDITOR, lock=True)
        await self._drain(instance, 0, f"terminated by {actor.username}")
        await self._audit(actor, "terminate", instance)
        return instance

    @_told
    @transactional
    async def heartbeat(self, actor: Actor, instance_id: str, beat: Heartbeat) -> GpuInstance:
        """What the instance says: its load, and whether its spot machine is being taken."""
        instance = await self._find(actor, instance_id, ProjectRole.EDITOR, lock=True)
        if instance.status in gpu_queries.ENDED:
            raise lifecycle.invalid_transition(instance.status, S.READY)
        await gpu_queries.update_instance(
            instance, current_load=beat.load, last_heartbeat_at=_now()
        )
        if beat.preempted:
            await self._preempted(instance)
        elif instance.status == S.RECOVERING:
            await lifecycle.move(instance, S.READY, "heartbeats resumed")
        return instance

    async def _preempted(self, instance: GpuInstance) -> None:
        """The provider takes the machine back: a replacement is placed (on-demand when the
        policy falls back to it; for spot, elsewhere than the reclaimed offer), then this one
        drains. Told again, or told while already draining, nothing more happens."""
        if instance.status not in (S.BOOTING, S.READY, S.RECOVERING):
            return
        policy = CapacityPolicy(instance.policy)
        if policy == CapacityPolicy.SPOT_WITH_FALLBACK:
            policy = CapacityPolicy.ON_DEMAND
        reclaimed = (instance.instance_type.name, instance.zone.name)
        plan = await self._plan(
            instance.llm_model,
            instance.project,
            instance.environment,
            policy,
            avoid=None if policy == CapacityPolicy.ON_DEMAND else reclaimed,
        )
        why = (
            f"preempted: the provider reclaims its {instance.capacity.value} "
            f"{reclaimed[0]} in {reclaimed[1]}; "
        )
        if plan.placement.chosen is None:
            why += f"no replacement fits ({plan.refusal()})"
        else:
            replacement = await self._start(plan, f"replaces {instance.name}, preempted", instance)
            why += (
                f"replaced by {replacement.name} ({replacement.instance_type.name} in "
                f"{replacement.zone.name}, {replacement.capacity.value})"
            )
        if instance.status == S.READY:
            await lifecycle.move(instance, S.RECOVERING, why)
        await self._drain(instance, 0, why)
