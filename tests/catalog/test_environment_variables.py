"""An environment's variables: every workload there gets them (a deployment's own win), secret
values are sealed at rest, never returned, and re-sealed by key rotation; model artifacts an
environment's backend cannot serve are refused at deploy time."""

from __future__ import annotations

from typing import Any

import httpx

from galapagos_core.catalog.environments import EnvironmentService, variables_owner
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.secrets import SecretBox, new_key_spec, parse_keys
from galapagos_core.kernel.variables import unseal
from galapagos_core.services import secret_box
from galapagos_model.artifacts import Artifact
from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Workload
from galapagos_model.enums import ArtifactKind
from tests.deployments.test_deploy_requests import _ready_to_deploy
from tests.factories import Factory, bearer


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_variables_reach_every_workload_and_secrets_stay_sealed(
    api: httpx.AsyncClient, admin: str, factory: Factory, server: tuple[str, Any]
) -> None:
    h = bearer(admin)
    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=h,
            json={
                "name": "staging",
                "ray_address": "local",
                "variables": {
                    "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
                    "MLFLOW_TRACKING_TOKEN": "tok-123",
                },
            },
        )
    )
    read = await _ok(await api.get("/api/v1/environment/staging", headers=h))
    assert read["variables"] == {
        "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
        "MLFLOW_TRACKING_TOKEN": "***",
    }
    stored = await Environment.get(name="staging")
    assert "tok-123" not in str(stored.variables)
    assert all("tok-123" not in str(entry.after) for entry in await AuditLog.all())

    await _ready_to_deploy(factory, stored, model_uri="models:/iris/1", model_format="mlflow")
    deployed = await _ok(
        await api.post(
            "/api/v1/serve/iris/deploy",
            headers=h,
            json={
                "env": "staging",
                "artifact_version": "v1",
                "api_serve_deployment_config": {
                    "environment_variables": {
                        "MLFLOW_TRACKING_URI": "http://other:5000",
                        "LOG_LEVEL": "debug",
                    }
                },
            },
        )
    )
    services = server[1].state["services"]
    workload = await Workload.get(serve__name="iris")
    assert "tok-123" not in str(workload.spec)
    assert services.env_secrets.open_spec(workload.spec).environment_values == {
        "MLFLOW_TRACKING_URI": "http://other:5000",  # the deployment's own wins
        "MLFLOW_TRACKING_TOKEN": "tok-123",
        "LOG_LEVEL": "debug",
    }
    detail = await _ok(
        await api.get(f"/api/v1/serve/iris/deployments/{deployed['deployment_id']}", headers=h)
    )
    # What the deployment itself was given (and what carries over): not the environment's.
    assert detail["environment_variables"] == {
        "MLFLOW_TRACKING_URI": "http://other:5000",
        "LOG_LEVEL": "debug",
    }

    changed = await _ok(
        await api.patch(
            "/api/v1/environment/staging",
            headers=h,
            json={"variables": {"MLFLOW_TRACKING_TOKEN": None, "REGION": "eu"}},
        )
    )
    assert changed["variables"] == {
        "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
        "REGION": "eu",
    }
    bad = await api.patch(
        "/api/v1/environment/staging", headers=h, json={"variables": {"1BAD": "x"}}
    )
    assert bad.status_code == 422


async def test_secret_variables_are_resealed_by_key_rotation(
    settings: Settings, api: httpx.AsyncClient, admin: str
) -> None:
    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=bearer(admin),
            json={"name": "staging", "variables": {"DB_PASSWORD": "hunter2", "REGION": "eu"}},
        )
    )
    old = secret_box(settings)
    both = SecretBox({"k2": parse_keys(new_key_spec("k2"))["k2"], **old.keys})
    assert await EnvironmentService(both).rotate() == 1
    assert await EnvironmentService(both).rotate() == 0  # nothing left to re-seal
    stored = await Environment.get(name="staging")
    assert stored.variables is not None
    assert stored.variables["DB_PASSWORD"].startswith("v1:k2:")
    only_new = SecretBox({"k2": both.keys["k2"]})
    assert unseal(only_new, variables_owner(stored.id), stored.variables) == {
        "DB_PASSWORD": "hunter2",
        "REGION": "eu",
    }


async def test_models_a_backend_cannot_serve_are_refused(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    h = bearer(admin)
    ray = await factory.environment("local")
    ray.ray_address = "local"
    await ray.save()
    serve = await factory.serve("iris")
    await factory.api_config(serve, ray)
    for version, uri, model_format in (
        ("v1", "s3://models/iris", "huggingface"),
        ("v2", "models:/iris/1", "mlflow"),
    ):
        await Artifact.create(
            serve=serve,
            version=version,
            kind=ArtifactKind.MODEL,
            model_uri=uri,
            model_format=model_format,
        )
    refused = await api.post(
        "/api/v1/serve/iris/deploy", headers=h, json={"env": "local", "artifact_version": "v1"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "MODEL_FORMAT_UNSUPPORTED"

    kserve = await factory.environment("kserve-prod")
    kserve.backend = "kserve"
    await kserve.save()
    await factory.api_config(serve, kserve)
    registry_uri = await api.post(
        "/api/v1/serve/iris/deploy",
        headers=h,
        json={"env": "kserve-prod", "artifact_version": "v2"},
    )
    assert registry_uri.status_code == 422
    assert registry_uri.json()["error"]["code"] == "MODEL_URI_UNSUPPORTED"
    assert "models:/iris/1" in registry_uri.json()["message"]
