"""Virtual models: publish a model name in a project, and say which backends answer it, with
what weight in which tier. An external backend's API key is sealed as every secret is
(galapagos_core.kernel.secrets), bound to its backend, and never returned."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.errors import environment_not_found, project_not_found, serve_not_found
from galapagos_core.gpu.errors import model_not_found
from galapagos_core.kernel import audit
from galapagos_core.kernel.access import require_role
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import NotFound
from galapagos_core.kernel.loops import Wakeup
from galapagos_core.kernel.naming import resource_name
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.kernel.transactions import transactional
from galapagos_core.virtual_models import errors, rules
from galapagos_core.virtual_models.routing import Cooling, LlmFigures, Tier, tiers
from galapagos_core.virtual_models.specs import (
    BackendCreate,
    BackendUpdate,
    VirtualModelCreate,
    VirtualModelUpdate,
)
from galapagos_core.workloads.backends.http_route import gateway_of
from galapagos_model.base import uuid7
from galapagos_model.enums import EnvironmentBackend, ProjectRole, WorkloadState
from galapagos_model.queries import environments as environment_queries
from galapagos_model.queries import gpu as gpu_queries
from galapagos_model.queries import projects as project_queries
from galapagos_model.queries import serves as serve_queries
from galapagos_model.queries import virtual_models as vm_queries
from galapagos_model.queries.paging import Page, PageRequest
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend, VirtualModelPlacement


def api_key_context(backend_id: UUID) -> str:
    """What a sealed API key is bound to: it opens for its own backend only."""
    return f"virtual-model-backend:{backend_id}:api-key"


@dataclass(frozen=True)
class VirtualModelView:
    model: VirtualModel
    backends: list[VirtualModelBackend]
    placements: list[VirtualModelPlacement]


@dataclass(frozen=True)
class RoutingView:
    model: VirtualModel
    tiers: list[Tier]
    cooling: list[Cooling]


class VirtualModelService:
    def __init__(
        self, secrets: SecretBox, figures: LlmFigures, reconcile: Wakeup, wait_timeout: float
    ) -> None:
        self.secrets = secrets
        self.figures = figures
        self.reconcile = reconcile
        self.wait_timeout = wait_timeout

    async def _find(
        self,
        actor: Actor,
        name: str,
        project: str | None,
        required: ProjectRole,
        *,
        lock: bool = False,
    ) -> VirtualModel:
        """The virtual model called ``name`` among those ``actor`` may see (in ``project``
        when given): 404 when none, 409 when several projects have one."""
        found = []
        for model in await vm_queries.models_named(name, project, lock=lock):
            try:
                await require_role(actor, model.project, required, hidden=errors.not_found(name))
            except NotFound:
                continue
            found.append(model)
        if not found:
            raise errors.not_found(name)
        if len(found) > 1:
            raise errors.ambiguous(name, [m.project.name for m in found])
        return found[0]

    async def _audit(self, actor: Actor, action: str, model: VirtualModel, **after: Any) -> None:
        await audit.record(
            actor,
            f"virtual_model.{action}",
            "virtual_model",
            resource_id=model.id,
            resource_name=model.name,
            project=model.project.name,
            after=after or None,
        )

    # -- reads ---------------------------------------------------------------------------

    async def list(
        self, actor: Actor, page: PageRequest, *, project: str | None = None
    ) -> Page[VirtualModel]:
        return await vm_queries.models_visible_to(actor.visibility, page, project=project)

    async def view(self, actor: Actor, name: str, project: str | None) -> VirtualModelView:
        model = await self._find(actor, name, project, ProjectRole.VIEWER)
        return VirtualModelView(
            model, await vm_queries.backends_of(model.id), await vm_queries.placements_of(model.id)
        )

    async def routing(self, actor: Actor, name: str, project: str | None) -> RoutingView:
        model = await self._find(actor, name, project, ProjectRole.VIEWER)
        backends = await vm_queries.backends_of(model.id)
        placements = await vm_queries.placements_of(model.id)
        return RoutingView(model, tiers(backends), await self.figures.placements(placements))

    # -- virtual models ------------------------------------------------------------------

    @transactional
    async def create(self, actor: Actor, spec: VirtualModelCreate) -> VirtualModel:
        rules.check_name(spec.name)
        project = await project_queries.project_by_name(spec.project)
        if project is None:
            raise project_not_found(spec.project)
        await require_role(
            actor, project, ProjectRole.EDITOR, hidden=project_not_found(spec.project)
        )
        try:
            model = await vm_queries.create_model(
                project=project,
                name=spec.name,
                description=spec.description,
                route_name=resource_name("vm", project.name, spec.name),
            )
        except IntegrityError:
            raise errors.exists(spec.name, project.name) from None
        await self._audit(actor, "create", model, description=spec.description)
        return model

    @transactional
    async def update(
        self, actor: Actor, name: str, project: str | None, spec: VirtualModelUpdate
    ) -> VirtualModel:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        changes = spec.model_dump(exclude_none=True)
        if changes:
            await vm_queries.update(model, **changes)
            await self._audit(
                actor, "update", model, **spec.model_dump(mode="json", exclude_none=True)
            )
        return model

    @transactional
    async def delete(self, actor: Actor, name: str, project: str | None) -> None:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        await vm_queries.delete_model(model)
        await self._audit(actor, "delete", model)

    # -- backends ------------------------------------------------------------------------

    @transactional
    async def add_backend(
        self, actor: Actor, name: str, project: str | None, spec: BackendCreate
    ) -> VirtualModelBackend:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        backend_name = spec.name or rules.backend_name(
            spec.kind, spec.base_url, spec.serve, spec.model_id
        )
        rules.check_backend_name(backend_name)
        rules.check_weight(spec.weight)
        rules.check_priority(spec.priority)
        serve = None
        if spec.serve is not None:
            serve = await serve_queries.serve_by_name(spec.serve)
            if serve is None or serve.project_id != model.project_id:
                raise serve_not_found(spec.serve)  # another project's serves stay unseen
        if spec.model_id is not None and await gpu_queries.llm_model(spec.model_id) is None:
            raise model_not_found(spec.model_id)
        backend_id = uuid7()
        sealed = (
            self.secrets.seal(spec.api_key.get_secret_value(), api_key_context(backend_id))
            if spec.api_key is not None
            else None
        )
        try:
            backend = await vm_queries.create_backend(
                id=backend_id,
                virtual_model=model,
                name=backend_name,
                kind=spec.kind,
                base_url=spec.base_url,
                api_key_encrypted=sealed,
                serve=serve,
                model_id=spec.model_id,
                namespace=spec.namespace,
                model_name_override=spec.model_name_override,
                override_key=spec.model_name_override or "",
                weight=spec.weight,
                priority=spec.priority,
            )
        except IntegrityError:
            raise errors.backend_exists(backend_name, spec.model_name_override) from None
        await self._audit(
            actor,
            "backend.add",
            model,
            backend=backend_name,
            **spec.model_dump(mode="json", exclude={"api_key", "name"}, exclude_none=True),
        )
        return backend

    async def _backend(self, model: VirtualModel, backend_id: str) -> VirtualModelBackend:
        try:
            key = UUID(backend_id)
        except ValueError:
            raise errors.backend_not_found(backend_id) from None
        backend = await vm_queries.backend_of(model.id, key)
        if backend is None:
            raise errors.backend_not_found(backend_id)
        return backend

    @transactional
    async def update_backend(
        self, actor: Actor, name: str, project: str | None, backend_id: str, spec: BackendUpdate
    ) -> VirtualModelBackend:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        backend = await self._backend(model, backend_id)
        changes: dict[str, Any] = spec.model_dump(exclude_none=True, exclude={"api_key"})
        if spec.weight is not None:
            rules.check_weight(spec.weight)
        if spec.priority is not None:
            rules.check_priority(spec.priority)
        if spec.api_key is not None:
            changes["api_key_encrypted"] = self.secrets.seal(
                spec.api_key.get_secret_value(), api_key_context(backend.id)
            )
        if changes:
            await vm_queries.update(backend, **changes)
            await self._audit(
                actor,
                "backend.update",
                model,
                backend=backend.name,
                api_key_rotated=spec.api_key is not None,
                **spec.model_dump(mode="json", exclude={"api_key"}, exclude_none=True),
            )
        return backend

    @transactional
    async def delete_backend(
        self, actor: Actor, name: str, project: str | None, backend_id: str
    ) -> None:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        backend = await self._backend(model, backend_id)
        await vm_queries.delete_backend(backend)
        await self._audit(actor, "backend.delete", model, backend=backend.name)

    # -- placements ----------------------------------------------------------------------

    @transactional
    async def deploy(
        self, actor: Actor, name: str, project: str | None, env: str
    ) -> VirtualModelPlacement:
        """Put the model on ``env``: its LLM router answers it from the next reconcile pass
        (idempotent: deploying again changes nothing)."""
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        # The environment's row lock orders deploys there: one name, one model per router.
        environment = await environment_queries.environment_for_update(env)
        if environment is None:
            raise environment_not_found(env)
        if environment.backend != EnvironmentBackend.RAY and gateway_of(environment) is None:
            raise errors.router_unsupported(env, environment.backend.value)
        for placed in await vm_queries.placed_named(environment.id, model.name):
            if placed.virtual_model_id != model.id:
                raise errors.name_taken(model.name, env, placed.virtual_model.project.name)
        placement = await vm_queries.place(model, environment)
        await self._audit(actor, "deploy", model, env=env)
        self.reconcile.ring()
        placement.environment = environment
        return placement

    @transactional
    async def undeploy(self, actor: Actor, name: str, project: str | None, env: str) -> None:
        model = await self._find(actor, name, project, ProjectRole.EDITOR, lock=True)
        environment = await environment_named(env)
        placement = await vm_queries.placement_of(model.id, environment.id)
        if placement is None:
            raise errors.not_deployed(name, env)
        await vm_queries.unplace(placement)
        await self._audit(actor, "undeploy", model, env=env)
        self.reconcile.ring()

    async def wait(self, placement: VirtualModelPlacement) -> VirtualModelPlacement:
        """Poll until the router there runs or failed, or the wait timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while placement.state not in (WorkloadState.READY, WorkloadState.FAILED):
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.25)
            found = await vm_queries.placement_of(
                placement.virtual_model_id, placement.environment_id
            )
            if found is None:
                break
            found.environment = placement.environment
            placement = found
        return placement
