"""Shared pieces: UTC timestamps with ``Z``, pagination."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from galapagos_model.queries.paging import Page, PageRequest

T = TypeVar("T")


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str)]


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)

    def request(self) -> PageRequest:
        return PageRequest(page=self.page, limit=self.limit)


class PageOut(BaseModel, Generic[T]):
    """Darwin's paginated list: the rows plus ``page``, ``limit`` and ``total``."""

    data: list[T]
    page: int
    limit: int
    total: int


R = TypeVar("R", bound=ReadModel)


def page_out(
    page: Page[Any], model: type[R], render: Callable[[Any], R] | None = None
) -> PageOut[R]:
    """Render a page of rows with ``render`` (``model.model_validate`` by default)."""
    render = render or model.model_validate
    return PageOut[model](  # type: ignore[valid-type]
        data=[render(item) for item in page.items],
        page=page.page,
        limit=page.limit,
        total=page.total,
    )
