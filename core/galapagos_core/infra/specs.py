"""Infra config specs in Darwin's wire shape, validated once for create and after every merge."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from galapagos_core.kernel.bounds import FreeForm, Hostname
from galapagos_core.kernel.darwin import DarwinBody
from galapagos_core.kernel.schema_rules import exactly_one_of, given, when
from galapagos_model.enums import ConcurrencyPolicy, NodeCapacityType, ServingFramework
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.queries.infra import InfraConfig

# Darwin clients send "ondemand"; it means on-demand and is honoured as such.
_CAPACITY_SPELLINGS = {
    **{kind.value: kind.value for kind in NodeCapacityType},
    "ondemand": NodeCapacityType.ON_DEMAND.value,
    "on_demand": NodeCapacityType.ON_DEMAND.value,
}


def _capacity(value: Any) -> Any:
    return _CAPACITY_SPELLINGS.get(value, value) if isinstance(value, str) else value


NodeCapacity = Annotated[
    NodeCapacityType,
    BeforeValidator(_capacity),
    WithJsonSchema({"enum": list(_CAPACITY_SPELLINGS), "type": "string"}, mode="validation"),
]


def _hundredths_up(value: Any) -> Any:
    """Numbers are kept to two decimals, rounded up so that a sliver never becomes zero."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    number = Decimal(str(value))
    return number if abs(number) > 10**6 else number.quantize(_HUNDREDTH, rounding=ROUND_UP)


def _number(maximum: int, unit: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": maximum,
            "description": f"{unit}, kept to two decimals (rounded up)",
        }
    )


_HUNDREDTH = Decimal("0.01")
_AS_NUMBER = PlainSerializer(float, return_type=float, when_used="json")
Cores = Annotated[
    Decimal,
    BeforeValidator(_hundredths_up),
    Field(gt=0, le=64),
    _AS_NUMBER,
    _number(64, "CPU cores"),
]
MemoryGiB = Annotated[
    Decimal,
    BeforeValidator(_hundredths_up),
    Field(gt=0, le=512),
    _AS_NUMBER,
    _number(512, "GiB"),
]
Replicas = Annotated[int, Field(ge=1, le=100)]
Gpus = Annotated[int, Field(ge=0, le=16)]


class _Spec(DarwinBody):
    model_config = ConfigDict(extra="forbid")


class FastApiConfig(_Spec):
    cores: Cores
    memory: MemoryGiB
    node_capacity_type: NodeCapacity = NodeCapacityType.SPOT
    min_replicas: Replicas = 1
    max_replicas: Replicas = 1
    gpus: Gpus = 0
    gpu_type: str | None = Field(None, max_length=64)
    autoscaling_target: int | None = Field(
        None, ge=1, le=10_000, description="target ongoing requests per replica"
    )

    @model_validator(mode="after")
    def _replica_bounds(self) -> FastApiConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed "
                f"max_replicas ({self.max_replicas})"
            )
        return self


class ApiServeConfig(_Spec):
    backend_type: ServingFramework = ServingFramework.FASTAPI
    additional_hosts: list[Hostname] = Field(default_factory=list, max_length=100)
    fast_api_config: FastApiConfig


class HeadNodeConfig(_Spec):
    cores: Cores
    memory: MemoryGiB
    node_capacity_type: NodeCapacity = NodeCapacityType.ON_DEMAND


class WorkerNodeConfig(_Spec):
    cores_per_pods: Cores
    memory_per_pods: MemoryGiB
    min_pods: Annotated[int, Field(ge=0, le=100)] = 1
    max_pods: Annotated[int, Field(ge=1, le=100)] = 1
    node_capacity_type: NodeCapacity = NodeCapacityType.SPOT
    gpus: Gpus = 0

    @model_validator(mode="after")
    def _pod_bounds(self) -> WorkerNodeConfig:
        if self.min_pods > self.max_pods:
            raise ValueError(
                f"min_pods ({self.min_pods}) must not exceed max_pods ({self.max_pods})"
            )
        return self


class WorkflowServeConfig(_Spec):
    schedule: str | None = Field(
        None, max_length=255, description="cron expression; none for on-demand runs"
    )
    timezone: str = Field("UTC", max_length=64)
    head_node_config: HeadNodeConfig
    worker_node_config: list[WorkerNodeConfig] = Field(default_factory=list, max_length=16)
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.FORBID
    retries: Annotated[int, Field(ge=0, le=10)] = 0

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a valid cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value


ServeConfig = ApiServeConfig | WorkflowServeConfig


def spec_of(config: InfraConfig) -> ServeConfig:
    """The wire-shaped spec stored in a config row."""
    if isinstance(config, ApiServeInfraConfig):
        return ApiServeConfig(
            backend_type=config.backend_type,
            additional_hosts=config.additional_hosts,
            fast_api_config=FastApiConfig(
                cores=config.cores,
                memory=config.memory,
                node_capacity_type=config.node_capacity_type,
                min_replicas=config.min_replicas,
                max_replicas=config.max_replicas,
                gpus=config.gpus,
                gpu_type=config.gpu_type,
                autoscaling_target=config.autoscaling_target,
            ),
        )
    return WorkflowServeConfig(
        schedule=config.schedule,
        timezone=config.timezone,
        head_node_config=HeadNodeConfig.model_validate(config.head_node_config),
        worker_node_config=[WorkerNodeConfig.model_validate(w) for w in config.worker_node_config],
        concurrency_policy=config.concurrency_policy,
        retries=config.retries,
    )


class InfraConfigCreate(DarwinBody):
    """POST infra-config: exactly one of the two shapes, matching the serve's type."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of("api_serve_config", "workflow_serve_config")
    )

    api_serve_config: ApiServeConfig | None = None
    workflow_serve_config: WorkflowServeConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> InfraConfigCreate:
        if (self.api_serve_config is None) == (self.workflow_serve_config is None):
            raise ValueError("give exactly one of api_serve_config or workflow_serve_config")
        return self


class InfraConfigPatch(DarwinBody):
    """PATCH infra-config: any subset of the shape; absent or null fields keep their value."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of("api_serve_config", "workflow_serve_config")
    )

    api_serve_config: FreeForm | None = None
    workflow_serve_config: FreeForm | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> InfraConfigPatch:
        if (self.api_serve_config is None) == (self.workflow_serve_config is None):
            raise ValueError("give exactly one of api_serve_config or workflow_serve_config")
        return self


class ScalingLadderStep(DarwinBody):
    load: float = Field(ge=0, description="ongoing requests per replica from which this applies")
    replicas: Replicas


class ScalingConfig(DarwinBody):
    """Darwin's scaling-config, applied to every infra config (and running deployment)."""

    model_config = ConfigDict(
        json_schema_extra=when("scaling_strategy", "SCALAR", lambda _: {}, given("scaling_ladder"))
    )

    scaling_strategy: Literal["SCALAR", "LADDER"] = "SCALAR"
    scaling_factor: float = Field(1.0, gt=0, le=100)
    scaling_ladder: list[ScalingLadderStep] | None = Field(None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _ladder_for_ladders(self) -> ScalingConfig:
        if self.scaling_strategy == "LADDER" and not self.scaling_ladder:
            raise ValueError("scaling_strategy LADDER needs scaling_ladder")
        return self
