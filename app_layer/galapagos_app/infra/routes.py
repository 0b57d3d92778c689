"""Darwin's infra-config and scaling-config endpoints."""

from __future__ import annotations

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.infra.schemas import (
    ApiInfraConfigRead,
    InfraConfigRead,
    WorkflowInfraConfigRead,
    infra_config_read,
)
from galapagos_core.infra.specs import InfraConfigCreate, InfraConfigPatch, ScalingConfig

router = Router(tag="infra")


@router.get(
    "/api/v1/serve/{serve}/infra-config/{env}",
    summary="The serve's infra config in an environment",
    response=InfraConfigRead,
    errors=(404,),
    message="Serve configuration retrieved successfully",
)
async def get_infra_config(call: Call[NoBody, NoQuery]) -> InfraConfigRead:
    env = call.path["env"]
    config = await call.services.infra_configs.get(call.actor, call.path["serve"], env)
    return infra_config_read(env, config)


@router.post(
    "/api/v1/serve/{serve}/infra-config/{env}",
    summary="Create the serve's infra config",
    body=InfraConfigCreate,
    response=InfraConfigRead,
    status_code=201,
    errors=(403, 404, 409),
    message="Serve configuration created successfully",
)
async def create_infra_config(call: Call[InfraConfigCreate, NoQuery]) -> InfraConfigRead:
    env = call.path["env"]
    config = await call.services.infra_configs.create(
        call.actor, call.path["serve"], env, call.body
    )
    return infra_config_read(env, config)


@router.patch(
    "/api/v1/serve/{serve}/infra-config/{env}",
    summary="Merge changes into the infra config (absent or null fields keep their value)",
    body=InfraConfigPatch,
    response=InfraConfigRead,
    errors=(403, 404, 409),
    message="Serve configuration updated successfully",
)
async def update_infra_config(call: Call[InfraConfigPatch, NoQuery]) -> InfraConfigRead:
    env = call.path["env"]
    config = await call.services.infra_configs.update(
        call.actor, call.path["serve"], env, call.body
    )
    return infra_config_read(env, config)


@router.post(
    "/api/v1/serve/{serve}/scaling-config",
    summary="Store a scaling policy and roll it out to the serve's running deployments",
    body=ScalingConfig,
    response=list[InfraConfigRead],
    errors=(403, 404, 409),
)
async def scaling_config(
    call: Call[ScalingConfig, NoQuery],
) -> list[ApiInfraConfigRead | WorkflowInfraConfigRead]:
    configs = await call.services.scaling.apply(call.actor, call.path["serve"], call.body)
    return [infra_config_read(c.environment.name, c) for c in configs]
