"""SQL pagination: one COUNT and one page query, whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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
