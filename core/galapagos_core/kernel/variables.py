"""Environment variables handed to workloads: bounded names and values, and the values of
secret-looking names (``*_TOKEN``, ``*_PASSWORD``, ``*_KEY``…) sealed at rest, each bound to
its owner and name, opened only to render a workload."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

from galapagos_core.kernel.audit import redact
from galapagos_core.kernel.secrets import SecretBox

ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_VARIABLES = 128
_NAME_SCHEMA = {"pattern": ENV_VAR_NAME, "maxLength": 128}
_VALUE_SCHEMA = {"type": "string", "maxLength": 8192}
_Name = Annotated[str, Field(pattern=ENV_VAR_NAME, max_length=128)]
_Value = Annotated[str, Field(max_length=8192)]

EnvVars = Annotated[
    dict[_Name, _Value],
    Field(max_length=MAX_VARIABLES),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_VARIABLES,
            "propertyNames": _NAME_SCHEMA,
            "additionalProperties": _VALUE_SCHEMA,
        },
        mode="validation",
    ),
]
# Changes to merge: a value sets the variable, null removes it.
EnvVarChanges = Annotated[
    dict[_Name, _Value | None],
    Field(max_length=MAX_VARIABLES),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_VARIABLES,
            "propertyNames": _NAME_SCHEMA,
            "additionalProperties": {"anyOf": [_VALUE_SCHEMA, {"type": "null"}]},
        },
        mode="validation",
    ),
]


def is_secret(name: str) -> bool:
    return bool(redact({name: "x"})[name] != "x")


def _context(owner: str, name: str) -> str:
    return f"{owner}:env:{name}"


def seal(box: SecretBox, owner: str, values: dict[str, str]) -> dict[str, str]:
    """``values`` as stored: secret ones sealed for ``owner`` (``deployment:<id>``…)."""
    return {
        name: box.seal(value, _context(owner, name)) if is_secret(name) else value
        for name, value in values.items()
    }


def unseal(box: SecretBox, owner: str, values: dict[str, str]) -> dict[str, str]:
    """Stored ``values`` of ``owner``, opened."""
    return {
        name: box.open(value, _context(owner, name)) if is_secret(name) else value
        for name, value in values.items()
    }


def reseal(box: SecretBox, owner: str, values: dict[str, str]) -> dict[str, str] | None:
    """Stored ``values`` sealed again under the current key, or None when none needs it."""
    if not any(is_secret(n) and box.needs_rotation(v) for n, v in values.items()):
        return None
    return seal(box, owner, unseal(box, owner, values))
