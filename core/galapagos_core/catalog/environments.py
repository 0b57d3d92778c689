"""Environments: where serves run. Platform admins manage them; every user may read them."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field, SecretStr, model_validator
from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.errors import cluster_not_found, environment_not_found
from galapagos_core.kernel import audit, variables
from galapagos_core.kernel.access import require_admin
from galapagos_core.kernel.actor import CLI, Actor
from galapagos_core.kernel.audit import redact
from galapagos_core.kernel.darwin import DarwinBody
from galapagos_core.kernel.errors import Conflict
from galapagos_core.kernel.names import ResourceName
from galapagos_core.kernel.schema_rules import absent, both, given, when
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.kernel.transactions import transactional
from galapagos_core.kernel.variables import EnvVarChanges, EnvVars
from galapagos_model.base import uuid7
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend
from galapagos_model.queries import clusters as cluster_queries
from galapagos_model.queries import environments as environment_queries
from galapagos_model.queries.paging import Page, PageRequest

_EXTRA_KEYS = 32
_KEYS = 8 + _EXTRA_KEYS  # Darwin's seven, the gateway, and extras
# Values of keys beyond Darwin's own: text, numbers, flags, or short lists of text.
ExtraValue = (
    Annotated[str, Field(max_length=1024)]
    | int
    | float
    | bool
    | None
    | Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=64)]
)


class GatewayRef(DarwinBody):
    """The Gateway API Gateway a KServe environment's traffic routes attach to."""

    name: str = Field(min_length=1, max_length=253)
    namespace: str | None = Field(None, max_length=63, description="the route's own if absent")
    domain: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$",
        description="a serve answers on <serve>.<domain>",
    )


