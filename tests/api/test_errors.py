"""Responses never leak internals: no ORM reprs, no tracebacks, no token hashes."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from galapagos_core.catalog.serves import ServeService
from tests.factories import Factory, bearer


async def test_unexpected_error_is_a_plain_500(
    api: httpx.AsyncClient, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM internals <Serve 123>")

    monkeypatch.setattr(ServeService, "list", explode)
    response = await api.get("/api/v1/serve", headers={**bearer(admin), "X-Request-ID": "boom-1"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == {"code": "INTERNAL_ERROR", "params": {"request_id": "boom-1"}}
    assert "SELECT" not in response.text
    assert "<Serve" not in response.text
    assert "Traceback" not in response.text


async def test_unknown_route_and_method_use_the_envelope(
    api: httpx.AsyncClient, admin: str
) -> None:
    missing = await api.get("/api/v1/nope", headers=bearer(admin))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ROUTE_NOT_FOUND"
    wrong = await api.put("/api/v1/serve", headers=bearer(admin))
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_responses_carry_no_orm_reprs(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    serve = await factory.serve("iris")
    await factory.api_config(serve, await factory.environment("prod"))
    for path in (
        "/api/v1/serve",
        "/api/v1/serve/iris",
        "/api/v1/environment/prod",
        "/api/v1/users/me",
        "/api/v1/tokens",
        "/api/v1/projects",
    ):
        text = (await api.get(path, headers=bearer(admin))).text
        assert "<Serve" not in text
        assert "<Environment" not in text
        assert "token_hash" not in text


async def test_openapi_and_docs(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/serve/{serve}/infra-config/{env}" in document["paths"]
    post = document["paths"]["/api/v1/serve"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]
    components = document["components"]["schemas"]
    assert set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document))) <= set(
        components
    )
    # A model read and written differently is two components, each where it applies: requests
    # take every spelling of a capacity, answers give the platform's own.
    written = components["FastApiConfig-Input"]["properties"]["node_capacity_type"]
    read = components["FastApiConfig-Output"]["properties"]["node_capacity_type"]
    assert "ondemand" in json.dumps(written)
    assert read["anyOf"][0] == {"$ref": "#/components/schemas/NodeCapacityType"}

    def ref(model: str) -> str:
        return str(components[model]["properties"]["fast_api_config"]["$ref"]).rsplit("/")[-1]

    assert (ref("ApiServeConfig"), ref("ApiInfraConfigRead")) == (
        "FastApiConfig-Input",
        "FastApiConfig-Output",
    )
    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert (await api.get("/docs/static/swagger-ui-bundle.js")).status_code == 200
