"""The reconcile pass's part for GPU instances: each environment's live instances become
objects on its backend (a KServe InferenceService with the Hugging Face runtime on vLLM, a
RayService running Ray Serve LLM, a Serve LLM application on a Ray cluster), and what the
backend shows moves them along:

- PROVISIONING → BOOTING once a machine is there and the engine loads the model (KServe's
  model state ``Loading``; the Serve application deploying); → READY once it answers, with its
  OpenAI base URL as endpoint. A backend that reports the object failed: FAILED.
- READY → RECOVERING when the object stops being ready or vanishes, or when an instance that
  sends heartbeats missed them for ``heartbeat_timeout_seconds``; back to READY when the
  backend shows it ready again (missed heartbeats: when they resume).
- DRAINING → TERMINATED once nothing is in flight (its last heartbeat's load) or its drain
  deadline passed; its object is then no longer wanted, so the pass deletes it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from galapagos_core.gpu import lifecycle
from galapagos_core.kernel.config import GpuSettings
from galapagos_core.kernel.transactions import transactional
from galapagos_core.workloads.spec import LlmEngine, Observed, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import (
    CapacityKind,
    EnvironmentBackend,
    GpuInstanceStatus,
    NodeCapacityType,
    WorkloadState,
)
from galapagos_model.gpu import GpuInstance
from galapagos_model.queries import gpu as gpu_queries

log = logging.getLogger("galapagos.gpu")
S = GpuInstanceStatus
# Where each backend's server answers OpenAI's API under the object's URL.
OPENAI_PATH = {
    EnvironmentBackend.KSERVE: "/openai/v1",  # the Hugging Face runtime
    EnvironmentBackend.KUBERAY: "/v1",
    EnvironmentBackend.RAY: "/v1",
}
_CPUS = {EnvironmentBackend.RAY: 0.05}  # a Ray cluster's GPU node shares its CPUs


def _now() -> datetime:
    return datetime.now(UTC)


def machine_up(observed: Observed) -> bool:
    """Whether the object shows a machine running the engine (loading the model), as KServe
    (the model's state) and Ray (the application deploying) say it."""
    live = observed.live
    states = ((live.get("status") or {}).get("modelStatus") or {}).get("states") or {}
    if states:
        return "Loading" in (states.get("activeModelState"), states.get("targetModelState"))
    if live.get("kind") == "RayService":
        status = live.get("status") or {}
        return any(
            (service.get("applicationStatuses") or {}).get(observed.name)
            for service in (
                status.get("activeServiceStatus") or {},
                status.get("pendingServiceStatus") or {},
            )
        )
    return True  # a Ray cluster runs the application on nodes it has


def spec_of(instance: GpuInstance, environment: Environment) -> WorkloadSpec:
    model, itype = instance.llm_model, instance.instance_type
    engine = str(environment.env_configs.get("llm_engine") or "vllm")
    return WorkloadSpec(
        name=instance.name,
        project=instance.project.name,
        serve=instance.name,
        environment=environment.name,
        route_prefix=f"/{instance.name}",
        cpus=_CPUS.get(environment.backend, float(itype.vcpus) * 0.9),
        memory_gib=float(itype.memory_gb) * 0.9,
        gpus=itype.gpu_count,
        gpu_type=itype.gpu_model,
        node_capacity=(
            NodeCapacityType.SPOT
            if instance.capacity == CapacityKind.SPOT
            else NodeCapacityType.ON_DEMAND
        ),
        llm=LlmEngine(
            model_name=model.model_id,
            model_source=model.model_id,
            engine=engine,
            engine_args=model.engine_args,
            accelerator=itype.gpu_model,
            gpu_count=itype.gpu_count,
            node_selector=itype.node_selector,
            tolerations=itype.tolerations,
        ),
    )


class GpuInstances:
    def __init__(self, settings: GpuSettings) -> None:
        self.settings = settings

    async def prepare(self, environment: Environment) -> list[WorkloadSpec]:
        specs = []
        for instance in await gpu_queries.live_in(environment.id):
            if await self._settle(instance.id):
                continue  # terminated: its object goes
            specs.append(spec_of(instance, environment))
        return specs

    @transactional
    async def _settle(self, instance_id: Any) -> bool:
        """Moves that need no backend: a drained instance terminated, missed heartbeats.
        True when the instance has ended."""
        instance = await gpu_queries.instance(instance_id, lock=True)
        if instance is None or instance.status in gpu_queries.ENDED:
            return True
        now = _now()
        if instance.status == S.DRAINING:
            deadline = instance.drain_deadline or now
            if instance.current_load <= 0 or now >= deadline:
                why = (
                    "drained: nothing in flight"
                    if instance.current_load <= 0
                    else f"drain timeout passed with {instance.current_load:g} in flight"
                )
                await lifecycle.move(instance, S.TERMINATED, why)
                return True
        beat = instance.last_heartbeat_at
        timeout = timedelta(seconds=self.settings.heartbeat_timeout_seconds)
        if instance.status == S.READY and beat is not None and now - beat > timeout:
            await lifecycle.move(
                instance,
                S.RECOVERING,
                f"no heartbeat for {(now - beat).total_seconds():.0f}s (limit "
                f"{timeout.total_seconds():g}s)",
            )
        return False

    async def observed(self, environment: Environment, seen: dict[str, Observed | None]) -> None:
        for instance in await gpu_queries.live_in(environment.id):
            if instance.name in seen:
                await self._follow(instance.id, seen[instance.name], environment)

    @transactional
    async def _follow(
        self, instance_id: Any, found: Observed | None, environment: Environment
    ) -> None:
        instance = await gpu_queries.instance(instance_id, lock=True)
        if instance is None or instance.status in (*gpu_queries.ENDED, S.DRAINING):
            return
        status = instance.status
        if found is None:
            if status == S.READY:
                await lifecycle.move(instance, S.RECOVERING, "its object is gone: made again")
            return
        if found.state == WorkloadState.FAILED:
            await lifecycle.move(instance, S.FAILED, found.message or "the backend reports failure")
            return
        if found.state == WorkloadState.READY:
            endpoint = (found.url or "").rstrip("/") + OPENAI_PATH[environment.backend]
            if status == S.PROVISIONING:
                await lifecycle.move(instance, S.BOOTING, "its machine is up")
                status = S.BOOTING
            if status == S.BOOTING:
                await lifecycle.move(instance, S.READY, f"answers at {endpoint}", endpoint=endpoint)
            elif status == S.RECOVERING and not self._heartbeats_missed(instance):
                await lifecycle.move(instance, S.READY, "ready again", endpoint=endpoint)
            return
        if status == S.PROVISIONING and machine_up(found):
            await lifecycle.move(
                instance, S.BOOTING, "its machine is up; the engine loads the model"
            )
        elif status == S.READY:
            await lifecycle.move(
                instance, S.RECOVERING, f"not ready: {found.message or 'the backend says so'}"
            )

    def _heartbeats_missed(self, instance: GpuInstance) -> bool:
        beat = instance.last_heartbeat_at
        limit = timedelta(seconds=self.settings.heartbeat_timeout_seconds)
        return beat is not None and _now() - beat > limit
