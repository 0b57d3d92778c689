"""The one place errors become responses: domain errors keep their code, nothing else leaks."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from galapagos_app.envelope import failure
from galapagos_core.kernel.errors import GalapagosError, InvalidInput, NotAuthenticated

_HTTP_CODES = {404: "ROUTE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GalapagosError)
    params = dict(exc.params)
    if isinstance(exc, InvalidInput):
        params["errors"] = exc.errors
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    return failure(exc.status_code, exc.code, exc.message, params, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return failure(exc.status_code, code, str(exc.detail), headers=exc.headers)


EXCEPTION_HANDLERS = {
    GalapagosError: domain_error,
    HTTPException: http_error,
}
