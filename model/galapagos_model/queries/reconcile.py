"""Environment leases for the reconciler."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tortoise.expressions import Q

from galapagos_model.catalog import Environment


async def environment_ids() -> list[UUID]:
    return list(await Environment.all().order_by("name").values_list("id", flat=True))  # type: ignore[arg-type]


async def claim(
    environment_id: UUID, owner: str, now: datetime, lease: timedelta
) -> Environment | None:
    """Take the environment's reconcile lease unless another live reconciler holds it."""
    free = Q(reconcile_until__isnull=True) | Q(reconcile_until__lt=now) | Q(reconcile_owner=owner)
    updated = await Environment.filter(Q(id=environment_id) & free).update(
        reconcile_owner=owner, reconcile_until=now + lease
    )
    if updated != 1:
        return None
    return await Environment.get_or_none(id=environment_id).select_related("cluster")


async def renew(environment_id: UUID, owner: str, until: datetime) -> None:
    await Environment.filter(id=environment_id, reconcile_owner=owner).update(reconcile_until=until)


async def release(environment_id: UUID, owner: str) -> None:
    await Environment.filter(id=environment_id, reconcile_owner=owner).update(
        reconcile_owner=None, reconcile_until=None
    )


async def record_outcome(environment_id: UUID, at: datetime, error: str | None) -> None:
    """A finished pass: its error, or the time it succeeded (and no error any more)."""
    outcome: dict[str, object] = {"reconcile_error": error}
    if error is None:
        outcome["last_reconciled_at"] = at
    await Environment.filter(id=environment_id).update(**outcome)
