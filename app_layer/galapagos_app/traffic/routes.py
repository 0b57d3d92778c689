"""Traffic variants of a serve in an environment: canary, A/B test, shadow, blue-green."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.traffic.schemas import MetricsRead, TrafficRead, metrics_read, traffic_read
from galapagos_core.traffic.specs import (
    PromoteRequest,
    TrafficRequest,
    VariantRequest,
    WeightRequest,
    WeightsRequest,
)

router = Router(tag="traffic")
_BASE = "/api/v1/serve/{serve}/traffic/{env}"


async def _read(call: Call[Any, Any]) -> TrafficRead:
    view = await call.services.traffic.view(call.actor, call.path["serve"], call.path["env"])
    return traffic_read(view)


@router.post(
    _BASE,
    summary="Split the serve's traffic among variants (its active deployment is 'stable')",
    body=TrafficRequest,
    response=TrafficRead,
    errors=(403, 404, 409),
)
async def create_traffic(call: Call[TrafficRequest, NoQuery]) -> TrafficRead:
    await call.services.traffic.create(call.actor, call.path["serve"], call.path["env"], call.body)
    return await _read(call)


@router.get(
    _BASE,
    summary="The traffic config, its variants and their live state",
    response=TrafficRead,
    errors=(404,),
)
async def get_traffic(call: Call[NoBody, NoQuery]) -> TrafficRead:
    view = await call.services.traffic.view(call.actor, call.path["serve"], call.path["env"])
    figures, why = await call.services.traffic_figures.live(view.environment, call.path["serve"])
    return traffic_read(view, figures, why)


class MetricsQuery(BaseModel):
    variant: str | None = Field(None, max_length=50, description="one variant (default: all)")
    since: datetime | None = Field(
        None, description="ISO 8601 or Unix time (default: since the routers started)"
    )
    until: datetime | None = Field(None, description="ISO 8601 or Unix time (default: now)")


@router.get(
    f"{_BASE}/metrics",
    summary="Each variant's requests, errors, success rate and latency over a window",
    query=MetricsQuery,
    response=MetricsRead,
    errors=(404, 502),
)
async def traffic_metrics(call: Call[NoBody, MetricsQuery]) -> MetricsRead:
    q = call.query
    window = await call.services.traffic_figures.window(
        call.actor, call.path["serve"], call.path["env"], q.variant, q.since, q.until
    )
    return metrics_read(window)


@router.post(
    f"{_BASE}/variants",
    summary="Add a variant (it takes its weight once ready)",
    body=VariantRequest,
    response=TrafficRead,
    errors=(403, 404, 409),
)
async def add_variant(call: Call[VariantRequest, NoQuery]) -> TrafficRead:
    await call.services.traffic.add_variant(
        call.actor, call.path["serve"], call.path["env"], call.body
    )
    return await _read(call)


@router.patch(
    f"{_BASE}/variants/{{variant}}",
    summary="Change one variant's weight",
    body=WeightRequest,
    response=TrafficRead,
    errors=(403, 404),
)
async def set_weight(call: Call[WeightRequest, NoQuery]) -> TrafficRead:
    await call.services.traffic.set_weights(
        call.actor, call.path["serve"], call.path["env"], {call.path["variant"]: call.body.weight}
    )
    return await _read(call)


@router.put(
    f"{_BASE}/weights",
    summary="Set several variants' weights at once (all or none)",
    body=WeightsRequest,
    response=TrafficRead,
    errors=(403, 404),
)
async def set_weights(call: Call[WeightsRequest, NoQuery]) -> TrafficRead:
    await call.services.traffic.set_weights(
        call.actor, call.path["serve"], call.path["env"], call.body.weights
    )
    return await _read(call)


@router.delete(
    f"{_BASE}/variants/{{variant}}",
    summary="Take a variant out of the traffic (it drains, then goes)",
    response=TrafficRead,
    errors=(403, 404, 409),
)
async def delete_variant(call: Call[NoBody, NoQuery]) -> TrafficRead:
    await call.services.traffic.delete_variant(
        call.actor, call.path["serve"], call.path["env"], call.path["variant"]
    )
    return await _read(call)


@router.post(
    f"{_BASE}/promote",
    summary="Make a variant the stable one (the previous stable one drains)",
    body=PromoteRequest,
    response=TrafficRead,
    errors=(403, 404, 409),
)
async def promote(call: Call[PromoteRequest, NoQuery]) -> TrafficRead:
    await call.services.traffic.promote(
        call.actor, call.path["serve"], call.path["env"], call.body.variant
    )
    return await _read(call)


@router.post(
    f"{_BASE}/rollback",
    summary="Send all traffic back to the stable variant (candidates drain)",
    response=TrafficRead,
    errors=(403, 404),
)
async def rollback(call: Call[NoBody, NoQuery]) -> TrafficRead:
    await call.services.traffic.rollback(call.actor, call.path["serve"], call.path["env"])
    return await _read(call)


@router.post(
    f"{_BASE}/pause",
    summary="Hold a progressive rollout at its step",
    response=TrafficRead,
    errors=(403, 404),
)
async def pause(call: Call[NoBody, NoQuery]) -> TrafficRead:
    await call.services.traffic.pause(call.actor, call.path["serve"], call.path["env"])
    return await _read(call)


@router.post(
    f"{_BASE}/resume",
    summary="Let a paused rollout go on (its step waits a whole interval again)",
    response=TrafficRead,
    errors=(403, 404),
)
async def resume(call: Call[NoBody, NoQuery]) -> TrafficRead:
    await call.services.traffic.resume(call.actor, call.path["serve"], call.path["env"])
    return await _read(call)
