"""SQL pagination: one COUNT and one page query, whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    limit: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int


async def paginate(query: QuerySet[M], request: PageRequest) -> Page[M]:
    total = await query.count()
    items = await query.offset(request.offset).limit(request.limit) if total else []
    return Page(items=list(items), total=total, page=request.page, limit=request.limit)


async def paginate_values(
    query: QuerySet[M], request: PageRequest, **columns: str
) -> Page[dict[str, Any]]:
    """Like :func:`paginate`, but rows come back as dicts of ``columns`` (name → field path).

    For hot listings: no model objects are built, and joins come from the field paths.
    """
    total = await query.count()
    rows = (
        await query.offset(request.offset).limit(request.limit).values(**columns) if total else []
    )
    return Page(items=list(rows), total=total, page=request.page, limit=request.limit)
