"""OpenAPI 3.1 document built from the endpoint declarations, and a Swagger UI page."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from galapagos_app.endpoints import Endpoint, Router
from galapagos_app.envelope import Envelope, ErrorEnvelope

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_ERROR_TEXT = {
    401: "missing or invalid bearer token",
    403: "not allowed",
    404: "not found, or not visible to the caller",
    409: "conflict",
    422: "invalid request (field paths in error.params.errors)",
}


def _schema(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(ref_template=_REF, mode="serialization")
    components.update(schema.pop("$defs", {}))
    return schema


def _input_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode="validation")
    components.update(schema.pop("$defs", {}))
    return schema


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        query_schema = _input_schema(endpoint.query, components)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    envelope = Envelope[endpoint.response] if endpoint.response is not None else Envelope[None]  # type: ignore[name-defined]
    responses: dict[str, Any] = {
        str(endpoint.status_code): {
            "description": "success",
            "content": {"application/json": {"schema": _schema(envelope, components)}},
        }
    }
    error_ref = {"$ref": _REF.format(model="ErrorEnvelope")}
    for status in (401, 403, 404, 409, 422):
        if status in endpoint.errors or status in (401, 422):
            responses[str(status)] = {
                "description": _ERROR_TEXT[status],
                "content": {"application/json": {"schema": error_ref}},
            }
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}],
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _input_schema(endpoint.body, components)}},
        }
    return operation


def openapi_document(routers: list[Router], version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    _, defs = models_json_schema([(ErrorEnvelope, "serialization")], ref_template=_REF)
    components.update(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {
        "/healthcheck": {
            "get": {
                "operationId": "healthcheck",
                "summary": "Liveness and database check",
                "tags": ["health"],
                "security": [],
                "responses": {"200": {"description": "healthy"}},
            }
        }
    }
    for router in routers:
        for endpoint in router.endpoints:
            path = _PARAM.sub(r"{\1}", endpoint.path)
            paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Galápagos",
            "version": version,
            "description": "Control plane for serving ML models (Darwin ML Serve compatible).",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_endpoint(document: dict[str, Any]) -> Any:
    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    return openapi


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Galápagos API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>"""


async def docs(request: Request) -> Response:
    return HTMLResponse(DOCS_HTML)
