"""GPU-instance requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from galapagos_core.gpu.placement import CapacityPolicy
from galapagos_core.kernel.names import ResourceName


class GpuInstanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=255, description="a model of the catalog")
    project: ResourceName
    env: ResourceName = Field(description="the environment it runs on")
    capacity: CapacityPolicy = CapacityPolicy.SPOT_WITH_FALLBACK


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    load: float = Field(ge=0, le=1_000_000, description="requests in flight")
    preempted: bool = Field(
        False, description="the provider announced it takes the machine back (spot)"
    )
