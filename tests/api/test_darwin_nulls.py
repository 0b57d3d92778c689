"""Darwin's client sends null for every optional field it has no value for: every
Darwin-compatible request accepts that as "absent"."""

from __future__ import annotations

import typing
from fnmatch import fnmatch
from typing import Any

import httpx
from pydantic import BaseModel

from galapagos_core.artifacts.specs import ArtifactRegister
from galapagos_core.catalog.environments import (
    EnvironmentConfigs,
    EnvironmentCreate,
    EnvironmentUpdate,
)
from galapagos_core.catalog.serves import ServeCreate
from galapagos_core.deployments.specs import DeployRequest, ModelDeployRequest, ModelUndeployRequest
from galapagos_core.infra.specs import InfraConfigCreate, InfraConfigPatch, ScalingConfig
from tests.factories import bearer

CONFIGS = {name: None for name in EnvironmentConfigs.model_fields}
GATEWAY = {"name": "web", "namespace": None, "domain": "models.example.com"}
FAST_API = {
    "cores": 1,
    "memory": 1,
    "node_capacity_type": None,
    "min_replicas": None,
    "max_replicas": None,
    "gpus": None,
    "gpu_type": None,
    "autoscaling_target": None,
}
WORKER = {
    "cores_per_pods": 1,
    "memory_per_pods": 1,
    "min_pods": None,
    "max_pods": None,
    "node_capacity_type": None,
    "gpus": None,
}
WORKFLOW = {
    "schedule": None,
    "timezone": None,
    "head_node_config": {"cores": 1, "memory": 1, "node_capacity_type": None},
    "worker_node_config": None,
    "concurrency_policy": None,
    "retries": None,
}
# (method, path, body model, body): every Darwin request, every optional field null.
REQUESTS: list[tuple[str, str, type[BaseModel], dict[str, Any]]] = [
    (
        "POST",
        "/api/v1/environment",
        EnvironmentCreate,
        {
            "name": "prod",
            "environment_configs": CONFIGS,
            "backend": None,
            "ray_address": None,
            "ray_token": None,
            "cluster": None,
            "is_protected": None,
            "variables": None,
        },
    ),
    ("POST", "/api/v1/environment", EnvironmentCreate, {"name": "qa", "environment_configs": None}),
    (
        "PATCH",
        "/api/v1/environment/prod",
        EnvironmentUpdate,
        {
            "environment_configs": CONFIGS,
            "ray_address": None,
            "is_protected": None,
            "variables": None,
        },
    ),
    ("PATCH", "/api/v1/environment/prod", EnvironmentUpdate, {"environment_configs": None}),
    (
        "PATCH",
        "/api/v1/environment/prod",
        EnvironmentUpdate,
        {"environment_configs": {"gateway": GATEWAY}},
    ),
    (
        "POST",
        "/api/v1/environment",
        EnvironmentCreate,
        {"name": "gw", "environment_configs": {"gateway": GATEWAY}},
    ),
    (
        "POST",
        "/api/v1/serve",
        ServeCreate,
        {"name": "iris", "type": "api", "space": "ml", "description": None, "health_path": None},
    ),
    (
        "POST",
        "/api/v1/serve",
        ServeCreate,
        {"name": "etl", "type": "workflow", "space": "ml", "description": None},
    ),
    (
        "POST",
        "/api/v1/serve/iris/infra-config/prod",
        InfraConfigCreate,
        {
            "api_serve_config": {
                "backend_type": None,
                "additional_hosts": None,
                "fast_api_config": FAST_API,
            },
            "workflow_serve_config": None,
        },
    ),
    (
        "POST",
        "/api/v1/serve/etl/infra-config/prod",
        InfraConfigCreate,
        {"api_serve_config": None, "workflow_serve_config": {**WORKFLOW}},
    ),
    (  # the config exists by now (409): what counts is that the body was read
        "POST",
        "/api/v1/serve/etl/infra-config/prod",
        InfraConfigCreate,
        {"workflow_serve_config": {**WORKFLOW, "worker_node_config": [WORKER]}},
    ),
    (
        "PATCH",
        "/api/v1/serve/iris/infra-config/prod",
        InfraConfigPatch,
        {"api_serve_config": {"fast_api_config": FAST_API}, "workflow_serve_config": None},
    ),
    (
        "PATCH",
        "/api/v1/serve/etl/infra-config/prod",
        InfraConfigPatch,
        {
            "api_serve_config": None,
            "workflow_serve_config": {**WORKFLOW, "worker_node_config": [WORKER]},
        },
    ),
    (
        "POST",
        "/api/v1/artifact",
        ArtifactRegister,
        {
            "serve_name": "iris",
            "version": "v1",
            "github_repo_url": "https://github.com/org/iris.git",
            "branch": None,
            "file_path": None,
            "builder": None,
            "import_path": None,
        },
    ),
    (  # the git URL comes from the serve's previous build
        "POST",
        "/api/v1/artifact",
        ArtifactRegister,
        {"serve_name": "iris", "version": "v2", "github_repo_url": None},
    ),
    (
        "POST",
        "/api/v1/serve/iris/scaling-config",
        ScalingConfig,
        {"scaling_strategy": None, "scaling_factor": None, "scaling_ladder": None},
    ),
    (
        "POST",
        "/api/v1/serve/deploy-model",
        ModelDeployRequest,
        {
            "serve_name": "churn",
            "artifact_version": "v1",
            "model_uri": "s3://models/churn.joblib",
            "model_format": None,
            "env": "prod",
            "space": None,
            "cores": None,
            "memory": None,
            "node_capacity": None,
            "min_replicas": None,
            "max_replicas": None,
        },
    ),
    (
        "POST",
        "/api/v1/serve/churn/deploy",
        DeployRequest,
        {
            "env": "prod",
            "artifact_version": "v1",
            "api_serve_deployment_config": {
                "deployment_strategy": None,
                "deployment_strategy_config": None,
                "environment_variables": None,
                "args": None,
                "deployments": {
                    "Echo": {
                        "num_replicas": None,
                        "max_ongoing_requests": None,
                        "autoscaling_config": None,
                        "ray_actor_options": {
                            "num_cpus": None,
                            "num_gpus": None,
                            "memory": None,
                            "resources": None,
                        },
                        "user_config": None,
                    },
                    "Model": {"ray_actor_options": None},
                },
            },
            "workflow_serve_deployment_config": None,
        },
    ),
    (  # one deployment is in flight by now (409): what counts is that the body was read
        "POST",
        "/api/v1/serve/churn/deploy",
        DeployRequest,
        {
            "env": "prod",
            "artifact_version": "v1",
            "api_serve_deployment_config": None,
            "workflow_serve_deployment_config": {"input_parameters": None},
        },
    ),
    (
        "POST",
        "/api/v1/serve/churn/deploy",
        DeployRequest,
        {
            "env": "prod",
            "artifact_version": "v1",
            "api_serve_deployment_config": {"deployments": None},
        },
    ),
    (
        "POST",
        "/api/v1/serve/undeploy-model",
        ModelUndeployRequest,
        {"serve_name": "churn", "artifact_version": None, "env": "prod"},
    ),
]


