"""Hand-written SELECTs for the reads on every request's path.

Tortoise renders a query's SQL afresh on each await and converts each value through its
field classes: for a joined page of 50 rows that is over a millisecond of CPU, several
times what the database spends answering. The few reads every request makes (the bearer
token, a serve's access row, the deployment-history page) are written once as SQL here and
run on the ORM's own connections and transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Any
from uuid import UUID

from tortoise import connections

# How each dialect we run on spells a parameter; statements are written with ``%s``.
_PLACEHOLDERS = {"mysql": "%s", "sqlite": "?"}
# How each dialect's driver returns a time the ORM stored (always UTC): MySQL as a naive
# DATETIME, SQLite as ISO text with its offset.
_TIME_READERS: dict[str, Callable[[Any], datetime]] = {
    "mysql": partial(datetime.replace, tzinfo=UTC),
    "sqlite": datetime.fromisoformat,
}


def _to_db(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _reader(kind: type, dialect: str) -> Callable[[Any], Any]:
    """How a column of Python type ``kind`` is read from what ``dialect``'s driver returns."""
    if kind is datetime:
        return _TIME_READERS[dialect]
    return kind  # UUID from its text, enums from their value, bool from 0/1


class Statement:
    """One SELECT with ``%s`` parameters. ``columns`` give the Python type of the result
    columns that the drivers do not return as such (``created_at=datetime``, ``id=UUID``);
    NULL stays None."""

    def __init__(self, sql: str, **columns: type) -> None:
        text = " ".join(sql.split())
        self._sql = {dialect: text.replace("%s", mark) for dialect, mark in _PLACEHOLDERS.items()}
        self._readers = {
            dialect: [(column, _reader(kind, dialect)) for column, kind in columns.items()]
            for dialect in _PLACEHOLDERS
        }

    async def all(self, *params: Any) -> list[dict[str, Any]]:
        db = connections.get("default")
        dialect = db.capabilities.dialect
        rows: list[dict[str, Any]] = await db.execute_query_dict(
            self._sql[dialect], [_to_db(p) for p in params]
        )
        readers = self._readers[dialect]
        for row in rows:
            for column, read in readers:
                value = row[column]
                if value is not None:
                    row[column] = read(value)
        return rows

    async def first(self, *params: Any) -> dict[str, Any] | None:
        rows = await self.all(*params)
        return rows[0] if rows else None
