"""Traffic configs as rendered."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from galapagos_app.paging import Timestamp
from galapagos_core.traffic.figures import VariantFigures, Window
from galapagos_core.traffic.rules import is_shadow
from galapagos_core.traffic.service import TrafficView
from galapagos_model.enums import (
    TrafficStatus,
    TrafficStrategy,
    VariantStatus,
    WorkloadState,
)


class WorkloadRead(BaseModel):
    name: str
    state: WorkloadState
    url: str | None
    error: str | None


class MetricsRead(BaseModel):
    source: str
    since: Timestamp | None
    until: Timestamp
    variants: list[VariantFigures]


def metrics_read(window: Window) -> MetricsRead:
    return MetricsRead(
        source=window.source, since=window.since, until=window.until, variants=window.variants
    )


class VariantRead(BaseModel):
    variant_name: str
    artifact_version: str
    weight: int
    header_match: dict[str, str] | None
    shadow: bool
    status: VariantStatus
    revision: int
    deployment_id: str | None
    workload: WorkloadRead | None
    metrics: VariantFigures | None = None  # since the routers started (GET only)


class TrafficRead(BaseModel):
    strategy: TrafficStrategy
    status: TrafficStatus
    route_name: str
    service_url: str | None
    preview_url: str | None
    sticky: dict[str, str] | None
    rollout: dict[str, Any] | None
    rollout_step: int | None
    step_started_at: Timestamp | None
    router: WorkloadRead | None
    variants: list[VariantRead]
    metrics_error: str | None = None  # why the variants have no metrics (GET only)
    created_at: Timestamp
    updated_at: Timestamp


def _workload(workload: Any) -> WorkloadRead | None:
    if workload is None:
        return None
    return WorkloadRead(
        name=workload.name,
        state=workload.current_state,
        url=workload.url,
        error=workload.last_error,
    )


def traffic_read(
    view: TrafficView,
    figures: dict[str, VariantFigures] | None = None,
    metrics_error: str | None = None,
) -> TrafficRead:
    """The config as it stands; with ``figures``, each variant's metrics too."""
    config = view.config
    figures = figures or {}
    variants = []
    preview = None
    for v in view.variants:
        workload = view.workloads.get(v.id)
        if workload is not None and workload.spec.get("route_prefix"):
            preview = workload.url
        variants.append(
            VariantRead(
                variant_name=v.name,
                artifact_version=v.artifact.version,
                weight=v.weight,
                header_match=v.header_match,
                shadow=is_shadow(v.name),
                status=v.status,
                revision=v.revision,
                deployment_id=str(workload.deployment_id) if workload else None,
                workload=_workload(workload),
                metrics=figures.get(v.name),
            )
        )
    return TrafficRead(
        strategy=config.strategy,
        status=config.status,
        route_name=config.route_name,
        service_url=view.router.url if view.router else None,
        preview_url=preview,
        sticky=config.sticky,
        rollout=config.rollout,
        rollout_step=config.rollout_step,
        step_started_at=config.step_started_at,
        router=_workload(view.router),
        variants=variants,
        metrics_error=metrics_error,
        created_at=config.created_at,
        updated_at=config.updated_at,
    )
