"""Darwin's serve endpoints."""

from __future__ import annotations

from pydantic import Field

from galapagos_app.catalog.schemas import ServeOverview, ServeRead
from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.infra.schemas import infra_config_read
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_core.catalog.serves import ServeCreate, ServeUpdate
from galapagos_model.catalog import Serve

router = Router(tag="serves")


def serve_read(serve: Serve) -> ServeRead:
    return ServeRead(
        id=serve.id,
        name=serve.name,
        type=serve.type,
        description=serve.description,
        space=serve.project.name,
        health_path=serve.health_path,
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
