"""Darwin's deploy, status, undeploy and one-click model endpoints, plus rollback and
deployment detail."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from galapagos_app.deployments.schemas import (
    DeploymentDetail,
    DeployResult,
    ServeStatus,
    deploy_result,
    deployment_detail,
)
from galapagos_app.endpoints import Call, NoBody, NoQuery, Router
from galapagos_core.deployments.specs import (
    DeployRequest,
    ModelDeployRequest,
    ModelUndeployRequest,
    RollbackRequest,
)
from galapagos_model.deployments import Deployment
from galapagos_model.enums import WorkloadState

router = Router(tag="deployments")


class WaitQuery(BaseModel):
    wait: bool = Field(False, description="answer once the deployment is ready or failed")
    timeout: float = Field(300, gt=0, le=3600, description="seconds to wait at most")


async def _settled(call: Call[Any, WaitQuery], deployment: Deployment) -> DeployResult:
    if call.query.wait:
        deployment = await call.services.deployment_reads.wait(deployment.id, call.query.timeout)
    return deploy_result(deployment)


@router.post(
    "/api/v1/serve/{serve}/deploy",
    summary="Deploy an artifact version to an environment",
    body=DeployRequest,
    query=WaitQuery,
    response=DeployResult,
    errors=(403, 404, 409),
)
async def deploy(call: Call[DeployRequest, WaitQuery]) -> DeployResult:
    deployment = await call.services.deployments.deploy(
        call.actor, call.path["serve"], call.body, call.request.headers.get("idempotency-key")
    )
    return await _settled(call, deployment)


@router.post(
    "/api/v1/serve/{serve}/rollback/{env}",
    summary="Deploy the previous version again (or a named one)",
    body=RollbackRequest,
    query=WaitQuery,
    response=DeployResult,
    errors=(403, 404, 409),
)
async def rollback(call: Call[RollbackRequest, WaitQuery]) -> DeployResult:
    deployment = await call.services.deployments.rollback(
        call.actor, call.path["serve"], call.path["env"], call.body
    )
    return await _settled(call, deployment)


@router.post(
    "/api/v1/serve/{serve}/undeploy/{env}",
    summary="End the active deployment (the history stays)",
    response=DeployResult,
    errors=(403, 404, 409),
)
async def undeploy(call: Call[NoBody, NoQuery]) -> DeployResult:
    deployment = await call.services.deployments.undeploy(
        call.actor, call.path["serve"], call.path["env"]
    )
    return deploy_result(deployment)


@router.get(
    "/api/v1/serve/{serve}/status/{env}",
    summary="READY when the active deployment is running",
    response=ServeStatus,
    errors=(404,),
)
async def serve_status(call: Call[NoBody, NoQuery]) -> ServeStatus:
    active, flight, workload = await call.services.deployment_reads.status(
        call.actor, call.path["serve"], call.path["env"]
    )
    ready = (
        active is not None
        and workload is not None
        and workload.current_state == WorkloadState.READY
        and workload.deployment_id == active.deployment.id
    )
    return ServeStatus(
        status="READY" if ready else "NOT_READY",
        active_deployment_id=active.deployment.id if active else None,
        artifact_version=active.deployment.artifact.version if active else None,
        deploying_deployment_id=flight.id if flight else None,
        workload_state=workload.current_state if workload else None,
        url=workload.url if workload else None,
        message=workload.last_error if workload else None,
    )


@router.get(
    "/api/v1/serve/{serve}/deployments/{deployment_id}",
    summary="One deployment with its status history and errors",
    response=DeploymentDetail,
    errors=(404,),
)
async def get_deployment(call: Call[NoBody, NoQuery]) -> DeploymentDetail:
    deployment = await call.services.deployment_reads.detail(
        call.actor, call.path["serve"], call.path["deployment_id"]
    )
    return deployment_detail(deployment)


@router.post(
    "/api/v1/serve/deploy-model",
    summary="One-click: serve, model artifact and infra config as needed, then deploy",
    body=ModelDeployRequest,
    query=WaitQuery,
    response=DeployResult,
    errors=(403, 404, 409),
)
async def deploy_model(call: Call[ModelDeployRequest, WaitQuery]) -> DeployResult:
    deployment = await call.services.model_deploys.deploy(call.actor, call.body)
    return await _settled(call, deployment)


@router.post(
    "/api/v1/serve/undeploy-model",
    summary="Undeploy a one-click model deployment",
    body=ModelUndeployRequest,
    response=DeployResult,
    errors=(403, 404, 409),
)
async def undeploy_model(call: Call[ModelUndeployRequest, NoQuery]) -> DeployResult:
    return deploy_result(await call.services.model_deploys.undeploy(call.actor, call.body))
