"""The generic model server: one Ray Serve deployment, named ``model``, that serves either a
model file (``model_uri`` + ``model_format``) or a Python callable from a package
(``target``, e.g. ``main:Model``). The platform deploys it with ``import_path
galapagos_runtime.serving:build_app`` and these as ``args``.

Requests: ``POST`` a JSON body. Objects with ``predict`` receive ``body["instances"]`` (or the
body) and answer ``{"predictions": [...]}``; other callables receive the body and answer
whatever they return.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ray import serve
from ray.serve import Application
from starlette.requests import Request

from galapagos_runtime.loading import load_callable, load_model


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


@serve.deployment(name="model")
class ModelServer:
    def __init__(self, source: dict[str, Any]) -> None:
        if source.get("model_uri"):
            self.model = load_model(source["model_uri"], source.get("model_format", "sklearn"))
        else:
            self.model = load_callable(source["target"])

    async def __call__(self, request: Request) -> Any:
        body = await request.json() if await request.body() else {}
        return await asyncio.to_thread(self.predict, body)

    def predict(self, body: Any) -> Any:
        if hasattr(self.model, "predict"):
            instances = body.get("instances", body) if isinstance(body, dict) else body
            return {"predictions": _plain(self.model.predict(instances))}
        return _plain(self.model(body))


def build_app(args: dict[str, Any]) -> Application:
    """Ray Serve application builder: ``args`` as described above."""
    return ModelServer.bind({k: v for k, v in args.items() if not k.startswith("_")})
