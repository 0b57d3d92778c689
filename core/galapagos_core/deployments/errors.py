"""What the deployments capability answers for a deployment that does not exist."""

from __future__ import annotations

from galapagos_core.kernel.errors import NotFound


def deployment_not_found(serve: str, deployment_id: str) -> NotFound:
    return NotFound(
        f"serve '{serve}' has no deployment '{deployment_id}'",
        code="DEPLOYMENT_NOT_FOUND",
        serve=serve,
        deployment_id=deployment_id,
    )
