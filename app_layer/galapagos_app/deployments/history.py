"""Darwin's deployment history endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from galapagos_app.artifacts.schemas import DeploymentRow
from galapagos_app.endpoints import Call, NoBody, Router
from galapagos_app.paging import PageOut, PageQuery, page_out
from galapagos_model.enums import DeploymentStatus

router = Router(tag="deployments")


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class HistoryQuery(PageQuery):
    # Darwin's defaults for this listing: 50 rows a page, at most 200.
    limit: int = Field(50, ge=1, le=200)
    status: Annotated[DeploymentStatus | None, BeforeValidator(_upper)] = None


@router.get(
    "/api/v1/serve/{serve}/deployments",
    summary="A serve's deployment history, newest first",
    query=HistoryQuery,
    response=PageOut[DeploymentRow],
    errors=(404,),
)
async def deployment_history(call: Call[NoBody, HistoryQuery]) -> PageOut[DeploymentRow]:
    page = await call.services.deployment_reads.history(
        call.actor, call.path["serve"], call.query.request(), status=call.query.status
    )
    return page_out(page, DeploymentRow)
