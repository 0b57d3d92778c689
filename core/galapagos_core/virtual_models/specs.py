"""Virtual-model requests. Names, weights and priorities are checked by the rules
(galapagos_core.virtual_models.rules), which answer with the virtual-model codes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from galapagos_core.kernel.names import ResourceName
from galapagos_core.kernel.schema_rules import absent, both, given
from galapagos_model.enums import BackendKind, VirtualModelStatus

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Number = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Url = Annotated[str, StringConstraints(max_length=1024, pattern=r"^https?://[^\s/?#]+[^\s?#]*$")]
ApiKey = Annotated[SecretStr, Field(max_length=4096)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VirtualModelCreate(Body):
    name: Name = Field(description="the model name clients send, e.g. chat-default")
    project: ResourceName
    description: Text | None = None


class VirtualModelUpdate(Body):
    description: Text | None = None
    status: VirtualModelStatus | None = None


_KIND_FIELDS = {
    BackendKind.EXTERNAL: ("base_url",),
    BackendKind.SERVE: ("serve",),
    BackendKind.MODEL: ("model_id",),
}


def _kind_rules(schema: dict[str, Any]) -> None:
    """The fields each kind takes, stated in the schema as the validator enforces them."""
    rules = []
    for kind, needed in _KIND_FIELDS.items():
        others = [f for k, fs in _KIND_FIELDS.items() if k != kind for f in fs]
        if kind != BackendKind.EXTERNAL:
            others.append("api_key")
        rules.append(
            {
                "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
                "then": both(given(*needed), absent(*others))(schema),
            }
        )
    schema["allOf"] = rules


class BackendCreate(Body):
    """``{kind: external, base_url, api_key?}``, ``{kind: serve, serve}`` or ``{kind: model,
    model_id}``, each with the model name sent upstream, a weight in its tier and a tier."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_rules)

    kind: BackendKind
    name: Name | None = Field(None, description="default: derived from the backend")
    base_url: Url | None = Field(None, description="external: the OpenAI-compatible base URL")
    api_key: ApiKey | None = Field(None, description="external: sent as a bearer token")
    serve: ResourceName | None = Field(None, description="serve: a serve of the same project")
    model_id: Name | None = Field(None, description="model: a model of the GPU catalog")
    namespace: Annotated[str, StringConstraints(max_length=63)] | None = None
    model_name_override: Name | None = Field(
        None, description="the model name sent upstream (default: the virtual name)"
    )
    weight: Number = Field(1, description="0 to 100: its share within its tier")
    priority: Number = Field(0, description="its tier: 0 first, then 1, 2...")

    @model_validator(mode="after")
    def _one_kind(self) -> BackendCreate:
        for kind, needed in _KIND_FIELDS.items():
            if kind == self.kind:
                missing = [f for f in needed if getattr(self, f) is None]
                if missing:
                    raise ValueError(f"a {kind.value} backend needs {', '.join(missing)}")
            else:
                extra = [f for f in needed if getattr(self, f) is not None]
                if extra:
                    raise ValueError(f"a {self.kind.value} backend takes no {', '.join(extra)}")
        if self.api_key is not None and self.kind != BackendKind.EXTERNAL:
            raise ValueError("only an external backend takes an api_key")
        return self


class BackendUpdate(Body):
    weight: Number | None = None
    priority: Number | None = None
    status: VirtualModelStatus | None = None
    api_key: ApiKey | None = Field(None, description="external: a new key (rotation)")
