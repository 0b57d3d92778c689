"""Declarative endpoints: parse → authorize → call one service → render.

Each endpoint declares its body, query and response models once; the same declaration
drives request validation, the envelope and the OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from galapagos_app.envelope import success
from galapagos_app.limits import json_body
from galapagos_app.state import AppState
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import InvalidInput, NotAuthenticated, NotFound
from galapagos_core.kernel.names import DNS_LABEL, USERNAME, VERSION
from galapagos_core.services import Services

B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)


class NoBody(BaseModel):
    pass


class NoQuery(BaseModel):
    pass


@dataclass(frozen=True)
class Call(Generic[B, Q]):
    """One parsed, authenticated API call, as handlers see it."""

    actor: Actor
    services: Services
    body: B
    query: Q
    path: dict[str, str]
    request: Request


Handler = Callable[[Call[Any, Any]], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status_code: int = 200
    message: str | None = None
    errors: tuple[int, ...] = ()
    # What a successful answer is when it is not the JSON envelope (a zip, plain text).
    media: str | None = None


@dataclass
class Router:
    """Collects endpoints of one feature; ``routes()`` turns them into Starlette routes."""

    tag: str
    endpoints: list[Endpoint] = field(default_factory=list)

    def add(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status_code: int = 200,
        errors: tuple[int, ...] = (),
        message: str | None = None,
        media: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=self.tag,
                    body=body,
                    query=query,
                    response=response,
                    status_code=status_code,
                    errors=errors,
                    message=message,
                    media=media,
                )
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, **options)


def _errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    return [
        {"loc": [where, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _invalid(errors: list[dict[str, Any]]) -> InvalidInput:
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return InvalidInput(f"invalid request: {fields}", errors=errors)


# What the names in paths may be; a path naming something no record can have is a 404.
_NAME = {"type": "string", "pattern": DNS_LABEL, "maxLength": 50}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "serve": _NAME,
    "env": _NAME,
    "name": _NAME,
    "project": _NAME,
    "username": {"type": "string", "pattern": USERNAME, "maxLength": 50},
    "version": {"type": "string", "pattern": VERSION, "maxLength": 64},
}
_PATH_PATTERNS = {
    name: (re.compile(schema["pattern"]), schema["maxLength"])
    for name, schema in PATH_PARAMETERS.items()
}


def _check_path(path: dict[str, str]) -> None:
    for name, value in path.items():
        rule = _PATH_PATTERNS.get(name)
        if rule is not None and (len(value) > rule[1] or not rule[0].fullmatch(value)):
            raise NotFound(f"no {name} is named '{value}'", code="NOT_FOUND", **{name: value})


async def _parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    body = json_body(await request.body(), request.headers.get("content-type"))
    try:
        # Strict: JSON types as the schema states them (no "1" for 1, no "yes" for true).
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise _invalid(_errors(exc, "body")) from None


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _invalid(_errors(exc, "query")) from None


def actor_of(request: Request) -> Actor:
    actor = getattr(request.user, "actor", None)
    if actor is None:
        raise NotAuthenticated(
            "authentication required: send 'Authorization: Bearer <token>'"
            if "authorization" not in request.headers
            else "the bearer token is invalid, expired or revoked"
        )
    return cast(Actor, actor)


def _runner(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        actor = actor_of(request)
        _check_path(request.path_params)
        body = await _parse_body(request, endpoint.body) if endpoint.body else NoBody()
        query = _parse_query(request, endpoint.query) if endpoint.query else NoQuery()
        state = cast(AppState, request.state)
        call: Call[Any, Any] = Call(
            actor=actor,
            services=state.services,
            body=body,
            query=query,
            path=dict(request.path_params),
            request=request,
        )
        result = await endpoint.handler(call)
        if isinstance(result, Response):
            return result
        return success(result, status_code=endpoint.status_code, message=endpoint.message)

    return run


def _route(path: str, endpoints: list[Endpoint]) -> Route:
    """One route per path, dispatching on the method, so a 405 lists every method in
    ``Allow``. It is named after the path's GET handler (for ``url_for``), if any."""
    runners = {e.method: _runner(e) for e in endpoints}

    async def dispatch(request: Request) -> Response:
        return await runners["GET" if request.method == "HEAD" else request.method](request)

    named = next((e for e in endpoints if e.method == "GET"), endpoints[0])
    return Route(path, dispatch, methods=list(runners), name=named.handler.__name__)


def routes(routers: list[Router]) -> list[Route]:
    by_path: dict[str, list[Endpoint]] = {}
    for router in routers:
        for endpoint in router.endpoints:
            by_path.setdefault(endpoint.path, []).append(endpoint)
    # Literal segments before parameters ("/serve/deploy-model" before "/serve/{serve}"), so
    # the route that answers a path, 405s included, is the one that names it.
    ordered = sorted(by_path, key=lambda path: [s.startswith("{") for s in path.split("/")])
    return [_route(path, by_path[path]) for path in ordered]
