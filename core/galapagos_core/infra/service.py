"""Infra configs per (serve, environment): create, read, merge-update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import visible_serve
from galapagos_core.infra.errors import infra_config_not_found
from galapagos_core.infra.specs import (
    ApiServeConfig,
    InfraConfigCreate,
    InfraConfigPatch,
    ScalingConfig,
    ServeConfig,
    spec_of,
)
from galapagos_core.kernel import audit
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound
from galapagos_core.kernel.transactions import transactional
from galapagos_model.catalog import Environment, Serve
from galapagos_model.enums import ProjectRole, ServeType
from galapagos_model.infra import ApiServeInfraConfig
from galapagos_model.queries import infra as infra_queries
from galapagos_model.queries.infra import InfraConfig

# Rolls a serve's active deployment in an environment out again (the deployments capability
# provides it): changed infra must reach what runs.
Redeploy = Callable[[Actor, Serve, Environment], Awaitable[object]]
_KEY = {ServeType.API: "api_serve_config", ServeType.WORKFLOW: "workflow_serve_config"}


def _columns(spec: ServeConfig) -> dict[str, Any]:
    if isinstance(spec, ApiServeConfig):
        return {
            "backend_type": spec.backend_type,
            "additional_hosts": spec.additional_hosts,
            **spec.fast_api_config.model_dump(),
        }
    dumped = spec.model_dump(mode="json")
    return {**dumped, "concurrency_policy": spec.concurrency_policy}


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``patch`` into ``current``: nulls are ignored, lists replace whole."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validation_errors(exc: ValidationError, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


async def api_config_of(serve: Serve, environment: Environment) -> ApiServeInfraConfig:
    """The api serve's config in ``environment``, or 404 INFRA_CONFIG_NOT_FOUND."""
    config = await infra_queries.config_for(serve, environment.id)
    if not isinstance(config, ApiServeInfraConfig):
        raise infra_config_not_found(serve.name, environment.name)
    return config


class InfraConfigService:
    def __init__(self, redeploy: Redeploy) -> None:
        self.redeploy = redeploy

    async def get(self, actor: Actor, serve_name: str, env_name: str) -> InfraConfig:
        serve = await visible_serve(actor, serve_name, ProjectRole.VIEWER)
        environment = await environment_named(env_name)
        config = await infra_queries.config_for(serve, environment.id)
        if config is None:
            raise infra_config_not_found(serve_name, env_name)
        return config

    @transactional
    async def create(
        self, actor: Actor, serve_name: str, env_name: str, body: InfraConfigCreate
    ) -> InfraConfig:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        spec = body.api_serve_config if serve.type == ServeType.API else body.workflow_serve_config
        if spec is None:
            raise _wrong_shape(serve)
        try:
            config = await infra_queries.create_config(serve, environment, _columns(spec))
        except IntegrityError:
            raise Conflict(
                f"serve '{serve_name}' already has an infra config for '{env_name}': use PATCH",
                code="INFRA_CONFIG_ALREADY_EXISTS",
                serve=serve_name,
                env=env_name,
            ) from None
        await audit.record(
            actor,
            "infra_config.create",
            "serve",
            resource_id=serve.id,
            resource_name=serve_name,
            project=serve.project.name,
            after={"env": env_name, **spec.model_dump(mode="json")},
        )
        return config

    @transactional
    async def update(
        self, actor: Actor, serve_name: str, env_name: str, body: InfraConfigPatch
    ) -> InfraConfig:
        """Merge ``body`` into the stored config under a row lock and validate the result."""
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        environment = await environment_named(env_name)
        patch = body.api_serve_config if serve.type == ServeType.API else body.workflow_serve_config
        if patch is None:
            raise _wrong_shape(serve)
        config = await infra_queries.config_for(serve, environment.id, lock=True)
        if config is None:
            raise infra_config_not_found(serve_name, env_name)
        current = spec_of(config)
        before = current.model_dump(mode="json")
        spec_type = type(current)
        try:
            spec = spec_type.model_validate(_merge(before, patch))
        except ValidationError as exc:
            raise InvalidInput(
                "the merged infra config is invalid",
                errors=_validation_errors(exc, ("body", _KEY[serve.type])),
            ) from None
        await infra_queries.save_config(config, _columns(spec))
        await self.redeploy(actor, serve, environment)
        await audit.record(
            actor,
            "infra_config.update",
            "serve",
            resource_id=serve.id,
            resource_name=serve_name,
            project=serve.project.name,
            before={"env": env_name, **before},
            after={"env": env_name, **spec.model_dump(mode="json")},
        )
        return config


class ScalingService:
    """Darwin's scaling-config: one policy for every environment of a serve, rolled out to
    the deployments running there."""

    def __init__(self, redeploy: Redeploy) -> None:
        self.redeploy = redeploy

    @transactional
    async def apply(
        self, actor: Actor, serve_name: str, policy: ScalingConfig
    ) -> list[ApiServeInfraConfig]:
        serve = await visible_serve(actor, serve_name, ProjectRole.EDITOR)
        if serve.type != ServeType.API:
            raise _wrong_shape(serve)
        configs = await infra_queries.api_configs_of(serve.id)
        if not configs:
            raise NotFound(
                f"serve '{serve_name}' has no infra config to scale",
                code="INFRA_CONFIG_NOT_FOUND",
                serve=serve_name,
            )
        stored = policy.model_dump(mode="json")
        for config in configs:
            await infra_queries.save_config(config, {"scaling_policy": stored})
            await self.redeploy(actor, serve, config.environment)
        await audit.record(
            actor,
            "serve.scale",
            "serve",
            resource_id=serve.id,
            resource_name=serve_name,
            project=serve.project.name,
            after=stored,
        )
        return configs


def _wrong_shape(serve: Serve) -> InvalidInput:
    key = _KEY[serve.type]
    return InvalidInput(
        f"serve '{serve.name}' is a {serve.type.value} serve: send {key}",
        errors=[
            {
                "loc": ["body", key],
                "msg": f"required for {serve.type.value} serves",
                "type": "missing",
            }
        ],
    )
