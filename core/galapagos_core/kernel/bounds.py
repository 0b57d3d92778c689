"""Bounds on free-form input: maps a caller fills as it likes are still finite in size,
depth and number of keys, so nothing a user stores can grow every later response."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

# RFC 1123 host names: dot-separated labels of letters, digits and '-', at most 253 characters.
HOSTNAME = (
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
Hostname = Annotated[str, StringConstraints(pattern=HOSTNAME, min_length=1, max_length=253)]


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, level + 1) for child in item)
    return deepest


def limited(*, max_bytes: int, max_depth: int) -> Callable[[Any], Any]:
    """A validator refusing values whose JSON is larger than ``max_bytes`` or nests deeper
    than ``max_depth``."""

    def check(value: Any) -> Any:
        if _depth(value) > max_depth:
            raise ValueError(f"nests deeper than {max_depth} levels")
        size = len(json.dumps(value, separators=(",", ":")).encode())
        if size > max_bytes:
            raise ValueError(f"is {size} bytes as JSON; at most {max_bytes} are kept")
        return value

    return check


# A JSON object a caller fills as it likes (strategy options, input parameters, patches).
FreeForm = Annotated[
    dict[str, Any],
    Field(max_length=64, description="at most 64 keys, 16 KiB as JSON, 6 levels deep"),
    AfterValidator(limited(max_bytes=16384, max_depth=6)),
]