class EnvironmentConfigs(DarwinBody):
    """Darwin's ``environment_configs``; unknown keys are kept as given, within bounds."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "maxProperties": _KEYS,
            "propertyNames": {"maxLength": 64},
        },
    )
    __pydantic_extra__: dict[str, ExtraValue]

    domain_suffix: str | None = Field(None, max_length=255)
    cluster_name: str | None = Field(None, max_length=255)
    namespace: str | None = Field(None, max_length=63)
    security_group: str | None = Field(None, max_length=255)
    subnets: Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=64)] | (
        Annotated[str, Field(max_length=1024)] | None
    ) = None
    ft_redis_url: str | None = Field(None, max_length=1024)
    workflow_url: str | None = Field(None, max_length=1024)
    gateway: GatewayRef | None = Field(
        None, description="kserve: the Gateway that routes a serve's traffic variants"
    )

    @model_validator(mode="after")
    def _bounded_extras(self) -> EnvironmentConfigs:
        extra = self.model_extra or {}
        if len(self.model_fields_set) + len(extra) > _KEYS:
            raise ValueError(f"at most {_KEYS} keys are kept")
        if any(len(key) > 64 for key in extra):
            raise ValueError("keys are at most 64 characters")
        return self


class EnvironmentCreate(DarwinBody):
    model_config = ConfigDict(
        json_schema_extra=when(
            "backend",
            EnvironmentBackend.RAY.value,
            absent("cluster"),
            both(given("cluster"), absent("ray_address", "ray_token")),
        )
    )

    name: ResourceName
    environment_configs: EnvironmentConfigs = EnvironmentConfigs()
    backend: EnvironmentBackend = EnvironmentBackend.RAY
    ray_address: str | None = Field(
        None,
        max_length=255,
        description="Ray dashboard URL, or 'local' for a Ray the platform starts",
    )
    ray_token: SecretStr | None = Field(
        None, max_length=4096, description="the Ray dashboard's bearer token"
    )
    cluster: ResourceName | None = Field(None, description="for kuberay and kserve: the cluster")
    is_protected: bool = False
    variables: EnvVars | None = Field(
        None,
        description="environment variables every workload here gets (secret-looking values "
        "are stored encrypted and never returned)",
    )

    @model_validator(mode="after")
    def _backend_settings(self) -> EnvironmentCreate:
        if self.backend == EnvironmentBackend.RAY:
            if self.cluster is not None:
                raise ValueError("the 'ray' backend takes ray_address, not cluster")
        elif self.ray_address is not None or self.ray_token is not None:
            raise ValueError("ray_address and ray_token apply only to the 'ray' backend")
        elif self.cluster is None:
            raise ValueError(f"the '{self.backend.value}' backend needs a cluster")
        return self


class EnvironmentUpdate(DarwinBody):
    """Changes to merge. Darwin's clients send the config keys at the top level; both work."""

    model_config = ConfigDict(extra="forbid")

    environment_configs: EnvironmentConfigs | None = None
    ray_address: str | None = Field(None, max_length=255)
    is_protected: bool | None = None
    variables: EnvVarChanges | None = Field(
        None, description="variables to set; a variable set to null is removed"
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_flat_config_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        flat = {k: data[k] for k in EnvironmentConfigs.model_fields if k in data}
        if not flat:
            return data
        rest = {k: v for k, v in data.items() if k not in flat}
        nested = rest.get("environment_configs") or {}
        if not isinstance(nested, dict):
            return data
        return {**rest, "environment_configs": {**flat, **nested}}


def _snapshot(environment: Environment) -> dict[str, Any]:
    return {
        "environment_configs": environment.env_configs,
        "backend": environment.backend.value,
        "ray_address": environment.ray_address,
        "is_protected": environment.is_protected,
        "variables": redact(environment.variables or {}),
    }


def variables_owner(environment_id: UUID) -> str:
    """Whom an environment's sealed variables are bound to."""
    return f"environment:{environment_id}"


async def environment_named(name: str) -> Environment:
    """The environment called ``name``, or 404 ENVIRONMENT_NOT_FOUND."""
    environment = await environment_queries.environment_by_name(name)
    if environment is None:
        raise environment_not_found(name)
    return environment


async def ensure_local_environment() -> None:
    """The embedded default's environment: Ray on this machine, started on first use."""
    if await environment_queries.environment_by_name("local") is None:
        with contextlib.suppress(IntegrityError):
            await environment_queries.create_environment(
                name="local",
                backend=EnvironmentBackend.RAY,
                ray_address="local",
                env_configs={"namespace": "default"},
            )


def ray_token_context(environment: str) -> str:
    return f"environment:{environment}:ray-token"


class EnvironmentService:
    def __init__(self, secrets: SecretBox) -> None:
        self.secrets = secrets

    async def list(self, actor: Actor, page: PageRequest) -> Page[Environment]:
        return await environment_queries.environments(page)

    async def get(self, actor: Actor, name: str) -> Environment:
        environment = await environment_queries.environment_by_name(name)
        if environment is None:
            raise environment_not_found(name)
        return environment

    @transactional
    async def create(self, actor: Actor, spec: EnvironmentCreate) -> Environment:
        require_admin(actor, "create environments")
        cluster = None
        if spec.cluster is not None:
            cluster = await cluster_queries.cluster_by_name(spec.cluster)
            if cluster is None:
                raise cluster_not_found(spec.cluster)
        token = spec.ray_token.get_secret_value() if spec.ray_token else None
        environment_id = uuid7()
        try:
            environment = await environment_queries.create_environment(
                id=environment_id,
                name=spec.name,
                env_configs=spec.environment_configs.model_dump(exclude_none=True),
                backend=spec.backend,
                ray_address=spec.ray_address,
                ray_token_encrypted=(
                    self.secrets.seal(token, ray_token_context(spec.name)) if token else None
                ),
                cluster=cluster,
                is_protected=spec.is_protected,
                variables=variables.seal(
                    self.secrets, variables_owner(environment_id), spec.variables
                )
                if spec.variables
                else None,
                created_by_id=actor.user_id,
            )
        except IntegrityError:
            raise Conflict(
                f"environment '{spec.name}' already exists",
                code="ENVIRONMENT_ALREADY_EXISTS",
                env=spec.name,
            ) from None
        await audit.record(
            actor,
            "environment.create",
            "environment",
            resource_id=environment.id,
            resource_name=spec.name,
            after=_snapshot(environment),
        )
        return environment

    @transactional
    async def update(self, actor: Actor, name: str, spec: EnvironmentUpdate) -> Environment:
        """Merge the given fields; ``environment_configs`` keys merge one by one."""
        require_admin(actor, "change environments")
        environment = await environment_queries.environment_for_update(name)
        if environment is None:
            raise environment_not_found(name)
        before = _snapshot(environment)
        env_configs = environment.env_configs
        if spec.environment_configs is not None:
            changes = spec.environment_configs.model_dump(exclude_unset=True)
            env_configs = {**env_configs, **changes}
        if spec.ray_address is not None and environment.backend != EnvironmentBackend.RAY:
            raise Conflict(
                f"environment '{name}' uses the {environment.backend.value} backend: "
                "ray_address does not apply",
                code="INVALID_ENVIRONMENT_UPDATE",
                env=name,
            )
        await environment_queries.change_environment(
            environment,
            env_configs=env_configs,
            ray_address=spec.ray_address or environment.ray_address,
            is_protected=environment.is_protected
            if spec.is_protected is None
            else spec.is_protected,
            variables=self._merged_variables(environment, spec.variables or {}),
        )
        await audit.record(
            actor,
            "environment.update",
            "environment",
            resource_id=environment.id,
            resource_name=name,
            before=before,
            after=_snapshot(environment),
        )
        return environment

    def _merged_variables(
        self, environment: Environment, changes: dict[str, str | None]
    ) -> dict[str, str] | None:
        """The stored variables with ``changes`` applied: only the set ones are sealed anew."""
        stored = dict(environment.variables or {})
        set_now = {name: value for name, value in changes.items() if value is not None}
        for name, value in changes.items():
            if value is None:
                stored.pop(name, None)
        owner = variables_owner(environment.id)
        merged = {**stored, **variables.seal(self.secrets, owner, set_now)}
        return merged or None

    @transactional
    async def delete(self, actor: Actor, name: str) -> None:
        """Delete an environment nothing references; the foreign keys decide, not a pre-check."""
        require_admin(actor, "delete environments")
        environment = await environment_queries.environment_for_update(name)
        if environment is None:
            raise environment_not_found(name)
        try:
            await environment_queries.delete_environment(environment)
        except IntegrityError:
            raise Conflict(
                f"environment '{name}' is in use by infra configs or deployments: "
                "remove them first",
                code="ENVIRONMENT_IN_USE",
                env=name,
            ) from None
        await audit.record(
            actor,
            "environment.delete",
            "environment",
            resource_id=environment.id,
            resource_name=name,
            before=_snapshot(environment),
        )

    @transactional
    async def rotate(self, actor: Actor = CLI) -> int:
        """Re-seal every Ray token and secret variable under the current key; how many
        environments changed."""
        changed = 0
        box = self.secrets
        for environment in await environment_queries.with_secrets():
            token = environment.ray_token_encrypted
            stale_token = token is not None and box.needs_rotation(token)
            if token is not None and stale_token:
                context = ray_token_context(environment.name)
                token = box.seal(box.open(token, context), context)
            stored = environment.variables or {}
            resealed = variables.reseal(box, variables_owner(environment.id), stored)
            if not stale_token and resealed is None:
                continue
            await environment_queries.reseal(environment, token, resealed or environment.variables)
            await audit.record(
                actor,
                "environment.reseal",
                "environment",
                resource_id=environment.id,
                resource_name=environment.name,
                after={"key": box.current},
            )
            changed += 1
        return changed