async def test_every_darwin_request_takes_null_for_absent(
    api: httpx.AsyncClient, admin: str
) -> None:
    for method, path, _, body in REQUESTS:
        response = await api.request(method, path, json=body, headers=bearer(admin))
        assert response.status_code < 400 or response.status_code == 409, (
            method,
            path,
            response.text,
        )
    deploy = await api.post(
        "/api/v1/serve/churn/deploy",
        json={
            "env": "prod",
            "artifact_version": "v1",
            "workflow_serve_deployment_config": {"input_parameters": None},
        },
        headers=bearer(admin),
    )
    assert deploy.status_code == 409  # one deployment in flight already, not a 422


def _models(annotation: Any, path: str) -> list[tuple[type[BaseModel], str]]:
    """The models inside an annotation (``X | None``, ``list[X]``, ``dict[str, X]`` whose
    keys become ``*`` in the path, ``Annotated[X, …]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, path)]
    if typing.get_origin(annotation) is dict:
        return _models(typing.get_args(annotation)[1], f"{path}*.")
    return [found for arg in typing.get_args(annotation) for found in _models(arg, path)]


def _optional_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        if not field.is_required():
            paths.add(prefix + name)
        for inner, path in _models(field.annotation, f"{prefix}{name}."):
            paths |= _optional_paths(inner, path)
    return paths


def _null_paths(body: Any, prefix: str = "") -> set[str]:
    if isinstance(body, list):
        return {p for item in body for p in _null_paths(item, prefix)}
    if not isinstance(body, dict):
        return set()
    paths = set()
    for key, value in body.items():
        if value is None:
            paths.add(prefix + key)
        paths |= _null_paths(value, f"{prefix}{key}.")
    return paths


def test_the_requests_above_set_every_optional_field_to_null() -> None:
    """So that a new optional field cannot be left out of the test above."""
    wanted: dict[str, set[str]] = {}
    sent: dict[str, set[str]] = {}
    for _, _, model, body in REQUESTS:
        wanted.setdefault(model.__name__, set()).update(_optional_paths(model))
        sent.setdefault(model.__name__, set()).update(_null_paths(body))
    missing = {
        name: sorted(p for p in paths if not any(fnmatch(s, p) for s in sent[name]))
        for name, paths in wanted.items()
    }
    assert not {name: paths for name, paths in missing.items() if paths}
