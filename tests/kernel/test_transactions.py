"""Service transactions replay after a deadlock, and only then."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from galapagos_core.kernel.transactions import transactional


class _MySqlError(Exception):
    pass


async def test_a_deadlock_replays_the_whole_transaction() -> None:
    calls = []

    @transactional
    async def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError(_MySqlError(1213, "Deadlock found when trying to get lock"))
        return "done"

    assert await work() == "done"
    assert len(calls) == 3


async def test_constraint_violations_are_not_replayed() -> None:
    calls = []

    @transactional
    async def work() -> None:
        calls.append(1)
        raise IntegrityError(_MySqlError(1062, "Duplicate entry"))

    with pytest.raises(IntegrityError):
        await work()
    assert len(calls) == 1


async def test_other_errors_surface_at_once() -> None:
    calls = []

    @transactional
    async def work() -> None:
        calls.append(1)
        raise OperationalError(_MySqlError(1146, "Table doesn't exist"))

    with pytest.raises(OperationalError):
        await work()
    assert len(calls) == 1
