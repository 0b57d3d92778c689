"""Traffic requests. Weights and variant names are checked by the rules (galapagos_core.traffic
.rules), which answer with the traffic codes, not by the schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from galapagos_core.kernel.names import Version
from galapagos_model.enums import TrafficStrategy

VariantName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Weight = Annotated[int, Field(ge=-(2**31), le=2**31 - 1, description="percent, 0 to 100")]
HeaderName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
]
HeaderValue = Annotated[str, StringConstraints(max_length=512)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantRequest(Body):
    variant_name: VariantName
    artifact_version: Version | None = Field(
        None, description="the stable variant may leave it out: it is the active deployment"
    )
    weight: Weight = 0
    header_match: dict[HeaderName, HeaderValue] | None = Field(
        None,
        max_length=8,
        description="requests carrying all these headers with these values go to this variant",
    )


class Sticky(Body):
    """Requests with the same value of this header (or cookie) reach the same variant."""

    header: HeaderName | None = None
    cookie: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Sticky:
        if (self.header is None) == (self.cookie is None):
            raise ValueError("name either a header or a cookie")
        return self


class Gates(Body):
    """What a candidate must show at each step of a rollout, over the step's interval."""

    min_requests: int = Field(50, ge=1, le=10**9, description="fewer: wait, decide nothing")
    min_success_rate: float = Field(0.99, ge=0, le=1, description="non-5xx share, absolute")
    max_success_rate_drop: float = Field(
        0.01, ge=0, le=1, description="at most this much below the stable variant's"
    )
    max_p99_ms: float | None = Field(None, gt=0, le=3_600_000, description="absolute limit")
    max_p99_ratio: float | None = Field(
        2.0, gt=0, le=1000, description="at most this many times the stable variant's p99"
    )


class RolloutPlan(Body):
    steps: list[Weight] = Field(min_length=1, max_length=20, description="candidate weights")
    interval_seconds: float = Field(60, ge=1, le=7 * 86400)
    gates: Gates = Gates()


class TrafficRequest(Body):
    strategy: TrafficStrategy
    variants: list[VariantRequest] = Field(min_length=1, max_length=20)
    sticky: Sticky | None = None
    rollout: RolloutPlan | None = None


class WeightRequest(Body):
    weight: Weight


class WeightsRequest(Body):
    weights: dict[VariantName, Weight] = Field(min_length=1, max_length=20)


class PromoteRequest(Body):
    variant: VariantName
