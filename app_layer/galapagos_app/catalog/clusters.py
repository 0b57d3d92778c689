"""Kubernetes clusters (platform admins). Kubeconfigs go in, never come out."""

from __future__ import annotations

from uuid import UUID

from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_app.paging import PageOut, PageQuery, ReadModel, Timestamp, page_out
from galapagos_core.catalog.clusters import ClusterCreate, ClusterUpdate
from galapagos_model.enums import ClusterStatus

router = Router(tag="clusters")


class ClusterRead(ReadModel):
    id: UUID
    name: str
    api_server_url: str
    status: ClusterStatus
    status_message: str | None
    capabilities: dict[str, list[str]]
    checked_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


@router.get(
    "/api/v1/clusters",
    summary="Registered clusters",
    query=PageQuery,
    response=PageOut[ClusterRead],
    errors=(403,),
)
async def list_clusters(call: Call[NoBody, PageQuery]) -> PageOut[ClusterRead]:
    return page_out(
        await call.services.clusters.list(call.actor, call.query.request()), ClusterRead
    )


@router.post(
    "/api/v1/clusters",
    summary="Register a cluster by its kubeconfig",
    body=ClusterCreate,
    response=ClusterRead,
    status_code=201,
    errors=(403, 409),
)
async def create_cluster(call: Call[ClusterCreate, NoQuery]) -> ClusterRead:
    return ClusterRead.model_validate(await call.services.clusters.create(call.actor, call.body))


@router.get(
    "/api/v1/clusters/{name}", summary="One cluster", response=ClusterRead, errors=(403, 404)
)
async def get_cluster(call: Call[NoBody, NoQuery]) -> ClusterRead:
    return ClusterRead.model_validate(
        await call.services.clusters.get(call.actor, call.path["name"])
    )


@router.patch(
    "/api/v1/clusters/{name}",
    summary="Replace a cluster's kubeconfig",
    body=ClusterUpdate,
    response=ClusterRead,
    errors=(403, 404),
)
async def update_cluster(call: Call[ClusterUpdate, NoQuery]) -> ClusterRead:
    cluster = await call.services.clusters.update(call.actor, call.path["name"], call.body)
    return ClusterRead.model_validate(cluster)


@router.delete(
    "/api/v1/clusters/{name}",
    summary="Remove a cluster no environment uses",
    errors=(403, 404, 409),
)
async def delete_cluster(call: Call[NoBody, NoQuery]) -> None:
    await call.services.clusters.delete(call.actor, call.path["name"])
