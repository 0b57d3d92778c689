"""Cross-field rules of input models, stated in JSON Schema as well, so that the OpenAPI
document describes exactly what the validators enforce.

Each rule is a ``json_schema_extra`` hook: it reads the model's own property schemas and
restates them in the rule, so that a branch saying "given" means "given, and valid"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JsonDict = dict[str, Any]
Rule = Callable[[JsonDict], JsonDict]


def _non_null(schema: JsonDict, name: str) -> JsonDict:
    prop = schema.get("properties", {}).get(name, {})
    variants = [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def given(*names: str) -> Rule:
    """``names`` are present and not null."""
    return lambda schema: {
        "required": list(names),
        "properties": {name: _non_null(schema, name) for name in names},
    }


def absent(*names: str) -> Rule:
    """``names`` are absent or null."""
    return lambda schema: {"properties": {name: {"type": "null"} for name in names}}


def both(*rules: Rule) -> Rule:
    return lambda schema: {"allOf": [rule(schema) for rule in rules]}


def exactly_one_of(*names: str) -> Callable[[JsonDict], None]:
    """Exactly one of ``names`` is present and not null."""

    def extend(schema: JsonDict) -> None:
        schema["oneOf"] = [given(name)(schema) for name in names]

    return extend


def when(field: str, value: Any, then: Rule, otherwise: Rule) -> Callable[[JsonDict], None]:
    """``then`` applies when ``field`` is ``value`` or absent (its default; null counts as
    absent, as in Darwin's bodies), else ``otherwise``."""

    def extend(schema: JsonDict) -> None:
        schema["if"] = {"properties": {field: {"anyOf": [{"const": value}, {"type": "null"}]}}}
        schema["then"] = then(schema)
        schema["else"] = otherwise(schema)

    return extend
