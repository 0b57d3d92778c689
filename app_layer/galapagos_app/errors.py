"""The one place errors become responses: domain errors keep their code and parameters,
HTTP errors get one, and nothing else leaks (an unexpected error shows only the request id).
The exception handlers, the authentication middleware and the request-context middleware
all answer through :func:`render`."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from galapagos_app.envelope import failure
from galapagos_core.kernel.errors import GalapagosError, InvalidInput, NotAuthenticated

_HTTP_CODES = {404: "ROUTE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def render(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return failure(exc.status_code, code, str(exc.detail), headers=exc.headers)
    if not isinstance(exc, GalapagosError):
        raise TypeError(f"not an error the API renders: {type(exc).__name__}")
    params = dict(exc.params)
    if isinstance(exc, InvalidInput):
        params["errors"] = exc.errors
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    return failure(exc.status_code, exc.code, exc.message, params, headers=headers)


def unexpected(request_id: str) -> Response:
    """The answer to an error nobody expected: no internals, the id to quote."""
    return render(
        GalapagosError(
            f"internal error; quote request id {request_id} when reporting it",
            request_id=request_id,
        )
    )


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    """The authentication middleware's refusals."""
    return render(NotAuthenticated(str(exc)))


async def _handle(request: Request, exc: Exception) -> Response:
    return render(exc)


EXCEPTION_HANDLERS = {GalapagosError: _handle, HTTPException: _handle}
