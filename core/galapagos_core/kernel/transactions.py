"""Transactions owned by services, retried when the database reports a deadlock, and work
that must wait until they commit."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

P = ParamSpec("P")
T = TypeVar("T")

_RETRYABLE_MYSQL_CODES = {1205, 1213}  # lock wait timeout, deadlock
_ATTEMPTS = 5
# Callbacks of the outermost service transaction running in this task.
_AFTER_COMMIT: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "after_commit", default=None
)


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the service transaction around this call has committed (at once
    outside one): what others will read must be there when they are told."""
    pending = _AFTER_COMMIT.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def _is_retryable(exc: OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return False
    cause = exc.args[0] if exc.args else None
    code = cause.args[0] if isinstance(cause, Exception) and cause.args else None
    return code in _RETRYABLE_MYSQL_CODES or "database is locked" in str(exc)


def transactional(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run ``func`` in one transaction; replay it whole after a deadlock or lock timeout."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if _AFTER_COMMIT.get() is not None:  # inside another service's transaction
            async with in_transaction():
                return await func(*args, **kwargs)
        for attempt in range(1, _ATTEMPTS + 1):
            pending: list[Callable[[], None]] = []
            token = _AFTER_COMMIT.set(pending)
            try:
                async with in_transaction():
                    result = await func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == _ATTEMPTS or not _is_retryable(exc):
                    raise
                await asyncio.sleep(random.uniform(0, 0.02 * 2**attempt))
                continue
            finally:
                _AFTER_COMMIT.reset(token)
            for callback in pending:
                callback()
            return result
        raise AssertionError("unreachable")

    return wrapper
