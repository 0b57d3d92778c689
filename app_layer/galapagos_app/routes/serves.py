"""Darwin's serve and infra-config endpoints."""

from __future__ import annotations

from pydantic import Field

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.schemas.catalog import (
    InfraConfigRead,
    ServeOverview,
    ServeRead,
    infra_config_read,
)
from galapagos_app.schemas.common import PageOut, PageQuery, page_out
from galapagos_core.infra_specs import InfraConfigCreate, InfraConfigPatch
from galapagos_core.serves import ServeCreate, ServeUpdate
from galapagos_model.catalog import Serve

router = Router(tag="serves")


def serve_read(serve: Serve) -> ServeRead:
    return ServeRead(
        id=serve.id,
        name=serve.name,
        type=serve.type,
        description=serve.description,
        space=serve.project.name,
        created_by=serve.created_by.username if serve.created_by else None,
        created_at=serve.created_at,
        updated_at=serve.updated_at,
    )


class ServeListQuery(PageQuery):
    space: str | None = Field(None, max_length=50, description="only serves of this project")


@router.get(
    "/api/v1/serve",
    summary="Serves visible to the caller, newest first",
    query=ServeListQuery,
    response=PageOut[ServeRead],
    message="Serves retrieved successfully",
)
async def list_serves(call: Call[NoBody, ServeListQuery]) -> PageOut[ServeRead]:
    page = await call.services.serves.list(
        call.actor, call.query.request(), project=call.query.space
    )
    return page_out(page, ServeRead, serve_read)


@router.post(
    "/api/v1/serve",
    summary="Register a serve (its space/project is created if new)",
    body=ServeCreate,
    response=ServeRead,
    status_code=201,
    errors=(403, 404, 409),
    message="Serve created successfully",
)
async def create_serve(call: Call[ServeCreate, NoQuery]) -> ServeRead:
    return serve_read(await call.services.serves.create(call.actor, call.body))


@router.get(
    "/api/v1/serve/{serve}",
    summary="A serve with its infra config per environment",
    response=ServeOverview,
    errors=(404,),
    message="Serve overview retrieved successfully",
)
async def get_serve(call: Call[NoBody, NoQuery]) -> ServeOverview:
    serve = await call.services.serves.overview(call.actor, call.path["serve"])
    configs = [*serve.api_configs, *serve.workflow_configs]
    return ServeOverview(
        serve=serve_read(serve),
        infra_configs=[infra_config_read(c.environment.name, c) for c in configs],
    )


@router.patch(
    "/api/v1/serve/{serve}",
    summary="Update a serve's description",
    body=ServeUpdate,
    response=ServeRead,
    errors=(403, 404),
)
async def update_serve(call: Call[ServeUpdate, NoQuery]) -> ServeRead:
    return serve_read(await call.services.serves.update(call.actor, call.path["serve"], call.body))


@router.delete(
    "/api/v1/serve/{serve}",
    summary="Delete a serve that was never deployed (owners)",
    errors=(403, 404, 409),
)
async def delete_serve(call: Call[NoBody, NoQuery]) -> None:
    await call.services.serves.delete(call.actor, call.path["serve"])


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
