"""What the catalog answers when a serve, project, environment or cluster does not exist (or
may not be seen)."""

from __future__ import annotations

from galapagos_core.kernel.errors import NotFound


def serve_not_found(name: str) -> NotFound:
    return NotFound(f"serve '{name}' not found", code="SERVE_NOT_FOUND", serve=name)


def project_not_found(name: str) -> NotFound:
    return NotFound(f"project '{name}' not found", code="PROJECT_NOT_FOUND", project=name)


def environment_not_found(name: str) -> NotFound:
    return NotFound(f"environment '{name}' not found", code="ENVIRONMENT_NOT_FOUND", env=name)


def cluster_not_found(name: str) -> NotFound:
    return NotFound(f"cluster '{name}' not found", code="CLUSTER_NOT_FOUND", cluster=name)
