"""Deploy requests in Darwin's wire shape, and the other deployment inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from galapagos_core.artifacts.specs import MODEL_URI
from galapagos_core.infra.specs import Cores, MemoryGiB, NodeCapacity, Replicas
from galapagos_core.kernel.bounds import FreeForm
from galapagos_core.kernel.darwin import DarwinBody
from galapagos_core.kernel.names import ResourceName, Version
from galapagos_core.kernel.variables import EnvVars
from galapagos_model.enums import DeploymentStrategy, ModelFormat, NodeCapacityType


def _strategy(value: Any) -> Any:
    # Darwin sends "ROLLING"; rolling is what every backend does.
    return value.lower() if value in _STRATEGY_SPELLINGS else value


_STRATEGY_SPELLINGS = [s for kind in DeploymentStrategy for s in (kind.value, kind.value.upper())]
Strategy = Annotated[
    DeploymentStrategy,
    BeforeValidator(_strategy),
    WithJsonSchema({"enum": _STRATEGY_SPELLINGS, "type": "string"}, mode="validation"),
]


class ActorOptions(DarwinBody):
    """Ray's ``ray_actor_options`` for one deployment's replicas."""

    model_config = ConfigDict(extra="forbid")

    num_cpus: float | None = Field(None, ge=0, le=64)
    num_gpus: float | None = Field(None, ge=0, le=16)
    memory: int | None = Field(None, ge=0, le=512 * 1024**3, description="bytes")
    resources: dict[Annotated[str, Field(max_length=64)], float] | None = Field(None, max_length=16)


class ServeDeploymentOptions(DarwinBody):
    """Serve options for one deployment of a user's application, in Ray's own shape; they
    win over what the code and the infra config say."""

    model_config = ConfigDict(extra="forbid")

    num_replicas: Replicas | None = None
    max_ongoing_requests: int | None = Field(None, ge=1, le=10_000)
    autoscaling_config: FreeForm | None = None
    ray_actor_options: ActorOptions | None = None
    user_config: FreeForm | None = None


DEPLOYMENT_NAME = r"^[A-Za-z0-9_.-]{1,64}$"


class ApiServeDeploymentConfig(DarwinBody):
    deployment_strategy: Strategy | None = None
    deployment_strategy_config: FreeForm | None = None
    environment_variables: EnvVars | None = None
    args: FreeForm | None = Field(
        None, description="arguments of the package's Serve application builder"
    )
    deployments: (
        Annotated[
            dict[Annotated[str, Field(pattern=DEPLOYMENT_NAME)], ServeDeploymentOptions],
            Field(max_length=32),
        ]
        | None
    ) = Field(
        None,
        description="Serve options per deployment name of the user's application",
        json_schema_extra={"propertyNames": {"pattern": DEPLOYMENT_NAME}},
    )


class WorkflowServeDeploymentConfig(DarwinBody):
    input_parameters: FreeForm = {}


class DeployRequest(DarwinBody):
    env: ResourceName
    artifact_version: Version
    api_serve_deployment_config: ApiServeDeploymentConfig | None = None
    workflow_serve_deployment_config: WorkflowServeDeploymentConfig | None = None


class RollbackRequest(BaseModel):
    artifact_version: Version | None = Field(
        None, description="roll back to this version; the previous deployment when absent"
    )


class ModelDeployRequest(DarwinBody):
    """Darwin's one-click ``POST /serve/deploy-model``."""

    serve_name: ResourceName
    artifact_version: Version
    model_uri: str = Field(max_length=1024, pattern=MODEL_URI)
    model_format: ModelFormat = ModelFormat.SKLEARN
    env: ResourceName
    space: ResourceName = Field("default", description="the project for a new serve")
    cores: Cores = Decimal(4)
    memory: MemoryGiB = Decimal(8)
    node_capacity: NodeCapacity = NodeCapacityType.SPOT
    min_replicas: Replicas = 1
    max_replicas: Replicas = 1

    @model_validator(mode="after")
    def _replica_bounds(self) -> ModelDeployRequest:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas cannot be greater than max_replicas")
        return self


class ModelUndeployRequest(DarwinBody):
    serve_name: ResourceName
    artifact_version: Version | None = None
    env: ResourceName
