"""Domain errors: each carries its HTTP status, a stable code and params; rendered in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class GalapagosError(Exception):
    """Base of every error a caller may see. ``message`` is safe to show to users."""

    status_code: ClassVar[int] = 500
    default_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConfigError(GalapagosError):
    default_code = "INVALID_CONFIGURATION"


class NotAuthenticated(GalapagosError):
    status_code = 401
    default_code = "UNAUTHENTICATED"


class PermissionDenied(GalapagosError):
    status_code = 403
    default_code = "PERMISSION_DENIED"


class NotFound(GalapagosError):
    status_code = 404
    default_code = "NOT_FOUND"


class Conflict(GalapagosError):
    status_code = 409
    default_code = "CONFLICT"


class Unavailable(GalapagosError):
    """A service the answer needs does not answer now; the caller may try again."""

    status_code = 503
    default_code = "UNAVAILABLE"


class InvalidInput(GalapagosError):
    """A well-formed request the domain rejects; ``errors`` lists field paths and reasons."""

    status_code = 422
    default_code = "VALIDATION_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, code=code, **params)
        self.errors = errors or []
