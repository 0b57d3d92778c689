"""What an import path names decides how it runs (galapagos_runtime.apps.kind_of)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from galapagos_runtime.apps import MODEL_SERVER_MAX_ONGOING_REQUESTS, Kind, build_app, kind_of
from ray import serve
from ray.serve import Application
from starlette.applications import Starlette


@serve.deployment
class Echo:
    async def __call__(self, request: Any) -> str:
        return "echo"


def builder(args: dict[str, Any]) -> Application:
    return Echo.bind()


def builder_postponed(args: dict[str, Any]) -> serve.Application:  # a dotted name
    return Echo.bind()


def not_a_builder(args: dict[str, Any]) -> dict[str, Any]:
    return args


async def raw_asgi(scope: Any, receive: Any, send: Any) -> None:
    return None


class AsgiClass:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


class Model:
    def predict(self, rows: list[Any]) -> list[int]:
        return [0 for _ in rows]


async def async_handler(body: Any) -> Any:
    return body


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        (Echo.bind(), Kind.APPLICATION),
        (builder, Kind.BUILDER),
        (builder_postponed, Kind.BUILDER),
        (Echo, Kind.DEPLOYMENT),
        (FastAPI(), Kind.ASGI),
        (Starlette(), Kind.ASGI),
        (raw_asgi, Kind.ASGI),
        (AsgiClass(), Kind.ASGI),
        (AsgiClass, Kind.PYTHON),  # a class to instantiate, not an app
        (Model, Kind.PYTHON),
        (Model(), Kind.PYTHON),
        (not_a_builder, Kind.PYTHON),
        (async_handler, Kind.PYTHON),  # one argument: a handler, not ASGI
        (len, Kind.PYTHON),
    ],
)
def test_kind_of(obj: Any, kind: Kind) -> None:
    assert kind_of(obj) == kind


api_app = FastAPI()


def test_the_model_server_takes_more_requests_than_rays_default_and_ingress_options_apply() -> None:
    ingress = {"num_replicas": 2, "ray_actor_options": {"num_cpus": 0.5}}
    model = build_app(
        {
            "model": {"uri": "s3://m/iris.joblib", "format": "sklearn"},
            "name": "iris",
            "ingress": ingress,
        }
    )._bound_deployment
    assert (model.name, model.num_replicas) == ("model", 2)
    assert model.ray_actor_options["num_cpus"] == 0.5
    assert model.max_ongoing_requests == MODEL_SERVER_MAX_ONGOING_REQUESTS
    plain = build_app({"target": f"{__name__}:Model", "name": "iris"})._bound_deployment
    assert plain.max_ongoing_requests == MODEL_SERVER_MAX_ONGOING_REQUESTS
    # Users' own apps keep Ray's defaults unless the deploy names options for them.
    asgi = build_app({"target": f"{__name__}:api_app", "name": "web"})._bound_deployment
    assert (asgi.name, asgi.max_ongoing_requests) == ("app", Echo.max_ongoing_requests)
