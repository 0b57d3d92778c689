"""Model artifacts on a real local Ray: an MLflow scikit-learn model, deployed with Darwin's
one-click request, answers Darwin's runtime, KServe V1 and the Open Inference Protocol V2 with
the model's own numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import mlflow.sklearn
import pandas
import pytest
from sklearn.linear_model import LogisticRegression

from galapagos_core.worker import Worker
from tests.factories import bearer

pytestmark = [
    pytest.mark.ray,
    # MLflow's own notes while it saves a model: not ours to change.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [4.9, 3.0, 1.4, 0.2], [6.3, 2.9, 5.6, 1.8]]


def _model(folder: Path) -> tuple[Path, Any]:
    frame = pandas.DataFrame(ROWS, columns=COLUMNS)
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    path = folder / "iris-mlflow"
    mlflow.sklearn.save_model(model, path, input_example=frame.head(1))
    return path, model


async def _one_click(
    api: httpx.AsyncClient, headers: dict[str, str], model_uri: str, **extra: Any
) -> str:
    """Darwin's one-click deploy of an MLflow model as iris v1 on local Ray; its URL."""
    deployed = await api.post(
        "/api/v1/serve/deploy-model?wait=true&timeout=240",
        headers=headers,
        json={
            "serve_name": "iris",
            "artifact_version": "v1",
            "model_uri": model_uri,
            "model_format": "mlflow",
            "env": "local",
            "cores": 0.1,
            "memory": 0.5,
            "min_replicas": 1,
            "max_replicas": 1,
            **extra,
        },
    )
    assert deployed.status_code == 200, deployed.text
    result = deployed.json()["data"]
    assert result["status"] == "ACTIVE", result
    return str(result["service_url"])


async def test_an_mlflow_model_answers_three_dialects(
    api: httpx.AsyncClient, admin: str, running: Worker, tmp_path: Path
) -> None:
    path, model = _model(tmp_path)
    expected_scores = model.predict(pandas.DataFrame(ROWS, columns=COLUMNS)).tolist()
    h = bearer(admin)
    await api.post("/api/v1/environment", headers=h, json={"name": "local", "ray_address": "local"})
    # Darwin's one-click body, as its client sends it (nulls for what it has no value for).
    url = await _one_click(api, h, f"file://{path}", node_capacity="ondemand", space=None)
    async with httpx.AsyncClient(timeout=60) as client:
        health = await client.get(f"{url}/healthcheck")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})

        darwin = await client.post(
            f"{url}/predict",
            json={"features": {name: [row[i] for row in ROWS] for i, name in enumerate(COLUMNS)}},
        )
        assert darwin.json() == {"scores": expected_scores}
        one_row = await client.post(
            f"{url}/predict", json={"features": dict(zip(COLUMNS, ROWS[1], strict=True))}
        )
        assert one_row.json() == {"scores": expected_scores[1:2]}

        v1 = await client.post(f"{url}/v1/models/iris:predict", json={"instances": ROWS})
        assert v1.json() == {"predictions": expected_scores}
        v1_objects = await client.post(
            f"{url}/v1/models/iris:predict",
            json={"instances": [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]},
        )
        assert v1_objects.json() == {"predictions": expected_scores}
        assert (await client.get(f"{url}/v1/models/iris")).json()["ready"] is True

        assert (await client.get(f"{url}/v2/health/ready")).status_code == 200
        assert (await client.get(f"{url}/v2/models/iris")).json()["name"] == "iris"
        v2 = await client.post(
            f"{url}/v2/models/iris/infer",
            json={
                "id": "r1",
                "inputs": [
                    {
                        "name": "input-0",
                        "shape": [len(ROWS), len(COLUMNS)],
                        "datatype": "FP64",
                        "data": [x for row in ROWS for x in row],
                    }
                ],
            },
        )
        [output] = v2.json()["outputs"]
        assert (v2.json()["id"], output["data"], output["shape"]) == (
            "r1",
            expected_scores,
            [len(ROWS)],
        )
        assert output["datatype"] == "INT64"

        legacy = await client.post(url, json={"instances": ROWS})  # POST / as before
        assert legacy.json() == {"predictions": expected_scores}
    undeployed = await api.post(
        "/api/v1/serve/undeploy-model",
        headers=h,
        json={"serve_name": "iris", "artifact_version": "v1", "env": "local"},
    )
    assert undeployed.status_code == 200, undeployed.text


async def test_a_registered_model_loads_through_the_environments_tracking_server(
    api: httpx.AsyncClient,
    admin: str,
    running: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``models:/name/version`` resolved by MLflow on the replica, with the tracking URI the
    environment's variables give every workload there."""
    tracking = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the registry MLflow-skinny runs
    frame = pandas.DataFrame(ROWS, columns=COLUMNS)
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    mlflow.set_tracking_uri(tracking)
    try:
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name="iris", input_example=frame.head(1)
            )
    finally:
        mlflow.set_tracking_uri(None)
    h = bearer(admin)
    variables = {"MLFLOW_TRACKING_URI": tracking, "MLFLOW_ALLOW_FILE_STORE": "true"}
    await api.post(
        "/api/v1/environment",
        headers=h,
        json={"name": "local", "ray_address": "local", "variables": variables},
    )
    url = await _one_click(api, h, "models:/iris/1")
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(f"{url}/v1/models/iris:predict", json={"instances": ROWS})
    assert answer.json() == {"predictions": model.predict(frame).tolist()}
    await api.post(
        "/api/v1/serve/undeploy-model",
        headers=h,
        json={"serve_name": "iris", "artifact_version": "v1", "env": "local"},
    )
