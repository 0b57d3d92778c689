"""Deployments as rendered."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from galapagos_app.paging import ReadModel, Timestamp
from galapagos_core.kernel.audit import redact
from galapagos_model.deployments import Deployment
from galapagos_model.enums import DeploymentStatus, WorkloadState


class DeployResult(BaseModel):
    """Darwin's ``{service_url}``, plus the deployment it started."""

    service_url: str | None
    deployment_id: UUID
    status: DeploymentStatus
    artifact_version: str
    env: str
    error: str | None = None


class DeploymentEventRead(ReadModel):
    status: DeploymentStatus
    message: str | None
    created_at: Timestamp


class DeploymentDetail(BaseModel):
    id: UUID
    artifact_version: str
    env: str
    status: DeploymentStatus
    strategy: str
    service_url: str | None
    error: str | None
    config: dict[str, Any]
    environment_variables: dict[str, Any]
    created_by: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    ready_at: Timestamp | None
    ended_at: Timestamp | None
    rollback_of: UUID | None
    events: list[DeploymentEventRead]


class ServeStatus(BaseModel):
    """Darwin's ``{status: READY | NOT_READY}``, plus detail."""

    status: Literal["READY", "NOT_READY"]
    active_deployment_id: UUID | None = None
    artifact_version: str | None = None
    deploying_deployment_id: UUID | None = None
    workload_state: WorkloadState | None = None
    url: str | None = None
    message: str | None = None


def deploy_result(deployment: Deployment) -> DeployResult:
    return DeployResult(
        service_url=deployment.service_url,
        deployment_id=deployment.id,
        status=deployment.status,
        artifact_version=deployment.artifact.version,
        env=deployment.environment.name,
        error=deployment.error,
    )


def deployment_detail(deployment: Deployment) -> DeploymentDetail:
    return DeploymentDetail(
        id=deployment.id,
        artifact_version=deployment.artifact.version,
        env=deployment.environment.name,
        status=deployment.status,
        strategy=deployment.strategy.value,
        service_url=deployment.service_url,
        error=deployment.error,
        config=deployment.config_snapshot,
        # Names and ordinary values; secret-looking values are never echoed.
        environment_variables=redact(dict(deployment.environment_variables)),
        created_by=deployment.created_by.username if deployment.created_by else None,
        created_at=deployment.created_at,
        started_at=deployment.started_at,
        ready_at=deployment.ready_at,
        ended_at=deployment.ended_at,
        rollback_of=deployment.rollback_of_id,
        events=[DeploymentEventRead.model_validate(e) for e in deployment.events],
    )
