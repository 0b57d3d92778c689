"""The rules a virtual model and its backends keep, checked before anything is written."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from galapagos_core.virtual_models import errors
from galapagos_model.enums import BackendKind

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")  # no "/": it is a path segment
_BACKEND_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_name(name: str) -> None:
    if not _MODEL_NAME.match(name):
        raise errors.invalid_name(name)


def check_backend_name(name: str) -> None:
    if not _BACKEND_NAME.match(name):
        raise errors.invalid_backend_name(name)


def check_weight(weight: int) -> None:
    if not 0 <= weight <= 100:
        raise errors.invalid_weight(weight)


def check_priority(priority: int) -> None:
    if priority < 0:
        raise errors.invalid_priority(priority)


def backend_name(
    kind: BackendKind, base_url: str | None, serve: str | None, model: str | None
) -> str:
    """The name a backend gets when none is given: its host, its serve or its model, as a
    DNS label (``api.openai.com`` -> ``api-openai-com``)."""
    source = urlsplit(base_url or "").hostname if kind == BackendKind.EXTERNAL else None
    source = source or (serve if kind == BackendKind.SERVE else model) or kind.value
    slug = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
    return slug[:63].rstrip("-") or kind.value
