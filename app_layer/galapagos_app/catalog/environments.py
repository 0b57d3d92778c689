"""Darwin's environment endpoints (writes: platform admins)."""

from __future__ import annotations

from galapagos_app.catalog.schemas import EnvironmentCreated, EnvironmentRead
from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_core.catalog.environments import EnvironmentCreate, EnvironmentUpdate

router = Router(tag="environments")


@router.get(
    "/api/v1/environment",
    summary="All environments",
    query=PageQuery,
    response=PageOut[EnvironmentRead],
)
async def list_environments(call: Call[NoBody, PageQuery]) -> PageOut[EnvironmentRead]:
    page = await call.services.environments.list(call.actor, call.query.request())
    return page_out(page, EnvironmentRead)


@router.post(
    "/api/v1/environment",
    summary="Create an environment",
    body=EnvironmentCreate,
    response=EnvironmentCreated,
    status_code=200,  # Darwin answers 200 here, and its clients expect it
    errors=(403, 404, 409),
    message="Environment created successfully",
)
async def create_environment(call: Call[EnvironmentCreate, NoQuery]) -> EnvironmentCreated:
    environment = await call.services.environments.create(call.actor, call.body)
    return EnvironmentCreated.model_validate(environment)


@router.get(
    "/api/v1/environment/{name}",
    summary="One environment",
    response=EnvironmentRead,
    errors=(404,),
)
async def get_environment(call: Call[NoBody, NoQuery]) -> EnvironmentRead:
    environment = await call.services.environments.get(call.actor, call.path["name"])
    return EnvironmentRead.model_validate(environment)


@router.patch(
    "/api/v1/environment/{name}",
    summary="Merge changes into an environment",
    body=EnvironmentUpdate,
    response=EnvironmentRead,
    errors=(403, 404),
)
async def update_environment(call: Call[EnvironmentUpdate, NoQuery]) -> EnvironmentRead:
    environment = await call.services.environments.update(call.actor, call.path["name"], call.body)
    return EnvironmentRead.model_validate(environment)


@router.delete(
    "/api/v1/environment/{name}",
    summary="Delete an environment nothing references",
    errors=(403, 404, 409),
)
async def delete_environment(call: Call[NoBody, NoQuery]) -> None:
    await call.services.environments.delete(call.actor, call.path["name"])
