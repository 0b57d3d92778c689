"""Shared pieces: UTC timestamps with ``Z``, pagination."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from galapagos_model.queries.paging import Page, PageRequest

T = TypeVar("T")


# Times are UTC from the database to the wire (the ORM runs with use_tz in UTC), and
# pydantic writes a UTC time with "Z"; a naive time is refused rather than sent unzoned.
Timestamp = AwareDatetime


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


@cache
def _page_of(model: type[R]) -> type[PageOut[R]]:
    return PageOut[model]  # type: ignore[valid-type]


@cache
def _rows_of(model: type[R]) -> TypeAdapter[list[R]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def page_out(
    page: Page[Any], model: type[R], render: Callable[[Any], R] | None = None
) -> PageOut[R]:
    """Render a page of rows with ``render``, or read each row as ``model``."""
    if render is None:
        data = _rows_of(model).validate_python(page.items)  # all rows in one call
    else:
        data = [render(item) for item in page.items]
    return _page_of(model).model_construct(
        data=data, page=page.page, limit=page.limit, total=page.total
    )
