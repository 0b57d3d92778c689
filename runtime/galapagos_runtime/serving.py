"""The generic model server: an ASGI app around one model (an object with ``predict``, or a
callable), speaking three dialects on every model:

- Darwin's runtime: ``GET /healthcheck``; ``POST /predict`` with ``{"features": {...}}`` (one
  row as ``name: value``, or columns as ``name: [values]``, or a list of rows) answers
  ``{"scores": [...]}``;
- KServe V1: ``GET /v1/models/{name}``, ``POST /v1/models/{name}:predict`` with
  ``{"instances": [...]}`` answers ``{"predictions": [...]}``;
- the Open Inference Protocol V2: ``GET /v2/health/live``, ``/v2/health/ready``,
  ``/v2/models/{name}``, ``/v2/models/{name}/ready``, ``POST /v2/models/{name}/infer``;

and ``POST /`` as before: ``{"instances": [...]}`` (or the body) answers
``{"predictions": [...]}`` for a model, whatever the callable returns otherwise.
Predictions run in a worker thread: the replica's event loop keeps taking requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def plain(value: Any) -> Any:
    """Predictions as JSON can carry them (numpy arrays, pandas objects → lists)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict(orient="records")
    return value


def _rows(features: Any) -> tuple[list[str] | None, list[list[Any]]]:
    """Darwin's features as (column names, rows)."""
    if isinstance(features, dict):
        names = list(features)
        values = list(features.values())
        if values and all(isinstance(v, list) for v in values):
            return names, [list(row) for row in zip(*values, strict=True)]
        return names, [values]
    if isinstance(features, list) and features and isinstance(features[0], dict):
        names = list(features[0])
        return names, [[row.get(name) for name in names] for row in features]
    return None, features if isinstance(features, list) else [features]


def _column_names(model: Any) -> list[str] | None:
    """The input columns a model knows by name: an MLflow model's signature, or sklearn's
    ``feature_names_in_``."""
    metadata = getattr(model, "metadata", None)
    schema = metadata.get_input_schema() if metadata is not None else None
    if schema is not None and schema.has_input_names():
        return list(schema.input_names())
    names = getattr(model, "feature_names_in_", None)
    return [str(name) for name in names] if names is not None else None


def _frame(names: list[str] | None, rows: list[Any]) -> Any:
    """``rows`` as a DataFrame when there are column names, else as they are."""
    if names is None:
        return rows
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=names)


class ModelEndpoints:
    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name
        self.columns = _column_names(model)

    def inputs(self, instances: Any) -> Any:
        """Instances as the model takes them: objects become rows of a frame, and rows get
        the model's column names when it has them."""
        if isinstance(instances, list) and instances and isinstance(instances[0], dict):
            names = list(instances[0])
            return _frame(names, [[row.get(n) for n in names] for row in instances])
        if isinstance(instances, list) and self.columns is not None:
            return _frame(self.columns, instances)
        return instances

    def predict(self, instances: Any) -> Any:
        if hasattr(self.model, "predict"):
            return plain(self.model.predict(self.inputs(instances)))
        return plain(self.model(instances))

    async def _run(self, instances: Any) -> Any:
        return await asyncio.to_thread(self.predict, instances)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def darwin_predict(self, request: Request) -> Response:
        body = await request.json()
        features = body.get("features") if isinstance(body, dict) else None
        if features is None:
            return JSONResponse({"error": 'send {"features": {...}}'}, status_code=400)
        names, rows = _rows(features)
        frame = _frame(names, rows) if names is not None else rows
        return JSONResponse({"scores": await self._run(frame)})

    async def v1_model(self, request: Request) -> Response:
        return JSONResponse({"name": self.name, "ready": True})

    async def v1_predict(self, request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or "instances" not in body:
            return JSONResponse({"error": 'send {"instances": [...]}'}, status_code=400)
        return JSONResponse({"predictions": await self._run(body["instances"])})

    async def ready(self, request: Request) -> Response:
        return JSONResponse({"ready": True})

    async def v2_model(self, request: Request) -> Response:
        return JSONResponse({"name": self.name, "versions": [], "platform": "galapagos"})

    async def v2_infer(self, request: Request) -> Response:
        body = await request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not inputs:
            return JSONResponse({"error": 'send {"inputs": [...]}'}, status_code=400)
        tensor = inputs[0]
        data, shape = tensor.get("data", []), tensor.get("shape") or []
        width = shape[-1] if len(shape) > 1 else 0
        rows = [data[i : i + width] for i in range(0, len(data), width)] if width else data
        outputs = await self._run(rows)
        flat = outputs if isinstance(outputs, list) else [outputs]
        return JSONResponse(
            {
                "model_name": self.name,
                "id": body.get("id"),
                "outputs": [
                    {
                        "name": "predict",
                        "shape": [len(flat)],
                        "datatype": _datatype(flat),
                        "data": flat,
                    }
                ],
            }
        )

    async def root(self, request: Request) -> Response:
        raw = await request.body()
        body = await request.json() if raw else {}
        if hasattr(self.model, "predict"):
            instances = body.get("instances", body) if isinstance(body, dict) else body
            return JSONResponse({"predictions": await self._run(instances)})
        return JSONResponse(await asyncio.to_thread(lambda: plain(self.model(body))))


def _datatype(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


class _ServiceRoot:
    """The service URL itself (``…/iris``, no trailing slash) is the app's ``/``: clients
    POST there, and a redirect would turn their POST into a GET."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == scope.get("root_path", ""):
            scope = {**scope, "path": scope["path"] + "/"}
        await self.app(scope, receive, send)


def model_app(model: Any, name: str) -> _ServiceRoot:
    """The three dialects (and ``POST /``) around ``model``."""
    m = ModelEndpoints(model, name)
    return _ServiceRoot(
        Starlette(
            routes=[
                Route("/healthcheck", m.health, methods=["GET"]),
                Route("/predict", m.darwin_predict, methods=["POST"]),
                Route("/v1/models/{name}", m.v1_model, methods=["GET"]),
                Route("/v1/models/{name}:predict", m.v1_predict, methods=["POST"]),
                Route("/v2/health/live", m.ready, methods=["GET"]),
                Route("/v2/health/ready", m.ready, methods=["GET"]),
                Route("/v2/models/{name}", m.v2_model, methods=["GET"]),
                Route("/v2/models/{name}/ready", m.ready, methods=["GET"]),
                Route("/v2/models/{name}/infer", m.v2_infer, methods=["POST"]),
                Route("/", m.root, methods=["POST"]),
            ]
        )
    )
