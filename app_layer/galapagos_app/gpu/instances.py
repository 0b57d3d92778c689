"""GPU instances: placed on the cheapest instance type that fits the model, moved along their
states, drained and terminated; heartbeats from the instance side; discovery of the READY
ones for a model, least loaded first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from galapagos_app.endpoints import Call, NoBody, Router
from galapagos_app.paging import PageOut, PageQuery, ReadModel, Timestamp, page_out
from galapagos_core.gpu.instances import InstanceView, Plan
from galapagos_core.gpu.specs import GpuInstanceCreate, Heartbeat
from galapagos_model.enums import CapacityKind, EnvironmentBackend, GpuInstanceStatus
from galapagos_model.gpu import GpuInstance

router = Router(tag="gpu instances")
_BASE = "/api/v1/gpu-instances"
_ONE = f"{_BASE}/{{instance_id}}"


class GpuChoiceRead(BaseModel):
    instance_type: str
    zone: str
    capacity: CapacityKind
    hourly_price: Decimal


class GpuRejectionRead(BaseModel):
    instance_type: str
    zone: str
    reason: str = Field(description="too small, unavailable, policy or price")
    detail: str


class GpuPlacementRead(BaseModel):
    model_id: str
    env: str
    policy: str
    needed_vram_gb: int
    chosen: GpuChoiceRead | None
    rejected: list[GpuRejectionRead]


class GpuInstanceEventRead(ReadModel):
    status: GpuInstanceStatus
    message: str
    created_at: Timestamp


class GpuInstanceRead(ReadModel):
    id: UUID
    name: str
    project: str
    model_id: str
    env: str
    backend: EnvironmentBackend
    instance_type: str
    zone: str
    capacity: CapacityKind
    policy: str
    hourly_price: Decimal
    gpu_profile: dict[str, Any]
    status: GpuInstanceStatus
    status_message: str | None
    endpoint: str | None
    current_load: float
    last_heartbeat_at: Timestamp | None
    drain_deadline: Timestamp | None
    terminated_at: Timestamp | None
    replaces: UUID | None
    created_at: Timestamp
    events: list[GpuInstanceEventRead] | None = Field(
        None, description="its history (one instance only)"
    )


class CreateQuery(BaseModel):
    dry_run: bool = Field(False, description="only say where it would go and why")


class ListQuery(PageQuery):
    project: str | None = Field(None, max_length=50)
    model_id: str | None = Field(None, max_length=255)
    status: GpuInstanceStatus | None = None


class DiscoveredInstanceRead(BaseModel):
    instance_id: str
    url: str
    load: float
    last_heartbeat: float = Field(description="seconds since the epoch")


class ModelInstancesRead(BaseModel):
    model_id: str
    instances: list[DiscoveredInstanceRead]


def instance_read(i: GpuInstance, view: InstanceView | None = None) -> GpuInstanceRead:
    return GpuInstanceRead(
        id=i.id,
        name=i.name,
        project=i.project.name,
        model_id=i.llm_model.model_id,
        env=i.environment.name,
        backend=i.backend,
        instance_type=i.instance_type.name,
        zone=i.zone.name,
        capacity=i.capacity,
        policy=i.policy,
        hourly_price=i.hourly_price,
        gpu_profile=i.gpu_profile,
        status=i.status,
        status_message=i.status_message,
        endpoint=i.endpoint,
        current_load=i.current_load,
        last_heartbeat_at=i.last_heartbeat_at,
        drain_deadline=i.drain_deadline,
        terminated_at=i.terminated_at,
        replaces=i.replaces_id,
        created_at=i.created_at,
        events=[GpuInstanceEventRead.model_validate(e) for e in view.events] if view else None,
    )


def placement_read(plan: Plan) -> GpuPlacementRead:
    p = plan.placement
    return GpuPlacementRead(
        model_id=plan.model.model_id,
        env=plan.environment.name,
        policy=plan.policy.value,
        needed_vram_gb=p.needed_vram_gb,
        chosen=GpuChoiceRead(**vars(p.chosen)) if p.chosen else None,
        rejected=[GpuRejectionRead(**vars(r)) for r in p.rejected],
    )


@router.post(
    _BASE,
    summary="Run a model on the cheapest GPU instance that fits it (editors); "
    "?dry_run=true only says where and why",
    body=GpuInstanceCreate,
    query=CreateQuery,
    response=GpuInstanceRead | GpuPlacementRead,
    status_code=202,
    errors=(403, 404, 422),
)
async def create_gpu_instance(
    call: Call[GpuInstanceCreate, CreateQuery],
) -> GpuInstanceRead | GpuPlacementRead:
    instances = call.services.gpu_instances
    if call.query.dry_run:
        plan = await instances.plan(call.actor, call.body)
        if plan.placement.chosen is None:
            raise plan.refusal()
        return placement_read(plan)
    return instance_read(await instances.create(call.actor, call.body))


@router.get(
    _BASE,
    summary="GPU instances in your projects, newest first",
    query=ListQuery,
    response=PageOut[GpuInstanceRead],
)
async def list_gpu_instances(call: Call[NoBody, ListQuery]) -> PageOut[GpuInstanceRead]:
    q = call.query
    page = await call.services.gpu_instances.list(
        call.actor, q.request(), project=q.project, model_id=q.model_id, status=q.status
    )
    return page_out(page, GpuInstanceRead, instance_read)


@router.get(_ONE, summary="One GPU instance with its history", response=GpuInstanceRead)
async def get_gpu_instance(call: Call[NoBody, Any]) -> GpuInstanceRead:
    view = await call.services.gpu_instances.view(call.actor, call.path["instance_id"])
    return instance_read(view.instance, view)


@router.post(
    f"{_ONE}/drain",
    summary="Out of discovery now; terminated once nothing is in flight or the drain "
    "timeout passes (editors)",
    response=GpuInstanceRead,
    status_code=202,
    errors=(403, 404, 409),
)
async def drain_gpu_instance(call: Call[NoBody, Any]) -> GpuInstanceRead:
    return instance_read(
        await call.services.gpu_instances.drain(call.actor, call.path["instance_id"])
    )


@router.delete(
    _ONE,
    summary="Terminate now, in flight or not (editors)",
    response=GpuInstanceRead,
    status_code=202,
    errors=(403, 404, 409),
)
async def terminate_gpu_instance(call: Call[NoBody, Any]) -> GpuInstanceRead:
    return instance_read(
        await call.services.gpu_instances.terminate(call.actor, call.path["instance_id"])
    )


@router.post(
    f"{_ONE}/heartbeat",
    summary="From the instance: its load, and a spot preemption notice",
    body=Heartbeat,
    response=GpuInstanceRead,
    errors=(403, 404, 409),
)
async def gpu_instance_heartbeat(call: Call[Heartbeat, Any]) -> GpuInstanceRead:
    return instance_read(
        await call.services.gpu_instances.heartbeat(call.actor, call.path["instance_id"], call.body)
    )


@router.get(
    "/api/v1/discovery/models/{model_id:path}/instances",
    summary="The READY instances of a model, least loaded first (read from memory, or Redis)",
    response=ModelInstancesRead,
    errors=(503,),
)
async def discover_instances(call: Call[NoBody, Any]) -> ModelInstancesRead:
    model_id = call.path["model_id"]
    found = await call.services.discovery.instances(model_id)
    return ModelInstancesRead(
        model_id=model_id,
        instances=[
            DiscoveredInstanceRead(
                instance_id=e.instance_id, url=e.url, load=e.load, last_heartbeat=e.heartbeat_at
            )
            for e in found
        ],
    )
