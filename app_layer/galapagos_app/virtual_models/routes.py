"""Virtual models: one model name, several LLM backends in weighted priority tiers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from galapagos_app.endpoints import Call, NoBody, Router
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_app.virtual_models.schemas import (
    BackendRead,
    PlacementRead,
    RoutingRead,
    VirtualModelDetail,
    VirtualModelRead,
    backend_read,
    detail_read,
    model_read,
    placement_read,
    routing_read,
)
from galapagos_core.virtual_models.specs import (
    BackendCreate,
    BackendUpdate,
    VirtualModelCreate,
    VirtualModelUpdate,
)

router = Router(tag="virtual-models")
_BASE = "/api/v1/virtual-models"
_ONE = f"{_BASE}/{{name}}"


class ProjectQuery(BaseModel):
    project: str | None = Field(
        None, max_length=50, description="the project, where several have this name"
    )


class DeployQuery(ProjectQuery):
    wait: bool = Field(False, description="answer once the environment's LLM router runs")


class PlacementBody(BaseModel):
    env: str = Field(max_length=50, description="a Ray environment")


class ListQuery(PageQuery):
    project: str | None = Field(None, max_length=50, description="only this project's")


async def _detail(call: Call[Any, ProjectQuery]) -> VirtualModelDetail:
    view = await call.services.virtual_models.view(
        call.actor, call.path["name"], call.query.project
    )
    return detail_read(view)


@router.get(
    _BASE,
    summary="Virtual models visible to the caller, newest first",
    query=ListQuery,
    response=PageOut[VirtualModelRead],
)
async def list_virtual_models(call: Call[NoBody, ListQuery]) -> PageOut[VirtualModelRead]:
    page = await call.services.virtual_models.list(
        call.actor, call.query.request(), project=call.query.project
    )
    return page_out(page, VirtualModelRead, model_read)


@router.post(
    _BASE,
    summary="Publish a model name in a project (editors)",
    body=VirtualModelCreate,
    response=VirtualModelRead,
    status_code=201,
    errors=(403, 404, 409),
)
async def create_virtual_model(call: Call[VirtualModelCreate, NoBody]) -> VirtualModelRead:
    return model_read(await call.services.virtual_models.create(call.actor, call.body))


@router.get(
    _ONE,
    summary="A virtual model with its backends",
    query=ProjectQuery,
    response=VirtualModelDetail,
    errors=(404, 409),
)
async def get_virtual_model(call: Call[NoBody, ProjectQuery]) -> VirtualModelDetail:
    return await _detail(call)


@router.patch(
    _ONE,
    summary="Change a virtual model's description or status",
    body=VirtualModelUpdate,
    query=ProjectQuery,
    response=VirtualModelDetail,
    errors=(403, 404, 409),
)
async def update_virtual_model(call: Call[VirtualModelUpdate, ProjectQuery]) -> VirtualModelDetail:
    await call.services.virtual_models.update(
        call.actor, call.path["name"], call.query.project, call.body
    )
    return await _detail(call)


@router.delete(
    _ONE,
    summary="Remove a virtual model and its backends",
    query=ProjectQuery,
    errors=(403, 404, 409),
)
async def delete_virtual_model(call: Call[NoBody, ProjectQuery]) -> None:
    await call.services.virtual_models.delete(call.actor, call.path["name"], call.query.project)


@router.post(
    f"{_ONE}/backends",
    summary="Add a backend: an external endpoint, a serve of the project, or a catalog model",
    body=BackendCreate,
    query=ProjectQuery,
    response=BackendRead,
    status_code=201,
    errors=(403, 404, 409),
)
async def add_backend(call: Call[BackendCreate, ProjectQuery]) -> BackendRead:
    backend = await call.services.virtual_models.add_backend(
        call.actor, call.path["name"], call.query.project, call.body
    )
    return backend_read(backend)


@router.patch(
    f"{_ONE}/backends/{{backend}}",
    summary="Change a backend's weight, tier or status, or rotate its API key",
    body=BackendUpdate,
    query=ProjectQuery,
    response=BackendRead,
    errors=(403, 404, 409),
)
async def update_backend(call: Call[BackendUpdate, ProjectQuery]) -> BackendRead:
    backend = await call.services.virtual_models.update_backend(
        call.actor, call.path["name"], call.query.project, call.path["backend"], call.body
    )
    return backend_read(backend)


@router.delete(
    f"{_ONE}/backends/{{backend}}",
    summary="Remove a backend",
    query=ProjectQuery,
    errors=(403, 404, 409),
)
async def delete_backend(call: Call[NoBody, ProjectQuery]) -> None:
    await call.services.virtual_models.delete_backend(
        call.actor, call.path["name"], call.query.project, call.path["backend"]
    )


@router.post(
    f"{_ONE}/deploy",
    summary="Answer the model on an environment: its LLM router's endpoint (editors)",
    body=PlacementBody,
    query=DeployQuery,
    response=PlacementRead,
    status_code=202,
    errors=(403, 404, 409, 422),
)
async def deploy_virtual_model(call: Call[PlacementBody, DeployQuery]) -> PlacementRead:
    models = call.services.virtual_models
    placement = await models.deploy(
        call.actor, call.path["name"], call.query.project, call.body.env
    )
    if call.query.wait:
        placement = await models.wait(placement)
    return placement_read(placement)


@router.post(
    f"{_ONE}/undeploy",
    summary="Stop answering the model on an environment (editors)",
    body=PlacementBody,
    query=ProjectQuery,
    errors=(403, 404, 409),
)
async def undeploy_virtual_model(call: Call[PlacementBody, ProjectQuery]) -> None:
    await call.services.virtual_models.undeploy(
        call.actor, call.path["name"], call.query.project, call.body.env
    )


@router.get(
    f"{_ONE}/routing",
    summary="The effective routing now: tiers, shares, and backends cooling down where deployed",
    query=ProjectQuery,
    response=RoutingRead,
    errors=(404, 409),
)
async def get_routing(call: Call[NoBody, ProjectQuery]) -> RoutingRead:
    view = await call.services.virtual_models.routing(
        call.actor, call.path["name"], call.query.project
    )
    return routing_read(view)
