"""Builder-job leases: claim, renew, release, finish. Conditional updates make each step
safe when several workers (processes or hosts) share the table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import F, Q

from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import BuildStatus

LIVE = (BuildStatus.PENDING, BuildStatus.RUNNING)


def _claimable(now: datetime) -> Q:
    return (
        Q(status__in=LIVE)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


async def due_job_ids(now: datetime, limit: int) -> list[UUID]:
    """Jobs nobody holds that are due, oldest first; rows other workers lock are skipped."""
    rows = (
        await ArtifactBuilderJob.filter(_claimable(now))
        .order_by("created_at", "id")
        .limit(limit)
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)
    )
    return list(rows)  # type: ignore[arg-type]


async def claim(job_id: UUID, owner: str, now: datetime, lease: timedelta) -> bool:
    """Take the lease on a due job; False when another worker got it first."""
    job = await ArtifactBuilderJob.get_or_none(id=job_id)
    if job is None:
        return False
    # A job still carrying an owner was abandoned by a worker that died: count the restart.
    recovered = job.status == BuildStatus.PENDING or job.lease_owner is not None
    updated = await ArtifactBuilderJob.filter(Q(id=job_id) & _claimable(now)).update(
        lease_owner=owner,
        lease_until=now + lease,
        status=BuildStatus.RUNNING,
        started_at=job.started_at or now,
        attempts=F("attempts") + (1 if recovered else 0),
    )
    return updated == 1


async def held_job(job_id: UUID, owner: str) -> ArtifactBuilderJob | None:
    return (
        await ArtifactBuilderJob.filter(id=job_id, lease_owner=owner)
        .select_related("serve__project")
        .first()
    )


async def renew(job_id: UUID, owner: str, until: datetime) -> BuildStatus | None:
    """Extend the lease; the job's status, or None when the lease is no longer ours."""
    updated = await ArtifactBuilderJob.filter(id=job_id, lease_owner=owner).update(
        lease_until=until
    )
    if updated != 1:
        return None
    job = await ArtifactBuilderJob.filter(id=job_id).only("id", "status").first()
    return job.status if job else None


async def locked_if_held(job_id: UUID, owner: str) -> ArtifactBuilderJob | None:
    """The job, row-locked, if ``owner`` still holds it and it is still running."""
    return (
        await ArtifactBuilderJob.filter(id=job_id, lease_owner=owner, status=BuildStatus.RUNNING)
        .select_for_update()
        .select_related("serve")
        .first()
    )


async def release(job_id: UUID, owner: str, **changes: Any) -> bool:
    """Hand the job back (still live) with ``changes``; False if it was no longer ours."""
    updated = await ArtifactBuilderJob.filter(
        id=job_id, lease_owner=owner, status=BuildStatus.RUNNING
    ).update(lease_owner=None, lease_until=None, **changes)
    return updated == 1


async def finish(job_id: UUID, owner: str | None, status: BuildStatus, **changes: Any) -> bool:
    """End a live job (``owner`` None: whoever holds it); frees its (serve, version) slot."""
    query = ArtifactBuilderJob.filter(id=job_id, status__in=LIVE)
    if owner is not None:
        query = query.filter(lease_owner=owner)
    updated = await query.update(
        status=status, live_key=None, lease_owner=None, lease_until=None, **changes
    )
    return updated == 1


async def cancel(job_id: UUID, finished_at: datetime, error: str) -> bool:
    """End a live job as CANCELLED, flagging remote work (a task id) for clean-up."""
    job = await ArtifactBuilderJob.filter(id=job_id, status__in=LIVE).first()
    if job is None:
        return False
    return await finish(
        job_id,
        None,
        BuildStatus.CANCELLED,
        finished_at=finished_at,
        error=error,
        needs_cleanup=job.task_id is not None,
    )


async def needing_cleanup(limit: int) -> list[ArtifactBuilderJob]:
    return (
        await ArtifactBuilderJob.filter(needs_cleanup=True)
        .select_related("serve__project")
        .limit(limit)
    )


async def cleaned_up(job_id: UUID) -> None:
    await ArtifactBuilderJob.filter(id=job_id).update(needs_cleanup=False)
