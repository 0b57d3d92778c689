"""Request bodies are bounded: a body over the limit is refused with 413 while it is read,
never buffered whole first, and JSON is accepted only to a bounded depth."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galapagos_core.kernel.errors import GalapagosError, InvalidInput

MAX_JSON_DEPTH = 32


class BodyTooLarge(GalapagosError):
    status_code = 413
    default_code = "BODY_TOO_LARGE"


class UnsupportedMediaType(GalapagosError):
    status_code = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class BodyLimitMiddleware:
    """Counts body bytes as the application reads them and stops at ``max_bytes``; a
    declared ``Content-Length`` over it is refused before any byte is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > self.max_bytes
        seen = 0

        async def bounded_receive() -> Message:
            nonlocal seen
            if too_large:
                raise self._refusal()
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._refusal()
            return message

        await self.app(scope, bounded_receive, send)

    def _refusal(self) -> BodyTooLarge:
        return BodyTooLarge(
            f"the request body is larger than {self.max_bytes} bytes",
            max_bytes=self.max_bytes,
        )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def json_body(raw: bytes, content_type: str | None) -> bytes:
    """The JSON body to validate, or a clear 4xx for one that is not JSON or nests too
    deeply. An empty body stands for ``{}``; integral numbers written as ``2.0`` become
    ``2``, since JSON (and JSON Schema) make no difference between the two."""
    if not raw:
        return b"{}"
    if not _is_json(content_type or ""):
        raise UnsupportedMediaType(
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got '{content_type or 'none'}')",
            content_type=content_type,
        )
    try:
        document = json.loads(raw)
    except RecursionError:
        raise _invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _invalid_json("invalid JSON") from None
    if not _needs_rewrite(document):
        return raw
    return json.dumps(_integral(document)).encode()


def _needs_rewrite(document: Any) -> bool:
    """Refuse nesting deeper than MAX_JSON_DEPTH (no field of any request nests that far);
    say whether integral floats need rewriting."""
    integral_floats = False
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise _invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            pending.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
        elif isinstance(value, float) and value.is_integer():
            integral_floats = True
    return integral_floats


def _integral(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _integral(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_integral(child) for child in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _invalid_json(reason: str) -> InvalidInput:
    return InvalidInput(
        f"the request body is not acceptable JSON: {reason}",
        code="INVALID_JSON",
        errors=[{"loc": ["body"], "msg": reason, "type": "json_invalid"}],
    )
