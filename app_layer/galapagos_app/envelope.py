"""Darwin's response envelope: ``{"status", "data", "message"}``, plus ``error`` on failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from starlette.responses import Response

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    status: Literal["SUCCESS"] = "SUCCESS"
    data: T
    message: str | None = None


class ErrorDetail(BaseModel):
    code: str
    params: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    status: Literal["ERROR"] = "ERROR"
    data: Any = None
    message: str
    error: ErrorDetail


class JsonResponse(Response):
    media_type = "application/json"


# Parametrised once, not per response: the subscript is a costly lookup in pydantic.
_AnyEnvelope = Envelope[Any]


def success(data: Any, *, status_code: int = 200, message: str | None = None) -> Response:
    body = _AnyEnvelope(data=data, message=message)
    return JsonResponse(body.model_dump_json(), status_code=status_code)


def failure(
    status_code: int,
    code: str,
    message: str,
    params: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = ErrorEnvelope(message=message, error=ErrorDetail(code=code, params=params or {}))
    return JsonResponse(body.model_dump_json(), status_code=status_code, headers=headers)
