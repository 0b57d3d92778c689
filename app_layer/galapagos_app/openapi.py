"""OpenAPI 3.1 document built from the endpoint declarations, and a Swagger UI page."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from galapagos_app.endpoints import PATH_PARAMETERS, Endpoint, Router
from galapagos_app.envelope import Envelope, ErrorEnvelope

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_ERROR_TEXT = {
    401: "missing or invalid bearer token",
    403: "not allowed",
    404: "not found, or not visible to the caller",
    409: "conflict",
    413: "the request body is larger than the limit",
    415: "the request body is not JSON",
    503: "a service the answer needs does not answer now; try again",
    422: "invalid request (field paths in error.params.errors)",
    502: "a service the platform reads from (Prometheus, a backend) failed",
}
_BINARY = {"type": "string", "format": "binary"}
_TEXT = {"type": "string"}


Schemas = dict[tuple[str, str], dict[str, Any]]  # by (endpoint, part): body, query, response


def _key(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path}"


def _schemas(endpoints: list[Endpoint]) -> tuple[Schemas, dict[str, Any]]:
    """Every endpoint's body, query and response schemas, and the components they refer to,
    made in one pass: a model whose input and output schemas differ is two components
    (``Name-Input``, ``Name-Output``), each referred to where it applies."""
    inputs: list[tuple[tuple[str, str], Any, TypeAdapter[Any]]] = [
        (("", "error"), "serialization", TypeAdapter(ErrorEnvelope))
    ]
    for endpoint in endpoints:
        key = _key(endpoint)
        if endpoint.query is not None:
            inputs.append(((key, "query"), "validation", TypeAdapter(endpoint.query)))
        if endpoint.body is not None:
            inputs.append(((key, "body"), "validation", TypeAdapter(endpoint.body)))
        if endpoint.media is None:
            data = endpoint.response
            envelope = Envelope[data] if data is not None else Envelope[None]  # type: ignore[valid-type]
            inputs.append(((key, "response"), "serialization", TypeAdapter(envelope)))
    keyed, defs = TypeAdapter.json_schemas(inputs, ref_template=_REF)
    return {key: schema for (key, _), schema in keyed.items()}, defs.get("$defs", {})


def _text_parameter(name: str, where: str) -> dict[str, Any]:
    return {"name": name, "in": where, "required": True, "schema": _TEXT}


def _operation(endpoint: Endpoint, schemas: Schemas) -> dict[str, Any]:
    names = _PARAM.findall(endpoint.path)
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(n, _TEXT)}
        for n in names
    ]
    if endpoint.query is not None:
        query_schema = schemas[_key(endpoint), "query"]
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if endpoint.media is not None:
        schema = _BINARY if endpoint.media == "application/zip" else {"type": "string"}
        content = {endpoint.media: {"schema": schema}}
    else:
        content = {"application/json": {"schema": schemas[_key(endpoint), "response"]}}
    responses: dict[str, Any] = {
        str(endpoint.status_code): {"description": "success", "content": content}
    }
    statuses = {401, 422, *endpoint.errors} | ({413, 415} if endpoint.body else set())
    if names:
        statuses.add(404)
    for status in sorted(statuses):
        responses[str(status)] = _error_response(status)
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
            # A body that may be "{}" may be left out.
            "required": not _accepts_empty(endpoint.body),
            "content": {"application/json": {"schema": schemas[_key(endpoint), "body"]}},
        }
    return operation


def _accepts_empty(model: type[BaseModel]) -> bool:
    try:
        model.model_validate_json(b"{}", strict=True)
    except ValidationError:
        return False
    return True


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorEnvelope")}}},
    }


def _fixed_paths() -> dict[str, dict[str, Any]]:
    """The routes outside the declared endpoints: health and signed package links."""
    return {
        "/healthcheck": {
            "get": {
                "operationId": "healthcheck",
                "summary": "Liveness and database check",
                "tags": ["health"],
                "security": [],
                "responses": {
                    status: {
                        "description": text,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"status": {"const": value}},
                                    "required": ["status"],
                                }
                            }
                        },
                    }
                    for status, text, value in (
                        ("200", "healthy", "ok"),
                        ("503", "the database does not answer", "unavailable"),
                    )
                },
            }
        },
        "/packages/{sha256}.zip": {
            "get": {
                "operationId": "linked_package",
                "summary": "A package through a signed, expiring link (an artifact's package_url)",
                "tags": ["artifacts"],
                "security": [],
                "parameters": [
                    {
                        "name": "sha256",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "expires",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "signature",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "the zip",
                        "content": {"application/zip": {"schema": _BINARY}},
                    },
                    "403": _error_response(403),
                    "404": _error_response(404),
                },
            }
        },
    }


def openapi_document(routers: list[Router], version: str) -> dict[str, Any]:
    endpoints = [endpoint for router in routers for endpoint in router.endpoints]
    schemas, components = _schemas(endpoints)
    paths = _fixed_paths()
    for endpoint in endpoints:
        path = _PARAM.sub(r"{\1}", endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
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
