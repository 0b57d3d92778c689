"""Darwin-compatible request bodies: Darwin's client sends ``null`` for every optional field it
has no value for, and means "absent" by it, so such a field takes its default. A ``null`` for a
required field is still an error. The JSON Schema says so too (optional fields admit null)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _admit_null(schema: dict[str, Any]) -> None:
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        variants = prop.get("anyOf", [prop])
        if name in required or any(v.get("type") == "null" for v in variants):
            continue
        keep = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
        schema["properties"][name] = {"anyOf": [prop, {"type": "null"}], **keep}


class DarwinBody(BaseModel):
    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        _admit_null(handler.resolve_ref_schema(schema))
        return schema

    @model_validator(mode="before")
    @classmethod
    def _null_means_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if value is not None or not _takes_default(cls, key)
        }


def _takes_default(model: type[BaseModel], key: str) -> bool:
    field = model.model_fields.get(key)
    return field is not None and not field.is_required()
