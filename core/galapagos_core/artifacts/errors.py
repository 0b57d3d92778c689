"""What the artifacts capability answers for versions and builder jobs that do not exist."""

from __future__ import annotations

from uuid import UUID

from galapagos_core.kernel.errors import NotFound


def artifact_not_found(serve: str, version: str) -> NotFound:
    return NotFound(
        f"serve '{serve}' has no artifact '{version}'",
        code="ARTIFACT_NOT_FOUND",
        serve=serve,
        version=version,
    )


def job_not_found(job_id: UUID | str) -> NotFound:
    return NotFound(
        f"artifact builder job '{job_id}' not found", code="JOB_NOT_FOUND", job_id=str(job_id)
    )
