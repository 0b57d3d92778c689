"""Virtual models as rendered (an API key is never: only whether one is set)."""

from __future__ import annotations

from uuid import UUID

from galapagos_app.paging import ReadModel, Timestamp
from galapagos_core.virtual_models.service import RoutingView, VirtualModelView
from galapagos_model.enums import BackendKind, VirtualModelStatus, WorkloadState
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend, VirtualModelPlacement


class BackendRead(ReadModel):
    id: UUID
    name: str
    kind: BackendKind
    base_url: str | None
    has_api_key: bool
    serve: str | None
    model_id: str | None
    namespace: str | None
    model_name_override: str | None
    weight: int
    priority: int
    status: VirtualModelStatus
    created_at: Timestamp
    updated_at: Timestamp


class VirtualModelRead(ReadModel):
    id: UUID
    name: str
    project: str
    description: str | None
    route_name: str
    status: VirtualModelStatus
    created_at: Timestamp
    updated_at: Timestamp


class PlacementRead(ReadModel):
    env: str
    state: WorkloadState  # the environment's LLM router's
    endpoint: str | None  # the base URL for OpenAI clients, once the router runs
    message: str | None
    created_at: Timestamp


class VirtualModelDetail(VirtualModelRead):
    backends: list[BackendRead]
    deployments: list[PlacementRead]


def backend_read(backend: VirtualModelBackend) -> BackendRead:
    return BackendRead(
        id=backend.id,
        name=backend.name,
        kind=backend.kind,
        base_url=backend.base_url,
        has_api_key=backend.api_key_encrypted is not None,
        serve=backend.serve.name if backend.serve else None,
        model_id=backend.model_id,
        namespace=backend.namespace,
        model_name_override=backend.model_name_override,
        weight=backend.weight,
        priority=backend.priority,
        status=backend.status,
        created_at=backend.created_at,
        updated_at=backend.updated_at,
    )


def model_read(model: VirtualModel) -> VirtualModelRead:
    return VirtualModelRead(
        id=model.id,
        name=model.name,
        project=model.project.name,
        description=model.description,
        route_name=model.route_name,
        status=model.status,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


def placement_read(placement: VirtualModelPlacement) -> PlacementRead:
    return PlacementRead(
        env=placement.environment.name,
        state=placement.state,
        endpoint=placement.endpoint,
        message=placement.message,
        created_at=placement.created_at,
    )


def detail_read(view: VirtualModelView) -> VirtualModelDetail:
    return VirtualModelDetail(
        **model_read(view.model).model_dump(),
        backends=[backend_read(b) for b in view.backends],
        deployments=[placement_read(p) for p in view.placements],
    )


class RouteRead(ReadModel):
    id: UUID
    name: str
    kind: BackendKind
    weight: int
    share: float  # of its tier's requests while none of the tier cools down


class TierRead(ReadModel):
    priority: int
    backends: list[RouteRead]


class CoolingRead(ReadModel):
    backend: UUID
    name: str
    until: Timestamp


class PlacementRouting(ReadModel):
    env: str
    state: WorkloadState
    cooling: list[CoolingRead]
    cooling_error: str | None  # why the router's figures could not be read


class RoutingRead(ReadModel):
    name: str
    project: str
    tiers: list[TierRead]  # in the order they are tried
    deployments: list[PlacementRouting]


def routing_read(view: RoutingView) -> RoutingRead:
    names = {str(r.backend.id): r.backend.name for t in view.tiers for r in t.routes}
    return RoutingRead(
        name=view.model.name,
        project=view.model.project.name,
        tiers=[
            TierRead(
                priority=tier.priority,
                backends=[
                    RouteRead(
                        id=r.backend.id,
                        name=r.backend.name,
                        kind=r.backend.kind,
                        weight=r.backend.weight,
                        share=round(r.share, 4),
                    )
                    for r in tier.routes
                ],
            )
            for tier in view.tiers
        ],
        deployments=[
            PlacementRouting(
                env=c.placement.environment.name,
                state=c.placement.state,
                cooling=[
                    CoolingRead(backend=UUID(b), name=names[b], until=until)
                    for b, until in sorted(c.until.items(), key=lambda item: item[1])
                    if b in names
                ],
                cooling_error=c.error,
            )
            for c in view.cooling
        ],
    )
