"""The one way an artifact comes to exist: registered, built by a worker or made by a one-click
deploy, it is created here, its version taken is a 409, and it is audited in the same
transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import Conflict
from galapagos_model.artifacts import Artifact
from galapagos_model.catalog import Serve
from galapagos_model.queries import artifacts as artifact_queries


def version_taken(serve: Serve, version: str) -> Conflict:
    return Conflict(
        f"serve '{serve.name}' already has an artifact '{version}'; versions are immutable",
        code="ARTIFACT_ALREADY_EXISTS",
        serve=serve.name,
        version=version,
    )


async def record_artifact(
    actor: Actor,
    serve: Serve,
    version: str,
    *,
    action: str,
    audited: dict[str, Any],
    created_by_id: UUID | None = None,
    **values: Any,
) -> Artifact:
    """Create ``version`` of ``serve`` (``serve.project`` loaded) with ``values``, for
    ``created_by_id`` (the actor's user by default), and audit it as ``action``."""
    try:
        async with in_transaction():  # a savepoint: the caller's transaction outlives a clash
            artifact = await artifact_queries.create_artifact(
                serve=serve,
                version=version,
                created_by_id=created_by_id or actor.user_id,
                **values,
            )
    except IntegrityError:
        raise version_taken(serve, version) from None
    await audit_serve(actor, action, serve, {"version": version, **audited})
    return artifact


async def audit_serve(actor: Actor, action: str, serve: Serve, after: dict[str, Any]) -> None:
    """An audit record of an artifact change, filed under its serve."""
    await audit.record(
        actor,
        action,
        "serve",
        resource_id=serve.id,
        resource_name=serve.name,
        project=serve.project.name,
        after=after,
    )
